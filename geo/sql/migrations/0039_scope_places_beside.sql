-- 0039: the places of a full scoring run's sites and cells found beside the run, on a connection of its own
-- (geo/risk/placing.py), instead of in the run's transaction (issue 18: a first national run spent a third of its
-- database time placing 6.3 million sites and millions of cells on one core while the other idled).
--
-- Sites: riskmap_scope_place_class_beside places a class's sites without a place (area by area, as 0036) straight
-- into scope_site, in the placer's own transaction, and then, holding the class's table against writers for a
-- moment (SHARE), drops the places it made for rows that are no longer the versions it placed (their xmin): a site
-- moved or deleted by an edit that committed meanwhile, whose own trigger (0019's riskmap_scope_forget) could not
-- see the place yet.  An edit after that moment finds the place committed and forgets it as always.  So no place
-- outlives its site's position, and a scoped user never sees a site in the wrong county.
-- Cells: placed in scope_cell by the placer from the rows the run is about to write; while the run's transaction
-- has ``riskmap.cells_placed_later`` on, the statement triggers of 0025/0036 leave its new cells alone (scope_state
-- says the cells are not all placed), and the run's riskmap_scope_refresh() places any cell still without a place
-- once the placer is done.
-- Either way the places are those the run would have found itself: the same test of the same points.

-- The classes that have places, and the point each is placed at, as SQL over its row ``f`` (0019's rule).
CREATE FUNCTION riskmap_scope_classes() RETURNS TABLE (site_kind text, point_sql text) LANGUAGE sql IMMUTABLE AS $$
    VALUES ('enterprise', 'ST_PointOnSurface(f.geom)'), ('tailings_pond', 'ST_PointOnSurface(f.geom)'),
           ('venue', 'ST_PointOnSurface(f.geom)'), ('settlement', 'ST_PointOnSurface(f.geom)'),
           ('accident', 'f.geom'), ('pipeline', 'f.geom')
$$;

-- riskmap_scope_refresh() of 0036, its classes from riskmap_scope_classes().
CREATE OR REPLACE FUNCTION riskmap_scope_refresh() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    unplaced bigint;
BEGIN
    PERFORM riskmap_scope_place_class(c.site_kind, c.point_sql) FROM riskmap_scope_classes() c;

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

-- Beside a run (the placer's own transaction, which holds the areas in SHARE mode): the sites of one class without a
-- place, placed; the places of rows changed since dropped under a moment's SHARE lock of the class's table (above).
-- Returns the places kept.
CREATE FUNCTION riskmap_scope_place_class_beside(site_kind text, point_sql text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    placed bigint;
    stale bigint;
BEGIN
    DROP TABLE IF EXISTS riskmap_scope_points, riskmap_scope_versions;
    EXECUTE format(
        'CREATE TEMP TABLE riskmap_scope_versions ON COMMIT DROP AS '
        'SELECT f.id, f.xmin AS row_version, %3$s AS geom FROM %1$I f '
        'WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = %2$L AND s.id = f.id)',
        site_kind, site_kind, point_sql);
    CREATE TEMP TABLE riskmap_scope_points ON COMMIT DROP AS SELECT v.id::text AS key, v.geom FROM riskmap_scope_versions v;
    INSERT INTO scope_site (kind, id, codes) SELECT site_kind, p.key::bigint, p.codes FROM riskmap_scope_points_placed() p;
    GET DIAGNOSTICS placed = ROW_COUNT;
    EXECUTE format('LOCK TABLE %I IN SHARE MODE', site_kind);
    EXECUTE format(
        'DELETE FROM scope_site s USING riskmap_scope_versions v WHERE s.kind = %2$L AND s.id = v.id '
        'AND NOT EXISTS (SELECT 1 FROM %1$I f WHERE f.id = v.id AND f.xmin = v.row_version)', site_kind, site_kind);
    GET DIAGNOSTICS stale = ROW_COUNT;
    DROP TABLE riskmap_scope_points, riskmap_scope_versions;
    RETURN placed - stale;
END $$;

-- The statement triggers of 0025 (riskmap_scope_place_cells, 0036), not fired while the transaction leaves its new
-- cells to be placed later (placed beside the run, or by its riskmap_scope_refresh(): scope_state says so).
DROP TRIGGER riskmap_scope_cells ON area_risk;
DROP TRIGGER riskmap_scope_cells ON exposure_cell;
CREATE TRIGGER riskmap_scope_cells AFTER INSERT ON area_risk REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (current_setting('riskmap.cells_placed_later', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION riskmap_scope_place_cells();
CREATE TRIGGER riskmap_scope_cells AFTER INSERT ON exposure_cell REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (current_setting('riskmap.cells_placed_later', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION riskmap_scope_place_cells();
