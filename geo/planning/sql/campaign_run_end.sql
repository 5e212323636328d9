-- The owner's last word on a campaign: done with its plan, or failed with the error.  Written whatever the state
-- (a run another process took for dead while its owner lived, say through a network cut, gets the truth).
UPDATE campaign_run
SET state = %(state)s, finished_at = clock_timestamp(), plan_id = %(plan_id)s, interrupted = %(interrupted)s,
    error = %(error)s, totals = %(totals)s::jsonb, started_at = coalesce(started_at, clock_timestamp())
WHERE id = %(id)s
