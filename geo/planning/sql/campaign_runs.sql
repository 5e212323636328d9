-- Campaigns as GET /campaigns shows them, newest first: every one (%(id)s NULL) or one; on a scoped connection,
-- those of the user's areas (row-level security, migration 0034).  silent_s: seconds since the owner's last
-- heartbeat, by the database's clock (the servers' clocks need not agree).
SELECT r.id, r.state, r.created_by, r.area, r.teams, r.days, r.time_limit_s, r.created_at, r.started_at,
       r.finished_at, coalesce(p.elapsed_s, 0), coalesce(p.days_done, 0), coalesce(p.risk_covered, 0),
       r.cancel_requested, r.interrupted, r.plan_id, r.error, r.totals, r.owner_host, r.owner_space, r.owner_pid,
       r.owner_started, r.worker_pid, p.heartbeat_at, extract(epoch FROM clock_timestamp() - p.heartbeat_at)::float8
FROM campaign_run r
LEFT JOIN campaign_run_progress p ON p.run_id = r.id
WHERE (%(id)s::bigint IS NULL OR r.id = %(id)s::bigint)
  AND (NOT %(active)s OR r.state IN ('queued', 'running'))
ORDER BY r.id DESC
LIMIT %(limit)s
