-- 0038: the exposure cells' point texts computed inline, and once (issue 18: the exposure writes of a national run).
--
-- riskmap_exposure_point (migration 0024) is declared IMMUTABLE, but its body joined text to numeric with the
-- `text || anynonarray` operator, which is only STABLE: PostgreSQL does not inline a function whose body is more
-- volatile than the function, so every call ran as a statement of its own through the SQL-function executor, about
-- 10 µs a call.  A full scoring run called it twice a cell: once for exposure_cell's generated column (migration
-- 0033) and once more when the trigger of 0024 recomputed the finest level of the heatmap's squares from the cells
-- (2,487,614 calls, 26 s of statement time, at a million national features: bench/scale/growth.py --scales 0.16).
--
-- The same text, built with explicit numeric-to-text casts (numeric_out, immutable: the text the operator wrote),
-- so the body is as immutable as the function and the planner inlines it (about 2 µs a call); and the finest
-- squares take the point their hottest cell already keeps (exposure_cell.point: this function of the same cell)
-- instead of computing it again for every cell.  The rows are the same, character for character.

CREATE OR REPLACE FUNCTION riskmap_exposure_point(x double precision, y double precision, value double precision)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '[' || round(x::numeric, 5)::text || ',' || round(y::numeric, 5)::text || ','
           || round(value::numeric, 3)::text || ']'
$$;

-- As in 0024, but the finest level takes each square's hottest cell's kept point.
CREATE OR REPLACE FUNCTION riskmap_exposure_grid_refresh(x0 double precision, y0 double precision,
                                                         x1 double precision, y1 double precision) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    finest integer;
    size double precision;
    k integer;
    lo_x integer; lo_y integer; hi_x integer; hi_y integer;  -- the squares to recompute at level k
    rows integer := 0;
    n integer;
BEGIN
    IF x0 IS NULL THEN
        DELETE FROM exposure_grid;
    END IF;
    SELECT riskmap_exposure_grid_finest(max(resolution)) INTO finest FROM exposure_cell;
    IF finest IS NULL THEN  -- no cells at all: no squares
        DELETE FROM exposure_grid;
        RETURN 0;
    END IF;
    -- levels finer than the cells' own, left from a model with smaller cells
    DELETE FROM exposure_grid WHERE level > finest;
    size := 14.0625::float8 / 2.0::float8 ^ finest;
    IF x0 IS NULL THEN
        SELECT floor(min(ST_X(geom)) / size), floor(min(ST_Y(geom)) / size),
               floor(max(ST_X(geom)) / size), floor(max(ST_Y(geom)) / size)
        INTO lo_x, lo_y, hi_x, hi_y FROM exposure_cell;
    ELSE
        lo_x := floor(x0 / size); lo_y := floor(y0 / size); hi_x := floor(x1 / size); hi_y := floor(y1 / size);
        DELETE FROM exposure_grid WHERE level = finest AND gx BETWEEN lo_x AND hi_x AND gy BETWEEN lo_y AND hi_y;
    END IF;
    INSERT INTO exposure_grid (level, gx, gy, x, y, value, resolution, cells, point)
    SELECT DISTINCT ON (c.gx, c.gy) finest, c.gx, c.gy, c.x, c.y, c.value, c.resolution,
           count(*) OVER (PARTITION BY c.gx, c.gy), c.point
    FROM (SELECT floor(ST_X(geom) / size)::integer AS gx, floor(ST_Y(geom) / size)::integer AS gy,
                 ST_X(geom) AS x, ST_Y(geom) AS y, value, resolution, point
          FROM exposure_cell
          WHERE geom && ST_MakeEnvelope(lo_x * size, lo_y * size, (hi_x + 1) * size, (hi_y + 1) * size, 4326)) c
    WHERE c.gx BETWEEN lo_x AND hi_x AND c.gy BETWEEN lo_y AND hi_y
    ORDER BY c.gx, c.gy, c.value DESC, c.x, c.y;
    GET DIAGNOSTICS n = ROW_COUNT;
    rows := rows + n;
    FOR k IN REVERSE finest - 1 .. 0 LOOP
        lo_x := lo_x >> 1; lo_y := lo_y >> 1; hi_x := hi_x >> 1; hi_y := hi_y >> 1;  -- (arithmetic shifts: floor halves)
        DELETE FROM exposure_grid WHERE level = k AND gx BETWEEN lo_x AND hi_x AND gy BETWEEN lo_y AND hi_y;
        INSERT INTO exposure_grid (level, gx, gy, x, y, value, resolution, cells, point)
        SELECT DISTINCT ON (f.gx >> 1, f.gy >> 1) k, f.gx >> 1, f.gy >> 1, f.x, f.y, f.value, f.resolution,
               sum(f.cells) OVER (PARTITION BY f.gx >> 1, f.gy >> 1), f.point
        FROM exposure_grid f
        WHERE f.level = k + 1 AND f.gx BETWEEN 2 * lo_x AND 2 * hi_x + 1 AND f.gy BETWEEN 2 * lo_y AND 2 * hi_y + 1
        ORDER BY f.gx >> 1, f.gy >> 1, f.value DESC, f.x, f.y;
        GET DIAGNOSTICS n = ROW_COUNT;
        rows := rows + n;
    END LOOP;
    RETURN rows;
END
$$;
