-- A vector tile of the hidden dangers at low zooms: counted per level of their site in %(cells)s x %(cells)s
-- squares of the tile (as tiles_counted.sql counts sites), with the open and the major ones counted too.
-- Parameters: z, x, y, extent, cells, layer, levels (lowest first).
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS degrees
),
{placed},
squares AS (
    SELECT count(*)::integer AS count,
           (count(*) FILTER (WHERE p.level = 'red'))::integer AS red,
           (count(*) FILTER (WHERE p.level = 'orange'))::integer AS orange,
           (count(*) FILTER (WHERE p.level = 'yellow'))::integer AS yellow,
           (count(*) FILTER (WHERE p.level = 'blue'))::integer AS blue,
           (count(*) FILTER (WHERE p.level IS NULL))::integer AS unscored,
           (count(*) FILTER (WHERE p.status IN ('open', 'reopened')))::integer AS open,
           (count(*) FILTER (WHERE p.grade = 'major'))::integer AS major,
           (%(levels)s::text[])[max(array_position(%(levels)s::text[], p.level))] AS level,
           round(max(p.score)::numeric, 2)::double precision AS score,
           ST_Point((q.cx + 0.5) * (%(extent)s / %(cells)s), (q.cy + 0.5) * (%(extent)s / %(cells)s)) AS geom
    FROM placed p
    CROSS JOIN bounds b
    CROSS JOIN LATERAL (
        SELECT least(greatest(floor((ST_X(m.pt) - ST_XMin(b.mercator)) * %(cells)s
                                    / (ST_XMax(b.mercator) - ST_XMin(b.mercator)))::integer, 0), %(cells)s - 1) AS cx,
               least(greatest(floor((ST_YMax(b.mercator) - ST_Y(m.pt)) * %(cells)s
                                    / (ST_YMax(b.mercator) - ST_YMin(b.mercator)))::integer, 0), %(cells)s - 1) AS cy
        FROM (SELECT ST_Transform(p.pt, 3857) AS pt) m) q
    GROUP BY q.cy, q.cx
)
-- (ORDER BY in the aggregate: the same rows always make the same bytes, never combined in parallel)
SELECT coalesce(ST_AsMVT(squares, %(layer)s, %(extent)s, 'geom'
                        ORDER BY ST_Y(squares.geom), ST_X(squares.geom)), '')
FROM squares
