-- The hidden dangers an inspection found.
SELECT id, source_id, grade, status, deadline
FROM hidden_danger
WHERE inspection_id = %(id)s
ORDER BY id
