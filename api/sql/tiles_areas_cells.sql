-- A vector tile of the H3 cells of one resolution at zooms where a cell would be drawn smaller than a few pixels:
-- the tile is cut into %(cells)s x %(cells)s squares and each square holding cells is one point at its centre with
-- the number of cells per level, their worst level and highest score (as tiles_sites_cells.sql counts sites).  A
-- cell counts in the square of its point on surface, clamped into the tile, so the counts add up to the cells
-- meeting the tile.  The same data always gives the same bytes.
-- Parameters: z, x, y, extent, cells (a divisor of extent), layer, area_type, resolution, levels (lowest first).
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS degrees
),
placed AS (
    SELECT least(greatest(floor((ST_X(p.pt) - ST_XMin(b.mercator)) * %(cells)s
                                / (ST_XMax(b.mercator) - ST_XMin(b.mercator)))::integer, 0), %(cells)s - 1) AS cx,
           least(greatest(floor((ST_YMax(b.mercator) - ST_Y(p.pt)) * %(cells)s
                                / (ST_YMax(b.mercator) - ST_YMin(b.mercator)))::integer, 0), %(cells)s - 1) AS cy,
           r.level, r.score
    FROM area_risk r
    CROSS JOIN bounds b
    CROSS JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(r.geom), 3857) AS pt) p
    WHERE r.area_type = %(area_type)s AND r.resolution = %(resolution)s
      AND r.geom && b.degrees AND ST_Intersects(r.geom, b.degrees)
),
squares AS (
    SELECT count(*)::integer AS count,
           (count(*) FILTER (WHERE level = 'red'))::integer AS red,
           (count(*) FILTER (WHERE level = 'orange'))::integer AS orange,
           (count(*) FILTER (WHERE level = 'yellow'))::integer AS yellow,
           (count(*) FILTER (WHERE level = 'blue'))::integer AS blue,
           (count(*) FILTER (WHERE level IS NULL))::integer AS unscored,
           (%(levels)s::text[])[max(array_position(%(levels)s::text[], level))] AS level,
           round(max(score)::numeric, 2)::double precision AS score,
           ST_Point((cx + 0.5) * (%(extent)s / %(cells)s), (cy + 0.5) * (%(extent)s / %(cells)s)) AS geom
    FROM placed
    GROUP BY cy, cx
)
-- (ORDER BY in the aggregate: the same rows always make the same bytes, never combined in parallel)
SELECT coalesce(ST_AsMVT(squares, %(layer)s, %(extent)s, 'geom'
                        ORDER BY ST_Y(squares.geom), ST_X(squares.geom)), '')
FROM squares
