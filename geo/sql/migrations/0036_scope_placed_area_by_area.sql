-- 0036: placing many sites and cells for users limited to areas (migrations 0019 and 0025) area by area, with the
-- same test, instead of point by point (issue 18, item 5).
--
-- Each place is the admin codes of every area whose outline covers the point (ST_Intersects(area, point)).  Taken
-- point by point, every point probes the areas' index and tests the five or so areas whose boxes hold it: each test
-- reads a whole province, city or county outline (up to 11,000 vertices, TOASTed) and walks all of it, so a point
-- cost about 75 µs of CPU (EXPLAIN ANALYZE on the national set at 100,000 features: 9.8 s for 132,809 exposure
-- cells, 39 buffers read per cell), and the first scoring run after a national import spent most of its time
-- there (the sites, the H3 cells of area_risk, the exposure cells: bench/scale/growth.py, docs/benchmarks.md).
-- Taken area by area, the outline stays the same from one test to the next: PostGIS reads it once and keeps an
-- index of its edges (its point-in-polygon cache), and each point is tested in logarithmic time: 1.0 s for the
-- same 132,809 cells, the same rows.  That order needs the points behind an index: they are computed once (a
-- site's point on surface, an H3 cell's centre) into a temporary table with a GiST index, and each area tests the
-- points in its box (computing ST_PointOnSurface for every candidate of every area instead cost as much as the
-- old order: a point lies in the boxes of ten or more of the country's areas).
--
-- Below ``riskmap_scope_bulk_min`` points to place (a few records' worth, an incremental run's few dozen cells) the
-- statements of 0019 and 0025 run as they were: going over every area has a fixed cost (a temporary table, an
-- index probe for each of the 3,211 areas of a country).
-- Either way the rows are the same: the same test of the same geometries, the codes sorted, '{}' for none.

CREATE FUNCTION riskmap_scope_bulk_min() RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 2000 $$;

-- The places of the points in the temporary table riskmap_scope_points (key text, geom: each key once), area by
-- area; '{}' for a point in no area.  The table is indexed and analysed here.
CREATE FUNCTION riskmap_scope_points_placed() RETURNS TABLE (key text, codes text[]) LANGUAGE plpgsql AS $$
BEGIN
    CREATE INDEX ON riskmap_scope_points USING gist (geom);
    ANALYZE riskmap_scope_points;
    RETURN QUERY
    SELECT u.key, coalesce(h.codes, '{}')
    FROM riskmap_scope_points u
    LEFT JOIN (SELECT x.key, array_agg(a.admin_code ORDER BY a.admin_code) AS codes
               FROM area a CROSS JOIN LATERAL (
                   SELECT p.key FROM riskmap_scope_points p
                   WHERE p.geom && a.geom AND ST_Intersects(a.geom, p.geom)
                   OFFSET 0) x  -- (OFFSET 0: kept a loop over the areas, not flattened into a join turned around)
               GROUP BY x.key) h ON h.key = u.key;
END $$;

-- The sites of one class that have no place yet, placed.  ``point_sql`` is the point a site is placed at, as SQL over
-- its row ``f`` (ST_PointOnSurface(f.geom) for sites, f.geom for accidents and pipelines: 0019's rule).
CREATE FUNCTION riskmap_scope_place_class(site_kind text, point_sql text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    unplaced bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %1$I f WHERE NOT EXISTS '
                   '(SELECT 1 FROM scope_site s WHERE s.kind = %2$L AND s.id = f.id)', site_kind, site_kind)
        INTO unplaced;
    IF unplaced = 0 THEN
        RETURN;
    ELSIF unplaced < riskmap_scope_bulk_min() THEN  -- a few: each point probes the areas (0019)
        EXECUTE format(
            'INSERT INTO scope_site (kind, id, codes) '
            'SELECT %2$L, p.id, coalesce(array_agg(a.admin_code ORDER BY a.admin_code) '
            '                            FILTER (WHERE a.admin_code IS NOT NULL), ''{}'') '
            'FROM (SELECT f.id, %3$s AS geom FROM %1$I f '
            '      WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = %2$L AND s.id = f.id)) p '
            'LEFT JOIN area a ON a.geom && p.geom AND ST_Intersects(a.geom, p.geom) '
            'GROUP BY p.id', site_kind, site_kind, point_sql);
    ELSE  -- many: area by area
        DROP TABLE IF EXISTS riskmap_scope_points;
        EXECUTE format(
            'CREATE TEMP TABLE riskmap_scope_points ON COMMIT DROP AS '
            'SELECT f.id::text AS key, %3$s AS geom FROM %1$I f '
            'WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = %2$L AND s.id = f.id)',
            site_kind, site_kind, point_sql);
        INSERT INTO scope_site (kind, id, codes)
        SELECT site_kind, p.key::bigint, p.codes FROM riskmap_scope_points_placed() p;
        DROP TABLE riskmap_scope_points;
    END IF;
END $$;

-- The statement triggers of 0025: the cells among a statement's new rows that have no place yet, a few as 0025
-- placed them, many area by area.
CREATE OR REPLACE FUNCTION riskmap_scope_place_cells() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unplaced bigint;
BEGIN
    IF TG_TABLE_NAME = 'area_risk' THEN
        SELECT count(*) INTO unplaced FROM new_rows n
        WHERE n.area_type = 'h3' AND NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = n.area_id);
    ELSE
        SELECT count(*) INTO unplaced FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = n.cell);
    END IF;
    IF unplaced = 0 THEN
        RETURN NULL;
    ELSIF unplaced >= riskmap_scope_bulk_min() THEN
        DROP TABLE IF EXISTS riskmap_scope_points;
        IF TG_TABLE_NAME = 'area_risk' THEN
            CREATE TEMP TABLE riskmap_scope_points ON COMMIT DROP AS
            SELECT DISTINCT ON (n.area_id) n.area_id::text AS key, ST_Centroid(n.geom) AS geom
            FROM new_rows n
            WHERE n.area_type = 'h3' AND NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = n.area_id);
        ELSE
            CREATE TEMP TABLE riskmap_scope_points ON COMMIT DROP AS
            SELECT DISTINCT ON (n.cell) n.cell::text AS key, n.geom
            FROM new_rows n
            WHERE NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = n.cell);
        END IF;
        INSERT INTO scope_cell (cell, codes)
        SELECT p.key, p.codes FROM riskmap_scope_points_placed() p
        ON CONFLICT (cell) DO NOTHING;
        DROP TABLE riskmap_scope_points;
    ELSIF TG_TABLE_NAME = 'area_risk' THEN
        INSERT INTO scope_cell (cell, codes)
        SELECT c.cell, coalesce(array_agg(a.admin_code ORDER BY a.admin_code)
                                FILTER (WHERE a.admin_code IS NOT NULL), '{}')
        FROM (SELECT DISTINCT ON (n.area_id) n.area_id AS cell, ST_Centroid(n.geom) AS pt
              FROM new_rows n
              WHERE n.area_type = 'h3' AND NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = n.area_id)) c
        LEFT JOIN area a ON a.geom && c.pt AND ST_Intersects(a.geom, c.pt)
        GROUP BY c.cell
        ON CONFLICT (cell) DO NOTHING;
    ELSE
        INSERT INTO scope_cell (cell, codes)
        SELECT c.cell, coalesce(array_agg(a.admin_code ORDER BY a.admin_code)
                                FILTER (WHERE a.admin_code IS NOT NULL), '{}')
        FROM (SELECT DISTINCT ON (n.cell) n.cell, n.geom AS pt
              FROM new_rows n
              WHERE NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = n.cell)) c
        LEFT JOIN area a ON a.geom && c.pt AND ST_Intersects(a.geom, c.pt)
        GROUP BY c.cell
        ON CONFLICT (cell) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

