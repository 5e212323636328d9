-- A vector tile of the scored pipeline segments (about 1 km each) that meet the tile, each with its id as the
-- feature's id, its pipeline, score, level and direct-red rule (absent unless one made it red); the top factors are
-- for a click (GET /features/pipeline_segment/<id>, the OGC items).  The same data always gives the same bytes.
-- Parameters: z, x, y, extent, buffer, layer.
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS degrees
),
tile_rows AS (
    SELECT s.id AS fid, s.pipeline_id, p.name, s.seq, round(r.score::numeric, 2)::double precision AS score,
           r.level, r.direct_red,
           ST_AsMVTGeom(ST_Transform(s.geom, 3857), b.mercator, %(extent)s, %(buffer)s, true) AS geom
    FROM pipeline_segment s
    CROSS JOIN bounds b
    JOIN pipeline p ON p.id = s.pipeline_id
    LEFT JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = s.id
    WHERE s.geom && b.degrees AND ST_Intersects(s.geom, b.degrees)
)
-- (ORDER BY in the aggregate: the same rows always make the same bytes, never combined in parallel)
SELECT coalesce(ST_AsMVT(tile_rows, %(layer)s, %(extent)s, 'geom', 'fid'
                        ORDER BY tile_rows.fid), '')
FROM tile_rows
