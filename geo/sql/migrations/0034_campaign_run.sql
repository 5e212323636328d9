-- 0034: a city campaign's state kept in the database (issue 17, item 3), so that every server process answers the
-- same for it (`riskmap serve --workers N`), and a campaign whose server died says so instead of vanishing.
--
-- campaign_run: one row per POST /campaigns, with the request's summary, who asked and for which area, its state
-- (queued, running, done, failed), whether a DELETE asked it to stop (any process may ask: the owner polls the
-- column about once a second and cancels), the stored plan or the error, and the server process that owns it.
-- The owner is named so that another process can tell whether it still lives: the host (for people), the space
-- its process id means something in (the machine's boot id and the process id namespace: a process in the same
-- space looks the id up), the process id, and the process's start time (a reused id is another process).
--
-- campaign_run_progress: the owner's heartbeat and the search's progress, written by the owner about once a
-- second.  A table of its own for the audit trail's sake: campaign_run is audited as the other tables are
-- (migration 0017: who started a campaign, who cancelled it, when and how it ended, which server found its owner
-- gone), while the ticks are not: like the scores, they are derived by the server, nothing anyone changed, and
-- there is one a second for up to an hour a campaign.
CREATE TABLE campaign_run (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,                 -- the writer who asked (user:<name>, api:<key fingerprint>)
    area text,                                -- admin code planned, NULL: everywhere
    areas text[] NOT NULL DEFAULT '{}',       -- the areas of the user who asked ({}: every area)
    teams integer NOT NULL CHECK (teams > 0),
    days integer NOT NULL CHECK (days > 0),
    time_limit_s double precision NOT NULL CHECK (time_limit_s > 0),
    request jsonb NOT NULL CHECK (jsonb_typeof(request) = 'object'),  -- the body as checked (POST /campaigns)
    state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    started_at timestamptz,
    finished_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    interrupted boolean,                      -- done: whether its search was stopped before its end
    plan_id bigint,                           -- done: the stored plan (inspection_plan.id)
    error text,                               -- failed: why
    totals jsonb,                             -- done: the plan's main totals
    owner_host text NOT NULL,
    owner_space text NOT NULL,                -- boot id and pid namespace: where owner_pid names a process
    owner_pid integer NOT NULL,
    owner_started bigint NOT NULL,            -- the owner's start (clock ticks after boot; 0: not known)
    worker_pid integer,                       -- the owner's worker process solving it (its child, on its host)
    CHECK ((state = 'done') = (plan_id IS NOT NULL)),
    CHECK ((state = 'failed') = (error IS NOT NULL))
);
-- the runs counted against RISKMAP_CAMPAIGN_MAX_RUNNING and watched for a dead owner: few, found at once
CREATE INDEX campaign_run_active_idx ON campaign_run (id) WHERE state IN ('queued', 'running');

CREATE TABLE campaign_run_progress (
    run_id bigint PRIMARY KEY REFERENCES campaign_run (id) ON DELETE CASCADE,
    heartbeat_at timestamptz NOT NULL DEFAULT now(),  -- the owner's last sign of life (the database's clock)
    elapsed_s double precision NOT NULL DEFAULT 0,    -- seconds since the search started
    days_done integer NOT NULL DEFAULT 0,             -- working days planned so far
    risk_covered double precision NOT NULL DEFAULT 0  -- risk covered by the days planned so far
);

-- The audit trail of campaign_run: as every audited table's (0017's triggers; the function as 0032 left it).
DO $$
DECLARE
    op text;
BEGIN
    FOREACH op IN ARRAY ARRAY['ins', 'upd', 'del'] LOOP
        EXECUTE format('CREATE TRIGGER campaign_run_audit_%1$s AFTER %2$s ON campaign_run %3$s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_rows('''')',
                       op, CASE op WHEN 'ins' THEN 'INSERT' WHEN 'upd' THEN 'UPDATE' ELSE 'DELETE' END,
                       CASE op WHEN 'ins' THEN 'REFERENCING NEW TABLE AS new_rows'
                               WHEN 'upd' THEN 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                               ELSE 'REFERENCING OLD TABLE AS old_rows' END);
    END LOOP;
END $$;
CREATE TRIGGER campaign_run_audit_trunc AFTER TRUNCATE ON campaign_run
    FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_rows('');

-- Scope (migration 0019): a user limited to areas sees, and cancels, the campaigns of their areas only, as their
-- plans (by the campaign's area; such a user must name one of theirs).  The progress follows its run, through a
-- function as in 0022.  The runs and their progress are written by the servers, on connections of their own (the
-- owner role, which no policy binds: the run is inserted where every running campaign is counted); a scoped
-- request may only set cancel_requested, on a run it sees.
CREATE FUNCTION riskmap_seen_campaign_runs() RETURNS SETOF bigint LANGUAGE sql STABLE AS
    $$ SELECT id FROM campaign_run $$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'riskmap_scoped') THEN
        RETURN;  -- no role riskmap_scoped, no policies (migration 0019)
    END IF;
    ALTER TABLE campaign_run ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON campaign_run TO riskmap_scoped USING (area = ANY (riskmap_scope_codes()));
    ALTER TABLE campaign_run_progress ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON campaign_run_progress TO riskmap_scoped
        USING (run_id IN (SELECT r FROM riskmap_seen_campaign_runs() r));
    GRANT SELECT ON campaign_run, campaign_run_progress TO riskmap_scoped;
    REVOKE INSERT, UPDATE, DELETE ON campaign_run, campaign_run_progress FROM riskmap_scoped;
    GRANT UPDATE (cancel_requested) ON campaign_run TO riskmap_scoped;
END $$;
