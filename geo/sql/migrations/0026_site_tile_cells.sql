-- 0026: the sites counted per level in the cells of low-zoom tiles, kept ready (issue 16: a zoom-8 tile of
-- 1,000,000 enterprises took 876 ms, counting every site of the tile on each request, api/sql/tiles_counted.sql).
--
-- Below zoom 10 a site tile is cut into 32 x 32 cells and each cell holds the sites counted per level, their worst
-- level and highest score.  The cells of a zoom-9 tile are the tiles of zoom 14 (32 = 2^5), and a cell of a tile of
-- any lower zoom z is exactly 2^(9-z) x 2^(9-z) of them.  So this table holds, for each class of sites and each
-- zoom-14 tile (cx, cy: XYZ, y from the north) holding sites, their counts per level and their highest score, and
-- a tile of zoom 0 to 9 sums the zoom-14 cells it covers (api/sql/tiles_sites_cells.sql).
--
-- A site is in the cell of its geometry when that geometry lies in one zoom-14 tile (every point; a polygon of
-- less than about 2 km): it meets that tile and no other at every lower zoom, and its point on surface is there.
-- A site whose geometry spans zoom-14 tiles (a large polygon) may reach into several low-zoom tiles and is counted
-- in each of them at its point on surface clamped into the tile: those few are listed in site_tile_span with their
-- geometry and counted when the tile is asked for, as before.
--
-- Kept exact in the transaction of every change: the triggers below follow every insert, move and delete of a site
-- (also in an import's shadow table, which gets the live table's triggers: geo/shadow_table.py), and a scoring run
-- calls riskmap_site_cells_rescored() for the scores it stores (geo/risk/store.py), in its own transaction; both
-- count the affected cells again from the sites (a statement changing many sites: the whole class).
--
-- Only users of every area read them (api/routes/tiles.py): a cell mixes counties, so row-level security with no
-- policy for riskmap_scoped keeps them from a user limited to areas, whose tiles are counted from the sites they may
-- see, at request time, as before.  When a user limited to areas edits a site, the cells are counted by a function
-- that runs as its owner (SECURITY DEFINER), from every site.
CREATE TABLE site_tile_cell (
    kind text NOT NULL,                 -- enterprise, tailings_pond, venue
    cx integer NOT NULL,                -- the zoom-14 tile: column from the west
    cy integer NOT NULL,                -- and row from the north
    count integer NOT NULL,
    red integer NOT NULL,
    orange integer NOT NULL,
    yellow integer NOT NULL,
    blue integer NOT NULL,
    unscored integer NOT NULL,
    score double precision,             -- the highest score of its sites (NULL: none scored)
    PRIMARY KEY (kind, cx, cy)
);
ALTER TABLE site_tile_cell ENABLE ROW LEVEL SECURITY;  -- no policy: its owner alone reads it

CREATE TABLE site_tile_span (
    kind text NOT NULL,
    feature_id bigint NOT NULL,
    geom geometry NOT NULL,             -- the site's geometry (EPSG:4326), spanning zoom-14 tiles
    PRIMARY KEY (kind, feature_id)
);
CREATE INDEX site_tile_span_geom_idx ON site_tile_span USING gist (geom);
ALTER TABLE site_tile_span ENABLE ROW LEVEL SECURITY;

-- The zoom-14 tile holding a geometry (EPSG:4326) as cx << 14 | cy, or NULL when its box in Web Mercator spans two
-- of them.  (Cells of the mercator world, 2 x 20037508.342789244 m wide, as ST_TileEnvelope cuts it.)
CREATE FUNCTION riskmap_site_cell(g geometry) RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    m box2d := ST_Transform(g, 3857)::box2d;  -- (plpgsql: one transform a call; about 2 s a million points)
    x0 integer := least(greatest(floor((ST_XMin(m) + 20037508.342789244) * 16384 / 40075016.68557849), 0), 16383);
    x1 integer := least(greatest(floor((ST_XMax(m) + 20037508.342789244) * 16384 / 40075016.68557849), 0), 16383);
    y0 integer := least(greatest(floor((20037508.342789244 - ST_YMax(m)) * 16384 / 40075016.68557849), 0), 16383);
    y1 integer := least(greatest(floor((20037508.342789244 - ST_YMin(m)) * 16384 / 40075016.68557849), 0), 16383);
BEGIN
    IF x0 = x1 AND y0 = y1 THEN
        RETURN (x0 << 14) | y0;
    END IF;
    RETURN NULL;
END
$$;

