-- 0024: the exposure heatmap's grouped points, kept ready for every zoom (issue 15, load: GET /exposure was the
-- costliest request of the map, 35-50 ms of PostgreSQL for a zoom-10 view, grouping 26,000 cells on every call).
--
-- GET /exposure groups the cells of a large view on a square grid and keeps each square's hottest cell.  The grid
-- sizes it uses form a ladder, L(k) = 14.0625 / 2^k degrees (k = 0, 1, ...: 14.0625 degrees is ten pixels of a
-- map at zoom 0, so L(k) is ten pixels at zoom k), and for each size this table holds every square's hottest
-- cell: square (gx, gy) of level k holds the cells with floor(lon / L(k)) = gx and floor(lat / L(k)) = gy.  A
-- square of level k is exactly four squares of level k + 1 (L(k) / 2 is exact in floating point, so
-- floor(floor(lon / L(k+1)) / 2) = floor(lon / L(k))), so each level is computed from the one below, and the
-- finest from the cells.  Ties go as GET /exposure breaks them: the larger value, then the smaller lon, then the
-- smaller lat.
--
-- Only users of every area read it (api/routes/exposure.py): a square mixes counties, so row-level security with
-- no policy for riskmap_scoped keeps it from a user limited to areas, whose heatmap is grouped from the cells
-- they may see, at request time, as before.
CREATE TABLE exposure_grid (
    level smallint NOT NULL,            -- k: squares of 14.0625 / 2^k degrees
    gx integer NOT NULL,                -- floor(lon / L(k))
    gy integer NOT NULL,                -- floor(lat / L(k))
    x double precision NOT NULL,        -- the square's hottest cell: its centre
    y double precision NOT NULL,
    value double precision NOT NULL,    -- and its exposure
    resolution integer NOT NULL,        -- the cell's size in metres (exposure_cell.resolution)
    cells integer NOT NULL,             -- the cells in the square
    point text NOT NULL,                -- [x, y, value] as GET /exposure writes it (5, 5 and 3 decimals)
    PRIMARY KEY (level, gx, gy)
);
ALTER TABLE exposure_grid ENABLE ROW LEVEL SECURITY;  -- no policy: its owner alone reads it

-- The finest level worth keeping for cells of ``cell_m`` metres: the last whose squares are at least a cell high
-- (111,320 m a degree of latitude); finer squares would hold one cell each.
CREATE FUNCTION riskmap_exposure_grid_finest(cell_m double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT greatest(0, floor(log(2.0, (14.0625 / (cell_m / 111320.0))::numeric))::integer)
$$;

-- A point as GET /exposure writes it: [lon, lat, value], rounded to 5, 5 and 3 decimals.
CREATE FUNCTION riskmap_exposure_point(x double precision, y double precision, value double precision) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '[' || round(x::numeric, 5) || ',' || round(y::numeric, 5) || ',' || round(value::numeric, 3) || ']'
$$;

-- Recompute the squares holding cells whose centre lies in the box (x0, y0, x1, y1), at every level; NULLs: all
-- of them.  Run by the triggers below after every statement that changes exposure_cell.
CREATE FUNCTION riskmap_exposure_grid_refresh(x0 double precision, y0 double precision, x1 double precision,
                                              y1 double precision) RETURNS integer
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
           count(*) OVER (PARTITION BY c.gx, c.gy), riskmap_exposure_point(c.x, c.y, c.value)
    FROM (SELECT floor(ST_X(geom) / size)::integer AS gx, floor(ST_Y(geom) / size)::integer AS gy,
                 ST_X(geom) AS x, ST_Y(geom) AS y, value, resolution
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

-- Whoever writes exposure_cell (a scoring run, by difference or in full; a script), the squares follow in the same
-- transaction: those around the cells a statement wrote or deleted are computed again.
CREATE FUNCTION riskmap_exposure_grid_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed box2d;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM riskmap_exposure_grid_refresh(NULL, NULL, NULL, NULL);
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT ST_Extent(geom) INTO changed FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT ST_Extent(geom) INTO changed FROM old_rows;
    ELSE
        SELECT ST_Extent(geom) INTO changed FROM (SELECT geom FROM old_rows UNION ALL SELECT geom FROM new_rows) u;
    END IF;
    IF changed IS NOT NULL THEN
        PERFORM riskmap_exposure_grid_refresh(ST_XMin(changed), ST_YMin(changed), ST_XMax(changed), ST_YMax(changed));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER exposure_grid_ins AFTER INSERT ON exposure_cell REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION riskmap_exposure_grid_follow();
CREATE TRIGGER exposure_grid_upd AFTER UPDATE ON exposure_cell REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION riskmap_exposure_grid_follow();
CREATE TRIGGER exposure_grid_del AFTER DELETE ON exposure_cell REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION riskmap_exposure_grid_follow();
CREATE TRIGGER exposure_grid_trunc AFTER TRUNCATE ON exposure_cell
    FOR EACH STATEMENT EXECUTE FUNCTION riskmap_exposure_grid_follow();

SELECT riskmap_exposure_grid_refresh(NULL, NULL, NULL, NULL);
