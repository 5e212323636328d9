-- GET /exposure, for a user of every area, when the box holds more cells than it may return: the answer of
-- exposure_points.sql grouped on squares of %(size)s = 14.0625 / 2^%(level)s degrees, read mostly from the
-- squares kept ready (exposure_grid, migration 0024).  A square wholly inside the box is its stored hottest cell;
-- a square along the box's edge is grouped from its cells in the box, as exposure_points.sql groups them, so
-- the points are exactly those exposure_points.sql gives for the grid %(size)s.
WITH inner_squares AS (
    SELECT ceil(%(x0)s / %(size)s)::integer AS lo_x, floor(%(x1)s / %(size)s)::integer - 1 AS hi_x,
           ceil(%(y0)s / %(size)s)::integer AS lo_y, floor(%(y1)s / %(size)s)::integer - 1 AS hi_y
), edge AS (  -- the cells in the box outside those squares, each edge square's hottest
    SELECT DISTINCT ON (gx, gy) x, y, value, resolution
    FROM (SELECT ST_X(c.geom) AS x, ST_Y(c.geom) AS y, c.value, c.resolution,
                 floor(ST_X(c.geom) / %(size)s) AS gx, floor(ST_Y(c.geom) / %(size)s) AS gy
          FROM exposure_cell c, inner_squares i
          WHERE c.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
            AND (c.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, i.lo_x * %(size)s, %(y1)s, 4326)
                 OR c.geom && ST_MakeEnvelope((i.hi_x + 1) * %(size)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                 OR c.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, i.lo_y * %(size)s, 4326)
                 OR c.geom && ST_MakeEnvelope(%(x0)s, (i.hi_y + 1) * %(size)s, %(x1)s, %(y1)s, 4326))
         ) cells, inner_squares i
    WHERE NOT (gx BETWEEN i.lo_x AND i.hi_x AND gy BETWEEN i.lo_y AND i.hi_y)
    ORDER BY gx, gy, value DESC, x, y
), points AS (
    SELECT g.x, g.y, g.value, g.resolution
    FROM exposure_grid g, inner_squares i
    WHERE g.level = %(level)s AND g.gx BETWEEN i.lo_x AND i.hi_x AND g.gy BETWEEN i.lo_y AND i.hi_y
    UNION ALL
    SELECT x, y, value, resolution FROM edge
)
SELECT json_build_object(
    'cell_m', (SELECT max(resolution) FROM points),
    'grid_deg', %(size)s,
    'max', coalesce((SELECT round(max(value)::numeric, 3) FROM points), 0),
    'points', coalesce((SELECT json_agg(json_build_array(round(x::numeric, 5), round(y::numeric, 5),
                                                         round(value::numeric, 3)))
                        FROM points), '[]'::json))::text
