-- The campaign's worker process has started its search.
UPDATE campaign_run SET state = 'running', started_at = clock_timestamp(), worker_pid = %(worker_pid)s
WHERE id = %(id)s AND state = 'queued'
