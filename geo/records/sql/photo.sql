-- One photo of a hidden danger, with its bytes.
SELECT content_type, bytes
FROM hidden_danger_photo
WHERE hidden_danger_id = %(danger)s AND id = %(id)s
