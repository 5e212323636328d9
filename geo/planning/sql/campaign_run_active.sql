-- Before a campaign starts: no other one starts meanwhile, in any server process (the lock is the transaction's),
-- and those queued or running now, with their owners and heartbeats (RISKMAP_CAMPAIGN_MAX_RUNNING counts them).
SELECT pg_advisory_xact_lock(hashtext('riskmap campaign_run start'));
SELECT r.id, r.created_by, r.owner_host, r.owner_space, r.owner_pid, r.owner_started, p.heartbeat_at,
       extract(epoch FROM clock_timestamp() - p.heartbeat_at)::float8
FROM campaign_run r
LEFT JOIN campaign_run_progress p ON p.run_id = r.id
WHERE r.state IN ('queued', 'running')
ORDER BY r.id
