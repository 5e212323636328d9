-- A campaign whose owner process is gone: failed, saying so.  Only if it is still queued or running with the
-- heartbeat that was judged (an owner that spoke meanwhile is alive after all).
UPDATE campaign_run r
SET state = 'failed', finished_at = clock_timestamp(), error = %(error)s
FROM campaign_run_progress p
WHERE r.id = %(id)s AND p.run_id = r.id AND r.state IN ('queued', 'running')
  AND p.heartbeat_at = %(heartbeat_at)s
RETURNING r.id
