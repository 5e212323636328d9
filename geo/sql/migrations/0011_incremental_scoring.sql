-- 0011: incremental scoring that costs what the change costs, and whose state can be seen (issue 13).
--
-- risk_removed: the ids of deleted features, so that a re-score drops their scores by id instead of
-- comparing every stored score with every table (an anti-join over a million rows on each run).
-- score_run: one row per committed scoring run (what it did, how long it took), for GET /health.

CREATE TABLE risk_removed (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    feature_id bigint NOT NULL
);

CREATE TABLE score_run (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),  -- when the run's row is written, at its end
    full_run boolean NOT NULL,
    changes integer NOT NULL,            -- the change records (risk_dirty rows) the run took
    scored jsonb NOT NULL,               -- features re-scored per class
    areas integer NOT NULL,              -- area rows recomputed
    seconds double precision NOT NULL,
    model_version text NOT NULL
);

-- As 0005, with two changes: a DELETE also records the ids it removed, and a small statement (an edit, an
-- upload of up to 10,000 rows) records the box of its rows per 0.005° cell (about 500 m) instead of per 0.05°:
-- a thousand scattered edits then reach the features around each of them, not those of a thousand 5 km boxes
-- (bench/rescore: with 0.05° cells they reached a quarter of a million features, and the run went full).
CREATE OR REPLACE FUNCTION riskmap_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    big constant bigint := 10000;
    n bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO risk_dirty (kind, extent) VALUES (TG_TABLE_NAME, NULL);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT count(*) INTO n FROM new_rows;
        IF n > big AND TG_TABLE_NAME <> 'pipeline' THEN
            INSERT INTO risk_dirty (kind, extent)
            SELECT TG_TABLE_NAME, ST_SetSRID(ST_Extent(geom)::geometry, 4326) FROM new_rows;
        ELSE
            INSERT INTO risk_dirty (kind, extent)
            SELECT TG_TABLE_NAME, CASE WHEN TG_TABLE_NAME = 'pipeline' THEN ST_Collect(geom)
                                       ELSE ST_SetSRID(ST_Extent(geom)::geometry, 4326) END
            FROM new_rows GROUP BY floor(ST_XMin(geom) / 0.005), floor(ST_YMin(geom) / 0.005);
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT count(*) INTO n FROM old_rows;
        IF n > big AND TG_TABLE_NAME <> 'pipeline' THEN
            INSERT INTO risk_dirty (kind, extent)
            SELECT TG_TABLE_NAME, ST_SetSRID(ST_Extent(geom)::geometry, 4326) FROM old_rows;
        ELSE
            INSERT INTO risk_dirty (kind, extent)
            SELECT TG_TABLE_NAME, CASE WHEN TG_TABLE_NAME = 'pipeline' THEN ST_Collect(geom)
                                       ELSE ST_SetSRID(ST_Extent(geom)::geometry, 4326) END
            FROM old_rows GROUP BY floor(ST_XMin(geom) / 0.005), floor(ST_YMin(geom) / 0.005);
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO risk_removed (kind, feature_id) SELECT TG_TABLE_NAME, id FROM old_rows;
    END IF;
    RETURN NULL;
END $$;

-- What an incremental run needs to update the areas by difference instead of re-reading every feature of a
-- county: each score's representative point (where the area aggregation counts it), each large area's
-- highest scores per class (the mean of the top_n is its class score), and the settlements counted as exposed.
ALTER TABLE feature_risk ADD COLUMN lon double precision, ADD COLUMN lat double precision;
ALTER TABLE area_risk ADD COLUMN top jsonb;  -- {"kind": [[score, feature_id], ...]}, best first; large areas only
CREATE TABLE settlement_exposed (
    settlement_id bigint PRIMARY KEY,
    people double precision NOT NULL,
    geom geometry(Point, 4326) NOT NULL  -- the settlement's point on surface
);
CREATE INDEX settlement_exposed_geom_idx ON settlement_exposed USING gist (geom);

-- The exposure grid's origin (the centre of its projection, the data's mean rounded to 0.1°), set by full runs:
-- cells keep their place between runs, so an incremental run recomputes only the cells near a change.
CREATE TABLE exposure_anchor (
    lon0 double precision NOT NULL,
    lat0 double precision NOT NULL
);
