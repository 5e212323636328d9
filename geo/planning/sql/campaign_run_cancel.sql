-- Ask a queued or running campaign to stop (its owner, polling, cancels it and stores the best plan so far).  On
-- a scoped connection, only a campaign of the user's areas (row-level security, migration 0034).
UPDATE campaign_run SET cancel_requested = true
WHERE id = %(id)s AND state IN ('queued', 'running') AND NOT cancel_requested
