-- A vector tile of one class of sites (kind %(kind)s) below zoom 10, from the counts kept ready per zoom-14 tile
-- (site_tile_cell, migration 0026): the same tile, byte for byte, as tiles_counted.sql counting the sites
-- (tiles_sites_counted.sql) gives, without reading them.  The tile is cut into %(cells)s x %(cells)s cells (32: a
-- cell of a zoom-z tile is 2^(9-z) x 2^(9-z) zoom-14 tiles); each cell holding sites is one point at its centre
-- with the sites per level, their worst level and highest score.  The few sites whose geometry spans zoom-14 tiles
-- (site_tile_span) are counted here as tiles_counted.sql counts them: in the cell of their point on surface,
-- clamped into the tile, in every tile they meet.  For users of every area only (the kept counts mix areas).
-- Parameters: z (0 to 9), x, y, extent, cells (32), layer, levels (lowest first), kind.
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS degrees
),
kept AS (
    SELECT (c.cx >> (9 - %(z)s)) - %(x)s * %(cells)s AS cx, (c.cy >> (9 - %(z)s)) - %(y)s * %(cells)s AS cy,
           c.count, c.red, c.orange, c.yellow, c.blue, c.unscored, c.score
    FROM site_tile_cell c
    WHERE c.kind = %(kind)s
      AND c.cx BETWEEN %(x)s << (14 - %(z)s) AND ((%(x)s + 1) << (14 - %(z)s)) - 1
      AND c.cy BETWEEN %(y)s << (14 - %(z)s) AND ((%(y)s + 1) << (14 - %(z)s)) - 1
),
spanning AS (
    SELECT least(greatest(floor((ST_X(p.pt) - ST_XMin(b.mercator)) * %(cells)s
                                / (ST_XMax(b.mercator) - ST_XMin(b.mercator)))::integer, 0), %(cells)s - 1) AS cx,
           least(greatest(floor((ST_YMax(b.mercator) - ST_Y(p.pt)) * %(cells)s
                                / (ST_YMax(b.mercator) - ST_YMin(b.mercator)))::integer, 0), %(cells)s - 1) AS cy,
           1 AS count, (r.level = 'red')::integer AS red, (r.level = 'orange')::integer AS orange,
           (r.level = 'yellow')::integer AS yellow, (r.level = 'blue')::integer AS blue,
           (r.level IS NULL)::integer AS unscored, r.score
    FROM site_tile_span s
    CROSS JOIN bounds b
    LEFT JOIN feature_risk r ON r.kind = %(kind)s AND r.feature_id = s.feature_id
    CROSS JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(s.geom), 3857) AS pt) p
    WHERE s.kind = %(kind)s AND s.geom && b.degrees AND ST_Intersects(s.geom, b.degrees)
),
cells AS (
    SELECT sum(count)::integer AS count, sum(red)::integer AS red, sum(orange)::integer AS orange,
           sum(yellow)::integer AS yellow, sum(blue)::integer AS blue, sum(unscored)::integer AS unscored,
           CASE WHEN sum(red) > 0 THEN 'red' WHEN sum(orange) > 0 THEN 'orange' WHEN sum(yellow) > 0 THEN 'yellow'
                WHEN sum(blue) > 0 THEN 'blue' END AS level,
           round(max(score)::numeric, 2)::double precision AS score,
           ST_Point((cx + 0.5) * (%(extent)s / %(cells)s), (cy + 0.5) * (%(extent)s / %(cells)s)) AS geom
    FROM (SELECT * FROM kept UNION ALL SELECT * FROM spanning) u
    GROUP BY cy, cx
)
-- (ORDER BY in the aggregate: the same rows always make the same bytes, never combined in parallel)
SELECT coalesce(ST_AsMVT(cells, %(layer)s, %(extent)s, 'geom'
                        ORDER BY ST_Y(cells.geom), ST_X(cells.geom)), '')
FROM cells
