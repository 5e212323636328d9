-- One page of the audit trail (geo/audit.py ``events``), oldest first: the events from %(since)s (inclusive) to
-- %(until)s (exclusive), after the event %(after)s (keyset paging), of an actor, a table and an action when given.
SELECT id, at, actor, client, request, action, table_name, row_key, before, after
FROM audit_event
WHERE at >= %(since)s
  AND (%(until)s::timestamptz IS NULL OR at < %(until)s)
  AND (%(after)s::bigint IS NULL OR id > %(after)s)
  AND (%(actor)s::text IS NULL OR actor = %(actor)s)
  AND (%(table)s::text IS NULL OR table_name = %(table)s)
  AND (%(action)s::text IS NULL OR action = %(action)s)
ORDER BY id
LIMIT %(limit)s
