-- 0039: the places of a full scoring run's sites found beside the run, on a connection of their own, and taken
-- into scope_site by the run's transaction only where the site is still the row that was placed (issue 18: a
-- national run spent a third of its database time placing sites and cells, on one core while the other idled).
--
-- geo/risk/placing.py stages the places of the sites without one (every site on a first run after an import) in
-- scope_site_staged, with the version of the row it placed (its xmin), and commits; the run's transaction then
-- takes each staged place whose site's row is still that version (a site moved, edited or deleted since has
-- another xmin or none, and is placed by riskmap_scope_refresh() as before).  The places are those
-- riskmap_scope_refresh() gives (the same test, area by area, of the same points: riskmap_scope_classes()).
-- The table is unlogged: what it holds is used once, by the run that staged it, and lost with nothing on a crash.
CREATE UNLOGGED TABLE scope_site_staged (
    kind text NOT NULL,
    id bigint NOT NULL,
    row_version xid NOT NULL,  -- the xmin of the site's row that was placed
    codes text[] NOT NULL
);
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'riskmap_scoped') THEN
        REVOKE ALL ON scope_site_staged FROM riskmap_scoped;
    END IF;
END $$;

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

-- Beside a run (its own transaction): every site without a place, placed area by area into scope_site_staged
-- with its row's version; what was staged before is dropped first.  Returns the rows staged.
CREATE FUNCTION riskmap_scope_stage_sites() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    c record;
    staged bigint := 0;
    n bigint;
BEGIN
    TRUNCATE scope_site_staged;
    FOR c IN SELECT * FROM riskmap_scope_classes() LOOP
        DROP TABLE IF EXISTS riskmap_scope_points, riskmap_scope_versions;
        EXECUTE format(
            'CREATE TEMP TABLE riskmap_scope_versions ON COMMIT DROP AS '
            'SELECT f.id::text AS key, f.xmin AS row_version, %3$s AS geom FROM %1$I f '
            'WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = %2$L AND s.id = f.id)',
            c.site_kind, c.site_kind, c.point_sql);
        CREATE TEMP TABLE riskmap_scope_points ON COMMIT DROP AS SELECT v.key, v.geom FROM riskmap_scope_versions v;
        INSERT INTO scope_site_staged (kind, id, row_version, codes)
        SELECT c.site_kind, p.key::bigint, v.row_version, p.codes
        FROM riskmap_scope_points_placed() p JOIN riskmap_scope_versions v ON v.key = p.key;
        GET DIAGNOSTICS n = ROW_COUNT;
        staged := staged + n;
        DROP TABLE riskmap_scope_points, riskmap_scope_versions;
    END LOOP;
    RETURN staged;
END $$;

-- In the run's transaction, before riskmap_scope_refresh(): the staged places of the sites whose rows are still
-- the versions placed, and none of those without a place yet; the staging emptied.  Returns the places taken.
CREATE FUNCTION riskmap_scope_take_staged() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    c record;
    taken bigint := 0;
    n bigint;
BEGIN
    FOR c IN SELECT * FROM riskmap_scope_classes() LOOP
        EXECUTE format(
            'INSERT INTO scope_site (kind, id, codes) '
            'SELECT s.kind, s.id, s.codes FROM scope_site_staged s JOIN %1$I f ON f.id = s.id AND f.xmin = s.row_version '
            'WHERE s.kind = %2$L AND NOT EXISTS (SELECT 1 FROM scope_site p WHERE p.kind = s.kind AND p.id = s.id)',
            c.site_kind, c.site_kind);
        GET DIAGNOSTICS n = ROW_COUNT;
        taken := taken + n;
    END LOOP;
    TRUNCATE scope_site_staged;
    RETURN taken;
END $$;
