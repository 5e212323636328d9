-- 0014: risk that learns from the records, and a history of scores (issue 14, items 5 and 6; design.md "The
-- campaign's loop").
--
-- Scores read the records of 0013 (open and overdue hidden dangers, an open major one, enforcement actions of the
-- last 12 months, the last inspection), so a scoring run must see a record change.  Records name their site by
-- class and id, not by place: the statement triggers below note the sites whose records changed in
-- risk_record_changed, and the next run (geo/risk/scoring.py) re-scores exactly those sites, besides what the
-- feature triggers of 0002/0011 mark.  A TRUNCATE of a record table loses which sites it touched: it marks an
-- unknown extent in risk_dirty, which makes the next run a full one.
--
-- Record inputs also change when only the date moves (a deadline passes, an enforcement action leaves the
-- 12-month window): each run now keeps the date it scored as of (score_run.as_of), and the next run re-scores
-- the sites with a record date between the two (geo/risk/sql/record_date_events.sql).
--
-- score_history: every run appends the features whose score or level it changed (and those it removed), so a
-- feature's score at any past date can be read back (GET /features/{kind}/{id}/history, the monthly series of
-- an area, `riskmap backtest`).  Only changed rows are written: a run that changes nothing adds nothing.

ALTER TABLE score_run ADD COLUMN as_of date;  -- the date the run scored as of (NULL for runs before 0014)

CREATE TABLE risk_record_changed (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    feature_id bigint NOT NULL
);

CREATE FUNCTION riskmap_mark_record_sites() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO risk_dirty (kind, extent) VALUES (TG_TABLE_NAME, NULL);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO risk_record_changed (kind, feature_id) SELECT DISTINCT site_kind, site_id FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN  -- (an update may move a record from one site to another)
        INSERT INTO risk_record_changed (kind, feature_id) SELECT DISTINCT site_kind, site_id FROM old_rows;
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['inspection', 'hidden_danger', 'enforcement_action'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_sites_ins AFTER INSERT ON %1$I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_mark_record_sites()', t);
        EXECUTE format('CREATE TRIGGER %1$s_sites_upd AFTER UPDATE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION riskmap_mark_record_sites()', t);
        EXECUTE format('CREATE TRIGGER %1$s_sites_del AFTER DELETE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_mark_record_sites()', t);
        EXECUTE format('CREATE TRIGGER %1$s_sites_trunc AFTER TRUNCATE ON %1$I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_mark_record_sites()', t);
    END LOOP;
END $$;

-- The history of scores.  One row per feature and run that changed it; score and level NULL: the run removed the
-- feature (deleted from its table).  Pipeline segments are not kept (their ids change whenever a line is re-cut;
-- the pipeline's own row carries its worst segment's score).  lon, lat: where the areas count the feature then
-- (a pipeline: the point on its line), so that the monthly series of an area can be read from here alone.
CREATE TABLE score_history (
    run bigint NOT NULL REFERENCES score_run (id),
    kind text NOT NULL CHECK (kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue')),
    feature_id bigint NOT NULL,
    as_of date NOT NULL,                 -- the date the run scored as of
    scored_at timestamptz NOT NULL,      -- when the run wrote it
    score double precision CHECK (score BETWEEN 0 AND 100),
    level text CHECK (level IN ('red', 'orange', 'yellow', 'blue')),
    lon double precision,
    lat double precision,
    CHECK ((score IS NULL) = (level IS NULL)),
    PRIMARY KEY (kind, feature_id, run)
);

-- The scores stored before this migration begin the history, so that every scored feature has one: one run
-- row stands for them (as of the day they were computed; the model version of the last run, so that the next
-- run is full or not exactly as it would have been: with no run recorded, the scores predate migration 0011 and
-- the next run must be full, which a version no model has ensures).  Nothing is written when nothing is scored.
WITH seed AS (
    INSERT INTO score_run (full_run, changes, scored, areas, seconds, model_version, as_of)
    SELECT true, 0, '{}'::jsonb, 0, 0,
           coalesce((SELECT model_version FROM score_run ORDER BY id DESC LIMIT 1), '(scores before migration 0011)'),
           max(r.computed_at)::date
    FROM feature_risk r
    HAVING count(*) > 0
    RETURNING id, finished_at
)
INSERT INTO score_history (run, kind, feature_id, as_of, scored_at, score, level, lon, lat)
SELECT seed.id, r.kind, r.feature_id, r.computed_at::date, seed.finished_at, r.score, r.level,
       coalesce(r.lon, ST_X(ST_PointOnSurface(p.geom))), coalesce(r.lat, ST_Y(ST_PointOnSurface(p.geom)))
FROM seed
CROSS JOIN feature_risk r
LEFT JOIN pipeline p ON r.kind = 'pipeline' AND p.id = r.feature_id
WHERE r.kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue');
