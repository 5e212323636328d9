-- A vector tile of the routes of the stored inspection plans (the view plan_route, migration 0027): one line per
-- team and working day that meets the tile, with its plan, team, day, stops, km, hours and risk covered.  Routes
-- are few (a plan has at most 1,000 team-days), so every zoom draws them one by one; ST_AsMVTGeom simplifies a
-- line to the tile's grid.  The same data always gives the same bytes (so the ETag changes with a new plan, and so
-- does the data version of the tiles URL: tiles_version.sql counts the last plan).
-- Parameters: z, x, y, extent, buffer, layer.
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS degrees
),
tile_rows AS (
    SELECT pr.id AS fid, pr.plan_id,
           to_char(pr.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
           pr.area, pr.team, pr.day, pr.stops, pr.km, pr.hours, pr.risk, pr.leave, pr.back,
           ST_AsMVTGeom(ST_Transform(pr.geom, 3857), b.mercator, %(extent)s, %(buffer)s, true) AS geom
    FROM plan_route pr
    CROSS JOIN bounds b
    WHERE pr.geom && b.degrees AND ST_Intersects(pr.geom, b.degrees)
)
-- (ORDER BY in the aggregate: the same rows always make the same bytes, never combined in parallel)
SELECT coalesce(ST_AsMVT(tile_rows, %(layer)s, %(extent)s, 'geom', 'fid'
                        ORDER BY tile_rows.fid), '')
FROM tile_rows
WHERE tile_rows.geom IS NOT NULL
