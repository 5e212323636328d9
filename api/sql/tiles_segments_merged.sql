-- A vector tile of the pipelines at low zooms: the segments that meet the tile merged per pipeline and level into
-- one line each, simplified to the tile's resolution, with the number of segments and their highest score.
-- The same data always gives the same bytes.
-- Parameters: z, x, y, extent, buffer, layer, levels (lowest first).
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS degrees
),
merged AS (
    SELECT s.pipeline_id, r.level, count(*)::integer AS segments,
           round(max(r.score)::numeric, 2)::double precision AS score,
           ST_LineMerge(ST_Collect(ST_Transform(s.geom, 3857) ORDER BY s.seq)) AS line
    FROM pipeline_segment s
    CROSS JOIN bounds b
    LEFT JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = s.id
    WHERE s.geom && b.degrees AND ST_Intersects(s.geom, b.degrees)
    GROUP BY s.pipeline_id, r.level
),
tile_rows AS (
    SELECT m.pipeline_id, p.name, m.level, m.segments, m.score,
           ST_AsMVTGeom(ST_Simplify(m.line, (ST_XMax(b.mercator) - ST_XMin(b.mercator)) / %(extent)s),
                        b.mercator, %(extent)s, %(buffer)s, true) AS geom
    FROM merged m
    CROSS JOIN bounds b
    JOIN pipeline p ON p.id = m.pipeline_id
)
-- (ORDER BY in the aggregate: the same rows always make the same bytes, never combined in parallel)
SELECT coalesce(ST_AsMVT(tile_rows, %(layer)s, %(extent)s, 'geom'
                        ORDER BY tile_rows.pipeline_id, tile_rows.level NULLS FIRST), '')
FROM tile_rows
