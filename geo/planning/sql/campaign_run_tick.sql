-- The owner's heartbeat with the search's progress (about once a second); answers whether a DELETE, from any
-- server process, asked the campaign to stop.
UPDATE campaign_run_progress
SET heartbeat_at = clock_timestamp(), elapsed_s = %(elapsed_s)s, days_done = %(days_done)s,
    risk_covered = %(risk_covered)s
WHERE run_id = %(id)s
RETURNING (SELECT r.cancel_requested FROM campaign_run r WHERE r.id = %(id)s)
