-- 0025: a new cell (of the area risk's H3 layers, of the exposure surface) gets its place for users limited to
-- areas when it is written, instead of at the end of every scoring run by a search of every cell for those
-- without one (migration 0019's riskmap_scope_refresh: 90-150 ms of every run, however little the run changed;
-- under load, with a run for every few writes, a few per cent of the machine).
--
-- A statement that adds area or exposure rows places the cells among them that have no place yet, in the same
-- transaction (statement triggers; what a run by difference writes is a few dozen rows).  Once areas change,
-- every place is decided again (migration 0019's riskmap_scope_reset empties scope_cell): scope_state records
-- that the cells are then no longer all placed, and the next scoring run places them all, as before.
CREATE TABLE scope_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    cells_placed boolean NOT NULL  -- false: some stored cells may have no place (scope_cell) yet
);
INSERT INTO scope_state (cells_placed) VALUES (false);
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'riskmap_scoped') THEN
        REVOKE ALL ON scope_state FROM riskmap_scoped;
    END IF;
END $$;

-- The cells among a statement's new rows that have no place yet, placed at their centre (as 0019 does).
CREATE FUNCTION riskmap_scope_place_cells() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'area_risk' THEN
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
CREATE TRIGGER riskmap_scope_cells AFTER INSERT ON area_risk REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION riskmap_scope_place_cells();
CREATE TRIGGER riskmap_scope_cells AFTER INSERT ON exposure_cell REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION riskmap_scope_place_cells();

-- Areas changed: every place decided again by the next scoring run (as in 0019), all cells included.
CREATE OR REPLACE FUNCTION riskmap_scope_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM scope_site;
    DELETE FROM scope_cell;
    UPDATE scope_state SET cells_placed = false;
    RETURN NULL;
END $$;

-- Every scoring run, before it commits: what is new or moved among the sites, as before; the cells only when they
-- are not all placed (a first run, or areas changed since), by the search of 0019.
CREATE OR REPLACE FUNCTION riskmap_scope_refresh() RETURNS void LANGUAGE sql AS $$
    INSERT INTO scope_site (kind, id, codes)
    SELECT p.kind, p.id, coalesce(array_agg(a.admin_code ORDER BY a.admin_code)
                                  FILTER (WHERE a.admin_code IS NOT NULL), '{}')
    FROM (SELECT 'enterprise' AS kind, f.id, ST_PointOnSurface(f.geom) AS geom FROM enterprise f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'enterprise' AND s.id = f.id)
          UNION ALL
          SELECT 'tailings_pond', f.id, ST_PointOnSurface(f.geom) FROM tailings_pond f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'tailings_pond' AND s.id = f.id)
          UNION ALL
          SELECT 'venue', f.id, ST_PointOnSurface(f.geom) FROM venue f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'venue' AND s.id = f.id)
          UNION ALL
          SELECT 'settlement', f.id, ST_PointOnSurface(f.geom) FROM settlement f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'settlement' AND s.id = f.id)
          UNION ALL
          SELECT 'accident', f.id, f.geom FROM accident f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'accident' AND s.id = f.id)
          UNION ALL
          SELECT 'pipeline', f.id, f.geom FROM pipeline f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'pipeline' AND s.id = f.id)) p
    LEFT JOIN area a ON a.geom && p.geom AND ST_Intersects(a.geom, p.geom)
    GROUP BY p.kind, p.id;

    INSERT INTO scope_cell (cell, codes)
    SELECT c.cell, coalesce(array_agg(a.admin_code ORDER BY a.admin_code)
                            FILTER (WHERE a.admin_code IS NOT NULL), '{}')
    FROM (SELECT DISTINCT ON (u.cell) u.cell, u.pt
          FROM (SELECT r.area_id AS cell, ST_Centroid(r.geom) AS pt FROM area_risk r WHERE r.area_type = 'h3'
                UNION ALL
                SELECT e.cell, e.geom FROM exposure_cell e) u
          WHERE NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = u.cell)) c
    LEFT JOIN area a ON a.geom && c.pt AND ST_Intersects(a.geom, c.pt)
    WHERE NOT (SELECT cells_placed FROM scope_state)
    GROUP BY c.cell;

    UPDATE scope_state SET cells_placed = true WHERE NOT cells_placed;
$$;

SELECT riskmap_scope_refresh();
