-- A photo of a hidden danger; the same photo (by its SHA-256) twice is stored once: no row comes back then.
INSERT INTO hidden_danger_photo (hidden_danger_id, content_type, bytes, sha256, taken_at)
VALUES (%(danger)s, %(content_type)s, %(bytes)s, %(sha256)s, %(taken_at)s)
ON CONFLICT (hidden_danger_id, sha256) DO NOTHING
RETURNING id, content_type, octet_length(bytes), sha256, taken_at, created_at, added_by
