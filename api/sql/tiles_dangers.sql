-- A vector tile of the hidden dangers (records), each at its site's point on surface (tiles_dangers_placed.sql),
-- with its id as the feature's id, its grade, status, dates and its site's score and level (the site's top factors
-- are for a click: GET /features/<kind>/<id>).  Several dangers of one site are several features at one point.  The
-- same data always gives the same bytes.
-- Parameters: z, x, y, extent, buffer, layer.
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS degrees
),
{placed},
tile_rows AS (
    SELECT p.id AS fid, p.source_id, p.site_name AS name, p.description, p.grade, p.status,
           p.found_on::text AS found_on, p.deadline::text AS deadline, p.site_kind, p.site_id,
           round(p.score::numeric, 2)::double precision AS score, p.level,
           ST_AsMVTGeom(ST_Transform(p.pt, 3857), b.mercator, %(extent)s, %(buffer)s, true) AS geom
    FROM placed p
    CROSS JOIN bounds b
)
-- (ORDER BY in the aggregate: the same rows always make the same bytes, never combined in parallel)
SELECT coalesce(ST_AsMVT(tile_rows, %(layer)s, %(extent)s, 'geom', 'fid'
                        ORDER BY tile_rows.fid), '')
FROM tile_rows
