-- The campaign's process has started its search.
UPDATE campaign_run SET state = 'running', started_at = clock_timestamp() WHERE id = %(id)s AND state = 'queued'
