-- A new campaign, queued, owned by the server process that took the POST, with its first heartbeat.
WITH run AS (
    INSERT INTO campaign_run (created_by, area, areas, teams, days, time_limit_s, request, owner_host, owner_space,
                              owner_pid, owner_started)
    VALUES (%(created_by)s, %(area)s, %(areas)s, %(teams)s, %(days)s, %(time_limit_s)s, %(request)s::jsonb,
            %(owner_host)s, %(owner_space)s, %(owner_pid)s, %(owner_started)s)
    RETURNING id
)
INSERT INTO campaign_run_progress (run_id) SELECT id FROM run RETURNING run_id
