-- 0029: the kept tile counts (site_tile_cell, migration 0026) follow a change by difference instead of counting the
-- cells it touched again from the sites (issue 16: a scoring run that rescored 1,000 scattered enterprises of a
-- million counted their 1,000 cells again in 6.5-8.9 s, about 6 ms a cell found through the GiST index).
--
-- Each changed site takes itself out of the counts as it was and puts itself in as it is: a site moved leaves its old
-- cell and enters its new one with its level, a site rescored leaves its old level for its new one in its cell.  All
-- the changes of a statement are summed per cell (+1/-1 per level) and added to the kept rows in one
-- INSERT ... ON CONFLICT DO UPDATE (count = count + the difference), rows reaching zero deleted.  Two transactions
-- changing one cell need no lock of their own for that: the second's update waits for the first's row and adds to
-- what it committed.  The highest score follows too: it rises to a new score above it at once, and a cell is counted
-- again from its sites only when a site holding its highest score left it or scored lower (most cells keep theirs).
-- What stays a whole count of the class: a statement changing more than 20,000 sites, TRUNCATE, and a full scoring
-- run (riskmap_site_cells_count, as in 0026).
--
-- Exact under concurrency: a difference reads the other side of the count fresh (a site's level when it moves, a
-- site's cell when it is rescored), so a move and a rescoring of the same site in two transactions must not both
-- read the other's state from before it.  Both lock the sites they change (advisory locks held to the end of the
-- transaction; above 200 sites the class's lock, exclusive) before reading: the second waits for the first to
-- commit and then reads what it wrote (READ COMMITTED: a snapshot per statement).  A whole count of the class takes
-- the class's lock exclusive, and a difference the class's lock shared, as before.

-- The kept counts of ``kind`` (from its table ``tbl``: the live one or an import's shadow) changed by the sites
-- changes given as parallel arrays: each change puts one site (``signs`` +1) in, or takes it (-1) out of, the cell
-- ``cells`` (codes as riskmap_site_cell gives them) at its level and score (NULL: unscored).  Cells whose highest
-- score may have left are counted again, for their highest score only, from the sites of ``tbl``.
CREATE FUNCTION riskmap_site_cells_add(kind text, tbl regclass, cells integer[], signs integer[], levels text[],
                                       scores double precision[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    emptied integer[];
    stale integer[];
BEGIN
    WITH change AS (
        SELECT c.cell, sum(c.sign)::integer AS count,
               coalesce(sum(c.sign) FILTER (WHERE c.level = 'red'), 0)::integer AS red,
               coalesce(sum(c.sign) FILTER (WHERE c.level = 'orange'), 0)::integer AS orange,
               coalesce(sum(c.sign) FILTER (WHERE c.level = 'yellow'), 0)::integer AS yellow,
               coalesce(sum(c.sign) FILTER (WHERE c.level = 'blue'), 0)::integer AS blue,
               coalesce(sum(c.sign) FILTER (WHERE c.level IS NULL), 0)::integer AS unscored,
               max(c.score) FILTER (WHERE c.sign > 0) AS added, max(c.score) FILTER (WHERE c.sign < 0) AS removed
        FROM unnest(cells, signs, levels, scores) c(cell, sign, level, score)
        WHERE c.cell IS NOT NULL
        GROUP BY c.cell
    ),
    kept AS (
        -- in the order of the cells: two transactions changing the same cells lock their rows in one order
        INSERT INTO site_tile_cell AS k (kind, cx, cy, count, red, orange, yellow, blue, unscored, score)
        SELECT riskmap_site_cells_add.kind, c.cell >> 14, c.cell & 16383, c.count, c.red, c.orange, c.yellow, c.blue,
               c.unscored, c.added
        FROM change c ORDER BY c.cell
        ON CONFLICT ON CONSTRAINT site_tile_cell_pkey DO UPDATE  -- (not (kind, cx, cy): kind is a variable here)
        SET count = k.count + excluded.count, red = k.red + excluded.red, orange = k.orange + excluded.orange,
            yellow = k.yellow + excluded.yellow, blue = k.blue + excluded.blue,
            unscored = k.unscored + excluded.unscored, score = greatest(k.score, excluded.score)
        RETURNING (k.cx << 14) | k.cy AS cell, k.count, k.score
    )
    -- The highest score kept is now S = max(before, added).  It may be too high only when a site that held the
    -- highest score before left (removed >= S) and no site came in at or above it (added < S): count it again.
    SELECT array_agg(k.cell) FILTER (WHERE k.count = 0),
           array_agg(k.cell) FILTER (WHERE k.count > 0 AND c.removed >= k.score
                                       AND (c.added IS NULL OR c.added < k.score))
    INTO emptied, stale
    FROM kept k JOIN change c ON c.cell = k.cell;
    IF emptied IS NOT NULL THEN
        DELETE FROM site_tile_cell k USING unnest(emptied) e(cell)
        WHERE k.kind = riskmap_site_cells_add.kind AND k.cx = e.cell >> 14 AND k.cy = e.cell & 16383
          AND k.count = 0;
    END IF;
    IF stale IS NOT NULL THEN
        -- each cell's sites found by the GiST index on geom, in the cell's box in degrees (as 0026 counts a cell)
        EXECUTE format(
            'UPDATE site_tile_cell k SET score = m.score '
            'FROM (SELECT q.cell, (SELECT max(r.score) FROM %s f '
            '                      JOIN feature_risk r ON r.kind = $1 AND r.feature_id = f.id '
            '                      WHERE f.geom && ST_Transform(ST_TileEnvelope(14, q.cell >> 14, q.cell & 16383), 4326) '
            '                        AND riskmap_site_cell(f.geom) = q.cell) AS score '
            '      FROM unnest($2) q(cell)) m '
            'WHERE k.kind = $1 AND k.cx = m.cell >> 14 AND k.cy = m.cell & 16383', tbl) USING kind, stale;
    END IF;
END
$$;

-- Before a difference about the sites ``ids`` of ``kind`` reads anything: wait for any other transaction changing
-- one of them (see the top of this file).  NULL: the whole class.
CREATE FUNCTION riskmap_site_cells_lock(kind text, ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    class_key integer := hashtext('site_tile_cell:' || kind);
    site_key integer := hashtext('site_tile_cell_site:' || kind);
BEGIN
    IF ids IS NULL OR cardinality(ids) > 200 THEN  -- (the lock table is not made for thousands of locks a transaction)
        PERFORM pg_advisory_xact_lock(class_key, -1);
    ELSE
        PERFORM pg_advisory_xact_lock_shared(class_key, -1);
        -- in order of the ids: no deadlock between two of these (ids past 2^31 share a lock: they only wait more)
        PERFORM pg_advisory_xact_lock(site_key, u.id) FROM (SELECT DISTINCT (i % 2147483647)::integer AS id
                                                           FROM unnest(ids) i ORDER BY 1) u;
    END IF;
END
$$;

-- Count the whole class ``kind`` again from its table ``tbl`` and the stored scores, and list its spanning sites
-- again (what 0026's riskmap_site_cells_count did for ``cells`` NULL; one pass over the sites, each placed once).
CREATE FUNCTION riskmap_site_cells_count(kind text, tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM riskmap_site_cells_lock(kind, NULL);
    DELETE FROM site_tile_cell c WHERE c.kind = riskmap_site_cells_count.kind;
    DELETE FROM site_tile_span s WHERE s.kind = riskmap_site_cells_count.kind;
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
END
$$;

-- A scoring run stored new scores of the sites ``ids`` of ``kind`` (NULL: of all of them, a full run), having
-- deleted the rows ``was_ids`` with their levels and scores (geo/risk/store.py): each of the sites leaves its old
-- level (unscored when it had no row) for its new one in its cell.  Other kinds (pipelines, segments) are no sites.
CREATE FUNCTION riskmap_site_cells_rescored(kind text, ids bigint[], was_ids bigint[], was_levels text[],
                                            was_scores double precision[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cells integer[];
    signs integer[];
    levels text[];
    scores double precision[];
BEGIN
    IF kind NOT IN ('enterprise', 'tailings_pond', 'venue') THEN
        RETURN;
    END IF;
    IF ids IS NULL OR cardinality(ids) > 20000 THEN
        PERFORM riskmap_site_cells_count(kind, kind::regclass);
        RETURN;
    END IF;
    PERFORM riskmap_site_cells_lock(kind, ids);
    -- (after the lock: the sites' cells as a transaction that moved one of them committed them)
    EXECUTE format(
        'WITH placed AS MATERIALIZED (SELECT f.id, riskmap_site_cell(f.geom) AS cell FROM %I f '
        '                             WHERE f.id = ANY($2)), '
        'was AS (SELECT * FROM unnest($3::bigint[], $4::text[], $5::double precision[]) w(id, level, score)), '
        'change AS (SELECT p.cell, -1 AS sign, w.level, w.score FROM placed p LEFT JOIN was w ON w.id = p.id '
        '           UNION ALL '
        '           SELECT p.cell, 1, r.level, r.score FROM placed p '
        '           LEFT JOIN feature_risk r ON r.kind = $1 AND r.feature_id = p.id) '
        'SELECT array_agg(cell), array_agg(sign), array_agg(level), array_agg(score) FROM change '
        'WHERE cell IS NOT NULL', kind)
        INTO cells, signs, levels, scores USING kind, ids, was_ids, was_levels, was_scores;
    IF cells IS NOT NULL THEN
        PERFORM riskmap_site_cells_add(kind, kind::regclass, cells, signs, levels, scores);
    END IF;
END
$$;

-- The sites ``ids`` of ``kind`` (in its table ``tbl``) were inserted, moved or deleted: each left the cell
-- ``old_cells`` and entered ``new_cells`` (parallel arrays; NULL: none, or spanning zoom-14 tiles).  ``ids`` NULL:
-- too many to follow one by one, the whole class is counted again.  The spanning ones are listed again, and each
-- site moves its level (as stored now) from its old cell to its new one.
CREATE FUNCTION riskmap_site_cells_moved(kind text, tbl regclass, ids bigint[], old_cells integer[],
                                         new_cells integer[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cells integer[];
    signs integer[];
    levels text[];
    scores double precision[];
BEGIN
    IF ids IS NULL THEN
        PERFORM riskmap_site_cells_count(kind, tbl);
        RETURN;
    END IF;
    PERFORM riskmap_site_cells_lock(kind, ids);
    DELETE FROM site_tile_span s WHERE s.kind = riskmap_site_cells_moved.kind AND s.feature_id = ANY(ids);
    EXECUTE format('INSERT INTO site_tile_span (kind, feature_id, geom) SELECT $1, f.id, f.geom FROM %s f '
                   'WHERE f.id = ANY($2) AND riskmap_site_cell(f.geom) IS NULL', tbl)
        USING kind, (SELECT array_agg(m.id) FROM unnest(ids, new_cells) m(id, cell) WHERE m.cell IS NULL);
    -- (after the lock: the sites' levels as a scoring run that rescored one of them committed them)
    SELECT array_agg(c.cell), array_agg(c.sign), array_agg(r.level), array_agg(r.score)
    INTO cells, signs, levels, scores
    FROM unnest(ids, old_cells, new_cells) m(id, old_cell, new_cell)
    LEFT JOIN feature_risk r ON r.kind = riskmap_site_cells_moved.kind AND r.feature_id = m.id
    CROSS JOIN LATERAL (VALUES (m.old_cell, -1), (m.new_cell, 1)) c(cell, sign)
    WHERE c.cell IS NOT NULL;
    IF cells IS NOT NULL THEN
        PERFORM riskmap_site_cells_add(kind, tbl, cells, signs, levels, scores);
    END IF;
END
$$;

-- The same for a user limited to areas who changed sites of the live table: run as the owner of the function (who
-- sees every site and score, and may write the cells: no policy lets riskmap_scoped).
CREATE FUNCTION riskmap_site_cells_moved_by_scoped(kind text, ids bigint[], old_cells integer[],
                                                   new_cells integer[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF kind NOT IN ('enterprise', 'tailings_pond', 'venue') THEN
        RAISE EXCEPTION 'no class of sites: %', kind;
    END IF;
    PERFORM riskmap_site_cells_moved(kind, kind::regclass, ids, old_cells, new_cells);
END
$$;

-- Whoever inserts, moves or deletes sites (the API, an import, a script), their cells follow in the same
-- transaction.  An update that keeps every geometry (a rename) changes no count.  Run as the writer (an import's
-- shadow table, geo/shadow_table.py, is its own), but for a user limited to areas (see above).
CREATE OR REPLACE FUNCTION riskmap_site_cells_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tbl regclass := format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)::regclass;
    -- (text of the default collation: TG_TABLE_NAME is a name, of collation "C", and a function's arguments keep
    -- their collation: compared with feature_risk.kind it would match no index, each site's score a scan)
    site_kind text := TG_TABLE_NAME;
    n bigint;
    ids bigint[];
    old_cells integer[];
    new_cells integer[];
BEGIN
    -- the sites whose geometry changed, with the cells they left and entered
    IF TG_OP = 'TRUNCATE' THEN
        n := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO n FROM new_rows;
        IF n <= 20000 THEN
            SELECT array_agg(id), array_agg(NULL::integer), array_agg(riskmap_site_cell(geom))
            INTO ids, old_cells, new_cells FROM new_rows;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT count(*) INTO n FROM old_rows;
        IF n <= 20000 THEN
            SELECT array_agg(id), array_agg(riskmap_site_cell(geom)), array_agg(NULL::integer)
            INTO ids, old_cells, new_cells FROM old_rows;
        END IF;
    ELSE
        SELECT count(*), array_agg(o.id), array_agg(riskmap_site_cell(o.geom)), array_agg(riskmap_site_cell(w.geom))
        INTO n, ids, old_cells, new_cells
        FROM old_rows o JOIN new_rows w ON w.id = o.id
        WHERE ST_AsEWKB(o.geom) IS DISTINCT FROM ST_AsEWKB(w.geom);
    END IF;
    IF n = 0 THEN
        RETURN NULL;
    ELSIF n IS NULL OR n > 20000 THEN  -- emptied, or a bulk change: the whole class at once
        ids := NULL;
    END IF;
    IF current_user = 'riskmap_scoped' THEN
        PERFORM riskmap_site_cells_moved_by_scoped(site_kind, ids, old_cells, new_cells);
    ELSE
        PERFORM riskmap_site_cells_moved(site_kind, tbl, ids, old_cells, new_cells);
    END IF;
    RETURN NULL;
END
$$;

DROP FUNCTION riskmap_site_cells_rescored(text, bigint[]);
DROP FUNCTION riskmap_site_cells_moved_by_scoped(text, bigint[], integer[]);
DROP FUNCTION riskmap_site_cells_moved(text, regclass, bigint[], integer[]);
DROP FUNCTION riskmap_site_cells_count(text, regclass, integer[]);
