-- 0037: the feature tables stored province by province, then by place within a province (issue 18, item 4).
--
-- A query kept to one county (the GiST index's bitmap scan of a near query, a bbox page, a map layer) reads the
-- heap pages that hold the county's rows.  Stored in the order the importer wrote them (a file's chunks one after
-- another, each in Hilbert order), 6-24 % of those pages also held rows of other provinces at a million national
-- features (bench/scale/province_pages.sql, docs/benchmarks.md).  `riskmap db cluster` (geo/province_order.py)
-- rewrites a table in the order (province, place within the province) and keeps each row's province in the
-- column added here; the rewrite, its lock and when to run it are in docs/scaling.md.
--
-- A row's province is that of its point on surface (ST_PointOnSurface: for a site the point at which area risk and
-- the places for area scope put it, migration 0019; for a pipeline or a segment a point on the line near its
-- middle): the first two digits of the admin codes of the areas covering that point (GB/T 2260: 13xxxx is Hebei),
-- the smaller where the point lies on a border between two provinces; NULL where no area covers it, or no code of
-- those areas begins with two digits.  The column is the step's: it is set when the step rewrites the table, not by
-- imports, edits or scoring runs (an UPDATE of the column there would fire the tables' change triggers: a
-- re-scoring of the region, an audit event and a history row for every row).  A row added since the last step has
-- NULL, a row moved since keeps the province it had then, and both stay where they were written (where the table
-- had room: the free space left on its pages, or its end) until the step runs again.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['enterprise', 'tailings_pond', 'venue', 'settlement', 'pipeline', 'pipeline_segment'] LOOP
        EXECUTE format('ALTER TABLE %I ADD COLUMN province text COLLATE "C" CONSTRAINT %I '
                       'CHECK (province ~ ''^[0-9]{2}$'')', t, t || '_province_check');
        EXECUTE format('COMMENT ON COLUMN %I.province IS %L', t,
                       'The province of the row''s point on surface (the first two digits of the admin codes of the '
                       'areas covering it; the smaller on a border), as of the last `riskmap db cluster`, which '
                       'stores the table in (province, place) order; NULL for a row on no province or added since.');
    END LOOP;
END $$;

-- The province of a place (its admin codes, scope_site's ``codes``): the smallest two-digit prefix of its codes;
-- NULL for no code with one.
CREATE FUNCTION riskmap_province(codes text[]) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT min(left(c, 2) COLLATE "C") FROM unnest(codes) c WHERE c ~ '^[0-9]{2}'
$$;

-- The province of every row of ``tbl`` into the temporary table riskmap_province_row (id, province), dropped at the
-- end of the transaction; returns how many rows had no place for area scope and were placed here.  A site placed
-- by a scoring run (scope_site: its codes are those of its point on surface, and never stale, as a move or a change
-- of the areas drops them, 0019) takes its province from there.  The others (sites added or moved since the last
-- run, every pipeline and segment, whose place for area scope is every area they cross) are placed here at their
-- point on surface, as 0036 places sites: area by area when many, point by point when few; scope_site is left as it
-- is (a site gets its place for area scope from its first scoring run, 0019).
CREATE FUNCTION riskmap_province_rows(tbl text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    unplaced bigint;
BEGIN
    IF tbl IS NULL OR tbl NOT IN ('enterprise', 'tailings_pond', 'venue', 'settlement', 'pipeline',
                                  'pipeline_segment') THEN
        RAISE EXCEPTION 'riskmap: % is not a table riskmap stores by province', coalesce(quote_literal(tbl), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'one of enterprise, tailings_pond, venue, settlement, pipeline, pipeline_segment';
    END IF;
    DROP TABLE IF EXISTS riskmap_province_row;
    CREATE TEMP TABLE riskmap_province_row (id bigint PRIMARY KEY, province text COLLATE "C") ON COMMIT DROP;
    IF tbl IN ('enterprise', 'tailings_pond', 'venue', 'settlement') THEN
        INSERT INTO riskmap_province_row (id, province)
        SELECT s.id, riskmap_province(s.codes) FROM scope_site s WHERE s.kind = tbl;
    END IF;
    DROP TABLE IF EXISTS riskmap_scope_points;
    EXECUTE format('CREATE TEMP TABLE riskmap_scope_points ON COMMIT DROP AS '
                   'SELECT f.id::text AS key, ST_PointOnSurface(f.geom) AS geom FROM %I f '
                   'WHERE NOT EXISTS (SELECT 1 FROM riskmap_province_row p WHERE p.id = f.id)', tbl);
    GET DIAGNOSTICS unplaced = ROW_COUNT;
    IF unplaced >= riskmap_scope_bulk_min() THEN
        INSERT INTO riskmap_province_row (id, province)
        SELECT p.key::bigint, riskmap_province(p.codes) FROM riskmap_scope_points_placed() p;
    ELSIF unplaced > 0 THEN
        INSERT INTO riskmap_province_row (id, province)
        SELECT p.key::bigint, riskmap_province(array_agg(a.admin_code))
        FROM riskmap_scope_points p
        LEFT JOIN area a ON a.geom && p.geom AND ST_Intersects(a.geom, p.geom)
        GROUP BY p.key;
    END IF;
    DROP TABLE riskmap_scope_points;
    ANALYZE riskmap_province_row;
    RETURN unplaced;
END $$;
