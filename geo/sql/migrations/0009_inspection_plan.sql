-- 0009: stored inspection plans (issue 6).  A plan is kept whole, as the document geo/planning/schedule.py
-- builds (request, teams with their days and stops, totals), so that what was planned stays readable even after
-- the risks it was made from are scored again.  The few columns beside it are for listing and auditing.
CREATE TABLE inspection_plan (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,               -- 'cli', or 'api' (with the API key's fingerprint)
    area text,                              -- admin code, NULL: everywhere
    teams integer NOT NULL CHECK (teams > 0),
    days integer NOT NULL CHECK (days > 0),
    risk_share double precision NOT NULL CHECK (risk_share BETWEEN 0 AND 1),
    model_version text,                     -- of the risk scores the plan was made from
    document jsonb NOT NULL CHECK (jsonb_typeof(document) = 'object')
);
CREATE INDEX inspection_plan_created_idx ON inspection_plan (created_at DESC);
