-- GET /exposure, for a user of every area: the level of the grouped squares (exposure_grid, migration 0024) whose
-- size is the grid %(level)s asks for, kept between 0 and the finest level stored, and the number of cells in
-- the box (float4 bounding boxes overlapping it, as exposure_points.sql takes them), counted from the squares
-- that lie wholly inside the box and the cells of the squares along its edges: a few hundred rows at any zoom
-- instead of every cell.  NULLs when there is no exposure surface.
WITH level AS (
    SELECT least(greatest(%(level)s::integer, 0), max(level)) AS k FROM exposure_grid
), square AS (
    SELECT k, 14.0625::float8 / 2.0::float8 ^ k AS size FROM level WHERE k IS NOT NULL
), inner_squares AS (  -- the squares wholly inside the box
    SELECT k, size, ceil(%(x0)s::float8 / size)::integer AS lo_x, floor(%(x1)s::float8 / size)::integer - 1 AS hi_x,
           ceil(%(y0)s::float8 / size)::integer AS lo_y, floor(%(y1)s::float8 / size)::integer - 1 AS hi_y
    FROM square
)
SELECT i.k,
       coalesce((SELECT sum(g.cells) FROM exposure_grid g
                 WHERE g.level = i.k AND g.gx BETWEEN i.lo_x AND i.hi_x AND g.gy BETWEEN i.lo_y AND i.hi_y), 0)
       + (SELECT count(*) FROM exposure_cell c
          WHERE c.geom && ST_MakeEnvelope(%(x0)s::float8, %(y0)s::float8, %(x1)s::float8, %(y1)s::float8, 4326)
            AND (c.geom && ST_MakeEnvelope(%(x0)s::float8, %(y0)s::float8, i.lo_x * i.size, %(y1)s::float8, 4326)
                 OR c.geom && ST_MakeEnvelope((i.hi_x + 1) * i.size, %(y0)s::float8, %(x1)s::float8, %(y1)s::float8, 4326)
                 OR c.geom && ST_MakeEnvelope(%(x0)s::float8, %(y0)s::float8, %(x1)s::float8, i.lo_y * i.size, 4326)
                 OR c.geom && ST_MakeEnvelope(%(x0)s::float8, (i.hi_y + 1) * i.size, %(x1)s::float8, %(y1)s::float8, 4326))
            AND NOT (floor(ST_X(c.geom) / i.size) BETWEEN i.lo_x AND i.hi_x
                     AND floor(ST_Y(c.geom) / i.size) BETWEEN i.lo_y AND i.hi_y))
FROM inner_squares i