-- Count again the cells ``cells`` (codes as riskmap_site_cell gives them; NULL: all of them, and the spanning
-- sites listed again) of the class ``kind`` from its table ``tbl`` (the live one or an import's shadow) and the
-- stored scores.
CREATE FUNCTION riskmap_site_cells_count(kind text, tbl regclass, cells integer[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lock_key integer := hashtext('site_tile_cell:' || kind);
BEGIN
    -- Two transactions counting one cell again must not both delete its row and insert their own: the second waits
    -- for the first to commit (advisory locks held to the end of the transaction), then counts with its changes
    -- (READ COMMITTED: each statement below sees what committed before it).  A whole class: the class's lock,
    -- exclusive; some cells: the class's lock shared and each cell's, in order (no deadlock between two of them);
    -- many cells: the class's lock, exclusive (the lock table is not made for thousands of locks a transaction).
    IF cells IS NULL OR cardinality(cells) > 200 THEN
        PERFORM pg_advisory_xact_lock(lock_key, -1);
    ELSE
        PERFORM pg_advisory_xact_lock_shared(lock_key, -1);
        PERFORM pg_advisory_xact_lock(lock_key, c) FROM (SELECT DISTINCT unnest(cells) AS c ORDER BY 1) u;
    END IF;
    IF cells IS NULL THEN
        DELETE FROM site_tile_cell c WHERE c.kind = riskmap_site_cells_count.kind;
        DELETE FROM site_tile_span s WHERE s.kind = riskmap_site_cells_count.kind;
        -- one pass over the sites: each placed once
        EXECUTE format(
            'WITH placed AS MATERIALIZED (SELECT f.id, f.geom, riskmap_site_cell(f.geom) AS cell FROM %s f), '
            'spanning AS (INSERT INTO site_tile_span (kind, feature_id, geom) '
            '             SELECT $1, p.id, p.geom FROM placed p WHERE p.cell IS NULL) '
            'INSERT INTO site_tile_cell (kind, cx, cy, count, red, orange, yellow, blue, unscored, score) '
            'SELECT $1, p.cell >> 14, p.cell & 16383, count(*), count(*) FILTER (WHERE r.level = ''red''), '
            '       count(*) FILTER (WHERE r.level = ''orange''), count(*) FILTER (WHERE r.level = ''yellow''), '
            '       count(*) FILTER (WHERE r.level = ''blue''), count(*) FILTER (WHERE r.level IS NULL), max(r.score) '
            'FROM placed p LEFT JOIN feature_risk r ON r.kind = $1 AND r.feature_id = p.id '
            'WHERE p.cell IS NOT NULL GROUP BY p.cell', tbl) USING kind;
        RETURN;
    END IF;
    DELETE FROM site_tile_cell c WHERE c.kind = riskmap_site_cells_count.kind AND ((c.cx << 14) | c.cy) = ANY(cells);
    -- each cell's sites found by the GiST index on geom, in the cell's box in degrees
    EXECUTE format(
        'INSERT INTO site_tile_cell (kind, cx, cy, count, red, orange, yellow, blue, unscored, score) '
        'SELECT $1, q.cell >> 14, q.cell & 16383, count(*), count(*) FILTER (WHERE r.level = ''red''), '
        '       count(*) FILTER (WHERE r.level = ''orange''), count(*) FILTER (WHERE r.level = ''yellow''), '
        '       count(*) FILTER (WHERE r.level = ''blue''), count(*) FILTER (WHERE r.level IS NULL), max(r.score) '
        'FROM (SELECT DISTINCT unnest($2) AS cell) q '
        'CROSS JOIN LATERAL (SELECT f.id FROM %s f '
        '                    WHERE f.geom && ST_Transform(ST_TileEnvelope(14, q.cell >> 14, q.cell & 16383), 4326) '
        '                      AND riskmap_site_cell(f.geom) = q.cell OFFSET 0) f '  -- (OFFSET 0: a loop over the cells)
        'LEFT JOIN feature_risk r ON r.kind = $1 AND r.feature_id = f.id '
        'GROUP BY q.cell', tbl) USING kind, cells;
END
$$;

-- A scoring run stored new scores of the sites ``ids`` of ``kind`` (NULL: of all of them): their cells are counted
-- again.  Other kinds (pipelines, segments) are no sites: nothing to do.
CREATE FUNCTION riskmap_site_cells_rescored(kind text, ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cells integer[];
BEGIN
    IF kind NOT IN ('enterprise', 'tailings_pond', 'venue') THEN
        RETURN;
    END IF;
    IF ids IS NULL OR cardinality(ids) > 20000 THEN
        PERFORM riskmap_site_cells_count(kind, kind::regclass, NULL);
        RETURN;
    END IF;
    EXECUTE format('SELECT array_agg(DISTINCT c) FILTER (WHERE c IS NOT NULL) '
                   'FROM (SELECT riskmap_site_cell(f.geom) AS c FROM %I f WHERE f.id = ANY($1)) s', kind)
        INTO cells USING ids;
    IF cardinality(cells) > 2000 THEN  -- (about 6 ms a cell of 130 sites, 12 s for 1,000,000 sites at once)
        PERFORM riskmap_site_cells_count(kind, kind::regclass, NULL);
    ELSIF cells IS NOT NULL THEN
        PERFORM riskmap_site_cells_count(kind, kind::regclass, cells);
    END IF;
END
$$;

-- Whoever inserts, moves or deletes sites (the API, an import, a script), their cells follow in the same
-- transaction: the cells the changed sites left and entered are counted again, and the spanning ones listed again.
-- An update that keeps every geometry (a rename) changes no count.
-- The sites ``ids`` of ``kind`` (in its table ``tbl``) were inserted, moved or deleted, leaving or entering the
-- cells ``cells`` (NULL: too many to follow one by one): list again those of them that span cells, count the cells
-- again.
CREATE FUNCTION riskmap_site_cells_moved(kind text, tbl regclass, ids bigint[], cells integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF ids IS NULL OR cells IS NULL THEN
        PERFORM riskmap_site_cells_count(kind, tbl, NULL);
        RETURN;
    END IF;
    DELETE FROM site_tile_span s WHERE s.kind = riskmap_site_cells_moved.kind AND s.feature_id = ANY(ids);
    EXECUTE format('INSERT INTO site_tile_span (kind, feature_id, geom) SELECT $1, f.id, f.geom FROM %s f '
                   'WHERE f.id = ANY($2) AND riskmap_site_cell(f.geom) IS NULL', tbl) USING kind, ids;
    cells := array_remove(cells, NULL);
    IF cardinality(cells) > 0 THEN
        PERFORM riskmap_site_cells_count(kind, tbl, cells);
    END IF;
END
$$;

-- The same for a user limited to areas who changed sites of the live table: run as the owner of the function (who
-- sees every site, and may write the cells: no policy lets riskmap_scoped), so that the cells count every site.
CREATE FUNCTION riskmap_site_cells_moved_by_scoped(kind text, ids bigint[], cells integer[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF kind NOT IN ('enterprise', 'tailings_pond', 'venue') THEN
        RAISE EXCEPTION 'no class of sites: %', kind;
    END IF;
    PERFORM riskmap_site_cells_moved(kind, kind::regclass, ids, cells);
END
$$;

-- Whoever inserts, moves or deletes sites (the API, an import, a script), their cells follow in the same
-- transaction: the cells the changed sites left and entered are counted again, and the spanning ones listed again.
-- An update that keeps every geometry (a rename) changes no count.  Run as the writer (an import's shadow table,
-- geo/shadow_table.py, is its own), but for a user limited to areas (see riskmap_site_cells_moved_by_scoped).
CREATE FUNCTION riskmap_site_cells_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tbl regclass := format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)::regclass;
    n bigint;
    ids bigint[];
    cells integer[];
BEGIN
    -- the sites whose geometry changed, and the cells they left or entered
    IF TG_OP = 'TRUNCATE' THEN
        n := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT count(*), array_agg(id), array_agg(DISTINCT riskmap_site_cell(geom)) INTO n, ids, cells FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT count(*), array_agg(id), array_agg(DISTINCT riskmap_site_cell(geom)) INTO n, ids, cells FROM old_rows;
    ELSE
        SELECT count(DISTINCT m.id), array_agg(DISTINCT m.id), array_agg(DISTINCT v.c) INTO n, ids, cells
        FROM (SELECT o.id, o.geom AS old_geom, w.geom AS new_geom FROM old_rows o JOIN new_rows w ON w.id = o.id
              WHERE ST_AsEWKB(o.geom) IS DISTINCT FROM ST_AsEWKB(w.geom)) m
        CROSS JOIN LATERAL (VALUES (riskmap_site_cell(m.old_geom)), (riskmap_site_cell(m.new_geom))) v(c);
    END IF;
    IF n = 0 THEN
        RETURN NULL;
    ELSIF n IS NULL OR n > 20000 THEN  -- emptied, or a bulk change: the whole class at once
        ids := NULL;
        cells := NULL;
    ELSIF cells IS NULL THEN
        cells := '{}';
    ELSIF cardinality(cells) > 2000 THEN  -- (see riskmap_site_cells_rescored)
        cells := NULL;
    END IF;
    IF current_user = 'riskmap_scoped' THEN
        PERFORM riskmap_site_cells_moved_by_scoped(TG_TABLE_NAME, ids, cells);
    ELSE
        PERFORM riskmap_site_cells_moved(TG_TABLE_NAME, tbl, ids, cells);
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['enterprise', 'tailings_pond', 'venue'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_tile_cells_ins AFTER INSERT ON %1$I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_site_cells_follow()', t);
        EXECUTE format('CREATE TRIGGER %1$s_tile_cells_upd AFTER UPDATE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION riskmap_site_cells_follow()', t);
        EXECUTE format('CREATE TRIGGER %1$s_tile_cells_del AFTER DELETE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_site_cells_follow()', t);
        EXECUTE format('CREATE TRIGGER %1$s_tile_cells_trunc AFTER TRUNCATE ON %1$I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_site_cells_follow()', t);
        PERFORM riskmap_site_cells_count(t, t::regclass, NULL);
    END LOOP;
END $$;
