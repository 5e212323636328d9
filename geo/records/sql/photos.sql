-- The photos of a hidden danger (without their bytes).
SELECT id, content_type, octet_length(bytes), sha256, taken_at, created_at, added_by
FROM hidden_danger_photo
WHERE hidden_danger_id = %(id)s
ORDER BY id
