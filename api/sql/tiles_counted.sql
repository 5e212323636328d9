-- A vector tile of a layer at zooms where its features are counted instead of drawn (sites below zoom 10, H3
-- cells while narrower than a few pixels): the tile is cut into %(cells)s x %(cells)s square cells and each cell
-- holding features is one point at the cell's centre with the number of features per level, their worst level
-- and highest score.  The features counted are the rows (geom, level, score) of the layer's query, filled in below:
-- tiles_sites_counted.sql or tiles_areas_counted.sql.  A feature counts in the cell of its point on surface (clamped into the tile, for a
-- polygon that only reaches into it), so the counts of a tile add up to the features whose geometry meets it,
-- exactly those the layer's detailed tiles draw.  The same data always gives the same bytes.
-- Parameters: z, x, y, extent, cells (a divisor of extent), layer, levels (lowest first), and the layer query's.
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS degrees
),
placed AS (
    SELECT least(greatest(floor((ST_X(p.pt) - ST_XMin(b.mercator)) * %(cells)s
                                / (ST_XMax(b.mercator) - ST_XMin(b.mercator)))::integer, 0), %(cells)s - 1) AS cx,
           least(greatest(floor((ST_YMax(b.mercator) - ST_Y(p.pt)) * %(cells)s
                                / (ST_YMax(b.mercator) - ST_YMin(b.mercator)))::integer, 0), %(cells)s - 1) AS cy,
           s.level, s.score
    FROM ({counted}) s
    CROSS JOIN bounds b
    CROSS JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(s.geom), 3857) AS pt) p
    WHERE s.geom && b.degrees AND ST_Intersects(s.geom, b.degrees)
),
cells AS (
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
SELECT coalesce(ST_AsMVT(cells, %(layer)s, %(extent)s, 'geom'
                        ORDER BY ST_Y(cells.geom), ST_X(cells.geom)), '')
FROM cells
