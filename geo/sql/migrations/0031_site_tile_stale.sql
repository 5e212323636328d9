-- 0031: a bulk change leaves a class's kept tile counts (site_tile_cell, migrations 0026/0029) to be counted by the
-- scoring run that follows it, instead of counting the whole class in the change's own transaction (issue 16: a
-- bulk import of 1,000,000 enterprises counted them again at its end, 3.1 s of its 12.0 s, and the scoring run that
-- followed counted them once more, as a full run does).
--
-- A statement changing more than 20,000 sites of a class (an import's COPY, a bulk UPDATE), and a bulk import that
-- swaps a table in (geo/shadow_table.py), now mark the class stale: its kept rows are deleted and the class is
-- listed in site_tile_stale.  While it is listed, its low-zoom tiles are counted from the sites at request time
-- (api/routes/tiles.py: the same tile, byte for byte, as for a user limited to areas), and the changes that follow
-- keep no difference (there are no counts to change).  The next scoring run that stores scores of the class counts
-- it whole (riskmap_site_cells_rescored; a bulk change is followed by one: every site it changed is re-scored, and
-- more than 20,000 of them is a whole count anyway) and takes it off the list.  A count of the whole class
-- (riskmap_site_cells_count) always does.  A TRUNCATE marks the class too (its tiles, counted live, are empty).
--
-- Marking and counting both take the class's lock exclusive (riskmap_site_cells_lock), so a count that started
-- before a bulk change committed cannot take the class off the list after it: the mark waits for that count, or
-- the count waits for the mark's transaction and then counts what it committed.
CREATE TABLE site_tile_stale (
    kind text PRIMARY KEY,                      -- enterprise, tailings_pond, venue
    since timestamptz NOT NULL DEFAULT now()    -- when the bulk change was made (its transaction's start)
);
ALTER TABLE site_tile_stale ENABLE ROW LEVEL SECURITY;  -- as site_tile_cell: no policy, its owner alone reads it

-- Whether the kept counts of ``kind`` are waiting for a whole count.
CREATE FUNCTION riskmap_site_cells_stale(kind text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM site_tile_stale s WHERE s.kind = riskmap_site_cells_stale.kind)
$$;

-- Mark the class ``kind`` stale (see the top of this file).
CREATE FUNCTION riskmap_site_cells_mark_stale(kind text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM riskmap_site_cells_lock(kind, NULL);
    DELETE FROM site_tile_cell c WHERE c.kind = riskmap_site_cells_mark_stale.kind;
    DELETE FROM site_tile_span s WHERE s.kind = riskmap_site_cells_mark_stale.kind;
    INSERT INTO site_tile_stale (kind) VALUES (riskmap_site_cells_mark_stale.kind)
    ON CONFLICT ON CONSTRAINT site_tile_stale_pkey DO UPDATE SET since = excluded.since;
END
$$;

-- A whole count (0029's) takes the class off the list.
CREATE OR REPLACE FUNCTION riskmap_site_cells_count(kind text, tbl regclass) RETURNS void
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
    DELETE FROM site_tile_stale s WHERE s.kind = riskmap_site_cells_count.kind;
END
$$;

-- A scoring run stored new scores (0029's): a stale class is counted whole, whatever the number of sites rescored.
CREATE OR REPLACE FUNCTION riskmap_site_cells_rescored(kind text, ids bigint[], was_ids bigint[], was_levels text[],
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
    IF ids IS NULL OR cardinality(ids) > 20000 OR riskmap_site_cells_stale(kind) THEN
        PERFORM riskmap_site_cells_count(kind, kind::regclass);
        RETURN;
    END IF;
    PERFORM riskmap_site_cells_lock(kind, ids);
    IF riskmap_site_cells_stale(kind) THEN  -- (marked while this waited for the lock: counted whole)
        PERFORM riskmap_site_cells_count(kind, kind::regclass);
        RETURN;
    END IF;
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

-- Sites inserted, moved or deleted (0029's): ``ids`` NULL (a bulk change or a TRUNCATE) marks the class stale
-- instead of counting it; a stale class keeps no difference.
CREATE OR REPLACE FUNCTION riskmap_site_cells_moved(kind text, tbl regclass, ids bigint[], old_cells integer[],
                                                    new_cells integer[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cells integer[];
    signs integer[];
    levels text[];
    scores double precision[];
BEGIN
    IF ids IS NULL THEN
        PERFORM riskmap_site_cells_mark_stale(kind);
        RETURN;
    END IF;
    PERFORM riskmap_site_cells_lock(kind, ids);
    IF riskmap_site_cells_stale(kind) THEN  -- (after the lock: a mark committed before it is seen)
        RETURN;
    END IF;
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
