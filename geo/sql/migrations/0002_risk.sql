-- 0002: risk results (issue 3).  Scores per feature with their factors, pipeline segments, area risk, the
-- exposure surface, and the record of what changed since the last scoring (for incremental re-scoring).

-- A bounding box around g that contains every point within `metres` of it (for an index-backed prefilter
-- before an exact geodesic ST_DWithin on geography).  Degrees of longitude shrink with latitude: the widest
-- latitude of g is used, so the box is never too small.  Inlined by the planner, so `a && riskmap_expand_m(b, r)`
-- uses the GiST index on a.
CREATE FUNCTION riskmap_expand_m(g geometry, metres double precision) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ST_Expand(g,
                     metres / (111320.0 * cos(radians(least(89.0, greatest(abs(ST_YMin(g)), abs(ST_YMax(g))))))),
                     metres / 110574.0)
$$;

-- Pipelines scored per segment of about 1 km (domain.md §4), with the 2 km unit of GB 50251 centred on it.
CREATE TABLE pipeline_segment (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pipeline_id bigint NOT NULL REFERENCES pipeline (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    length_m double precision NOT NULL,
    impact_m double precision,          -- impact distance: gas PIR 0.099·d·√p, oil 200 m (set at scoring)
    geom geometry(LineString, 4326) NOT NULL,
    unit_geom geometry(LineString, 4326) NOT NULL,
    UNIQUE (pipeline_id, seq)
);
CREATE INDEX pipeline_segment_geom_idx ON pipeline_segment USING gist (geom);

-- One row per scored feature (kinds of geo/kinds.py, and 'pipeline_segment').
CREATE TABLE feature_risk (
    kind text NOT NULL,
    feature_id bigint NOT NULL,
    score double precision NOT NULL CHECK (score BETWEEN 0 AND 100),
    level text NOT NULL CHECK (level IN ('red', 'orange', 'yellow', 'blue')),
    direct_red text,                     -- the direct-red rule that applied, if any (domain.md §2)
    factors jsonb NOT NULL,              -- [{"factor", "value", "points", "assumed"}], definitions in risk_factor_def
    details jsonb NOT NULL DEFAULT '{}', -- rule outputs worth keeping: S, R, grade, HCA grade...
    model_version text NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, feature_id)
);
CREATE INDEX feature_risk_level_idx ON feature_risk (kind, level);

-- What each factor is and the rule it comes from, per model version (the API joins this to explain a score).
CREATE TABLE risk_factor_def (
    model_version text NOT NULL,
    kind text NOT NULL,
    factor text NOT NULL,
    title text NOT NULL,
    source text NOT NULL,
    unit text NOT NULL DEFAULT '',
    PRIMARY KEY (model_version, kind, factor)
);

-- Area risk: admin areas ('admin', area_id = admin code) and H3 cells ('h3', area_id = cell index).
CREATE TABLE area_risk (
    area_type text NOT NULL CHECK (area_type IN ('admin', 'h3')),
    area_id text COLLATE "C" NOT NULL,
    resolution integer NOT NULL,         -- H3 resolution; for admin areas 1 province, 2 city, 3 county, 4 township
    score double precision NOT NULL,
    level_max text NOT NULL,             -- the highest level inside (就高, domain.md §2)
    level_banded text NOT NULL,          -- the aggregate score banded
    level text NOT NULL,                 -- the one chosen by the model's area rule
    counts jsonb NOT NULL,               -- {"enterprise": {"red": 1, ...}, ...}
    features integer NOT NULL,
    population_exposed double precision NOT NULL,
    model_version text NOT NULL,
    geom geometry(Geometry, 4326) NOT NULL,
    PRIMARY KEY (area_type, resolution, area_id)
);
CREATE INDEX area_risk_geom_idx ON area_risk USING gist (geom);

-- The exposure surface for heatmaps (domain.md §6): distance-decayed risk per H3 cell.
CREATE TABLE exposure_cell (
    resolution integer NOT NULL,
    cell text COLLATE "C" NOT NULL,
    value double precision NOT NULL,
    geom geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (resolution, cell)
);

-- Changes since the last scoring: one row per changed statement and feature class, with the extent of the
-- rows touched (old and new positions).  `riskmap score` re-scores what lies within reach of these extents.
CREATE TABLE risk_dirty (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL,
    extent geometry(Geometry, 4326),     -- NULL: unknown extent, re-score everything
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION riskmap_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO risk_dirty (kind, extent) SELECT TG_TABLE_NAME, ST_SetSRID(ST_Extent(geom)::geometry, 4326)
            FROM new_rows HAVING count(*) > 0;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO risk_dirty (kind, extent) SELECT TG_TABLE_NAME, ST_SetSRID(ST_Extent(geom)::geometry, 4326)
            FROM (SELECT geom FROM new_rows UNION ALL SELECT geom FROM old_rows) g HAVING count(*) > 0;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO risk_dirty (kind, extent) SELECT TG_TABLE_NAME, ST_SetSRID(ST_Extent(geom)::geometry, 4326)
            FROM old_rows HAVING count(*) > 0;
    ELSE  -- TRUNCATE
        INSERT INTO risk_dirty (kind, extent) VALUES (TG_TABLE_NAME, NULL);
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['enterprise', 'tailings_pond', 'pipeline', 'venue', 'settlement', 'area'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_dirty_ins AFTER INSERT ON %1$I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_mark_dirty()', t);
        EXECUTE format('CREATE TRIGGER %1$s_dirty_upd AFTER UPDATE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION riskmap_mark_dirty()', t);
        EXECUTE format('CREATE TRIGGER %1$s_dirty_del AFTER DELETE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_mark_dirty()', t);
        EXECUTE format('CREATE TRIGGER %1$s_dirty_trunc AFTER TRUNCATE ON %1$I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_mark_dirty()', t);
    END LOOP;
END $$;

-- Is `target` within `half_angle` degrees of the direction `direction_deg` (clockwise from north) seen from the
-- centre of `origin`?  A NULL direction (unknown) means every direction: the full circle (domain.md §3, the
-- downstream sector of the overhead-pond test).
CREATE FUNCTION riskmap_in_sector(origin geometry, direction_deg double precision, target geometry,
                                  half_angle double precision) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT direction_deg IS NULL OR half_angle >= 180
        OR coalesce(abs(mod((degrees(ST_Azimuth(ST_Centroid(origin)::geography, target::geography))
                             - direction_deg + 540.0)::numeric, 360) - 180) <= half_angle, true)
$$;
