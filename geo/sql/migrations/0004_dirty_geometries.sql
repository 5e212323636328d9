-- 0004: record changed geometries for incremental scoring per 0.05° grid cell instead of one extent per
-- statement, so scattered edits stay many small regions rather than one large box; `riskmap score` re-scores
-- the features within reach of these geometries (tested against a full recompute).  Written to apply over
-- any earlier form of 0002.

COMMENT ON COLUMN risk_dirty.extent IS 'the changed geometries; NULL: unknown, re-score everything';
CREATE INDEX IF NOT EXISTS risk_dirty_extent_idx ON risk_dirty USING gist (extent);

-- Is a within `metres` of b?  A conservative planar test in degrees (never misses a pair that is within
-- `metres` geodesically, may include a few slightly farther), cheap on geometry collections of any kind.
CREATE OR REPLACE FUNCTION riskmap_near(a geometry, b geometry, metres double precision) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ST_DWithin(a, b, 1.01 * metres / (110574.0 * cos(radians(least(89.0,
        greatest(abs(ST_YMin(a)), abs(ST_YMax(a)), abs(ST_YMin(b)), abs(ST_YMax(b))))))))
$$;

CREATE OR REPLACE FUNCTION riskmap_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO risk_dirty (kind, extent) VALUES (TG_TABLE_NAME, NULL);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO risk_dirty (kind, extent)
        SELECT TG_TABLE_NAME, ST_Collect(geom) FROM new_rows
        GROUP BY floor(ST_X(ST_Centroid(geom)) / 0.05), floor(ST_Y(ST_Centroid(geom)) / 0.05);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO risk_dirty (kind, extent)
        SELECT TG_TABLE_NAME, ST_Collect(geom) FROM old_rows
        GROUP BY floor(ST_X(ST_Centroid(geom)) / 0.05), floor(ST_Y(ST_Centroid(geom)) / 0.05);
    END IF;
    RETURN NULL;
END $$;