-- Every scoring run, before it commits: the sites class by class as above; the cells, only when they are not all
-- placed (a first run, or areas changed since), as 0025 placed them when few, area by area when many.
CREATE OR REPLACE FUNCTION riskmap_scope_refresh() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    unplaced bigint;
BEGIN
    PERFORM riskmap_scope_place_class('enterprise', 'ST_PointOnSurface(f.geom)');
    PERFORM riskmap_scope_place_class('tailings_pond', 'ST_PointOnSurface(f.geom)');
    PERFORM riskmap_scope_place_class('venue', 'ST_PointOnSurface(f.geom)');
    PERFORM riskmap_scope_place_class('settlement', 'ST_PointOnSurface(f.geom)');
    PERFORM riskmap_scope_place_class('accident', 'f.geom');
    PERFORM riskmap_scope_place_class('pipeline', 'f.geom');

    IF (SELECT cells_placed FROM scope_state) THEN
        RETURN;
    END IF;
    DROP TABLE IF EXISTS riskmap_scope_points;
    CREATE TEMP TABLE riskmap_scope_points ON COMMIT DROP AS
    SELECT DISTINCT ON (u.cell) u.cell::text AS key, u.pt AS geom
    FROM (SELECT r.area_id AS cell, ST_Centroid(r.geom) AS pt FROM area_risk r WHERE r.area_type = 'h3'
          UNION ALL
          SELECT e.cell, e.geom FROM exposure_cell e) u
    WHERE NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = u.cell);
    GET DIAGNOSTICS unplaced = ROW_COUNT;
    IF unplaced >= riskmap_scope_bulk_min() THEN
        INSERT INTO scope_cell (cell, codes) SELECT p.key, p.codes FROM riskmap_scope_points_placed() p;
    ELSIF unplaced > 0 THEN
        INSERT INTO scope_cell (cell, codes)
        SELECT p.key, coalesce(array_agg(a.admin_code ORDER BY a.admin_code)
                               FILTER (WHERE a.admin_code IS NOT NULL), '{}')
        FROM riskmap_scope_points p
        LEFT JOIN area a ON a.geom && p.geom AND ST_Intersects(a.geom, p.geom)
        GROUP BY p.key;
    END IF;
    DROP TABLE riskmap_scope_points;
    UPDATE scope_state SET cells_placed = true WHERE NOT cells_placed;
END $$;
