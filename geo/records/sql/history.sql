-- The history of one record (migration 0013's record_history), oldest first: what each change did, when and who.
SELECT id, operation, changed_at, changed_by, row_before, row_after
FROM record_history
WHERE record_table = %(table)s AND record_id = %(id)s
ORDER BY id
