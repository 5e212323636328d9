-- A stored photo of a hidden danger, by its SHA-256.
SELECT id, content_type, octet_length(bytes), sha256, taken_at, created_at, added_by
FROM hidden_danger_photo
WHERE hidden_danger_id = %(danger)s AND sha256 = %(sha256)s
