-- A vector tile (Mapbox Vector Tile 2.1, ST_AsMVT) of one class of sites (table {table}, kind %(kind)s) at zooms
-- where each site is its own feature: the sites whose geometry meets the tile (ST_TileEnvelope, Web Mercator,
-- XYZ), each with what a map draws and labels: its id as the feature's id, its name, score, level and the direct-red
-- rule that made it red (absent unless one did: ST_AsMVT leaves NULLs out).  The top factors and the rest are for a
-- click on the feature: GET /features/<kind>/<id> and the OGC items carry them, not every feature of every tile,
-- where a text unique to each site is most of the bytes.  A polygon too small to survive at this zoom is drawn at its
-- point on surface, so that every site of the box is in its tile.  The tile's box in degrees is a rectangle too
-- (Web Mercator maps parallels and meridians to straight lines), so the GiST index on geom finds the candidates.
-- The same data always gives the same bytes (the ETag is a hash of them).
-- Parameters: z, x, y, extent (tile units), buffer (units), layer (the layer's name in the tile), kind.
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS degrees
),
tile_rows AS (
    SELECT f.id AS fid, f.name, round(r.score::numeric, 2)::double precision AS score, r.level, r.direct_red,
           coalesce(ST_AsMVTGeom(ST_Transform(f.geom, 3857), b.mercator, %(extent)s, %(buffer)s, true),
                    ST_AsMVTGeom(ST_Transform(ST_PointOnSurface(f.geom), 3857), b.mercator, %(extent)s,
                                 %(buffer)s, true)) AS geom
    FROM {table} f
    CROSS JOIN bounds b
    LEFT JOIN feature_risk r ON r.kind = %(kind)s AND r.feature_id = f.id
    WHERE f.geom && b.degrees AND ST_Intersects(f.geom, b.degrees)
)
-- (ORDER BY in the aggregate: the same rows always make the same bytes, never combined in parallel)
SELECT coalesce(ST_AsMVT(tile_rows, %(layer)s, %(extent)s, 'geom', 'fid'
                        ORDER BY tile_rows.fid), '')
FROM tile_rows
