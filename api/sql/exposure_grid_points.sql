-- GET /exposure, for a user of every area, when the box holds more cells than it may return: the answer of
-- exposure_points.sql grouped on squares of %(size)s = 14.0625 / 2^%(level)s degrees, read mostly from the
-- squares kept ready (exposure_grid, migration 0024).  A square wholly inside the box is its stored hottest cell;
-- a square along the box's edge is grouped from its cells in the box, as exposure_points.sql groups them, so
-- the points are exactly those exposure_points.sql gives for the grid %(size)s.
WITH inner_squares AS (
    SELECT ceil(%(x0)s::float8 / %(size)s::float8)::integer AS lo_x, floor(%(x1)s::float8 / %(size)s::float8)::integer - 1 AS hi_x,
           ceil(%(y0)s::float8 / %(size)s::float8)::integer AS lo_y, floor(%(y1)s::float8 / %(size)s::float8)::integer - 1 AS hi_y
), edge AS (  -- the cells in the box outside those squares, each edge square's hottest
    SELECT DISTINCT ON (gx, gy) x, y, value, resolution
    FROM (SELECT ST_X(c.geom) AS x, ST_Y(c.geom) AS y, c.value, c.resolution,
                 floor(ST_X(c.geom) / %(size)s::float8) AS gx, floor(ST_Y(c.geom) / %(size)s::float8) AS gy
          FROM exposure_cell c, inner_squares i
          WHERE c.geom && ST_MakeEnvelope(%(x0)s::float8, %(y0)s::float8, %(x1)s::float8, %(y1)s::float8, 4326)
            AND (c.geom && ST_MakeEnvelope(%(x0)s::float8, %(y0)s::float8, i.lo_x * %(size)s::float8, %(y1)s::float8, 4326)
                 OR c.geom && ST_MakeEnvelope((i.hi_x + 1) * %(size)s::float8, %(y0)s::float8, %(x1)s::float8, %(y1)s::float8, 4326)
                 OR c.geom && ST_MakeEnvelope(%(x0)s::float8, %(y0)s::float8, %(x1)s::float8, i.lo_y * %(size)s::float8, 4326)
                 OR c.geom && ST_MakeEnvelope(%(x0)s::float8, (i.hi_y + 1) * %(size)s::float8, %(x1)s::float8, %(y1)s::float8, 4326))
         ) cells, inner_squares i
    WHERE NOT (gx BETWEEN i.lo_x AND i.hi_x AND gy BETWEEN i.lo_y AND i.hi_y)
    ORDER BY gx, gy, value DESC, x, y
), points AS (
    SELECT g.value, g.resolution, g.point
    FROM exposure_grid g, inner_squares i
    WHERE g.level = %(level)s::integer AND g.gx BETWEEN i.lo_x AND i.hi_x AND g.gy BETWEEN i.lo_y AND i.hi_y
    UNION ALL
    SELECT value, resolution, riskmap_exposure_point(x, y, value) FROM edge
)
-- (the document written as text: the points' text is kept ready, and building 10,000 JSON arrays again took most
-- of the time)
SELECT '{"cell_m": ' || coalesce(max(resolution)::text, 'null') || ', "grid_deg": ' || %(size)s::float8
       || ', "max": ' || coalesce(round(max(value)::numeric, 3), 0) || ', "points": ['
       || coalesce(string_agg(point, ', '), '') || ']}'
FROM points
