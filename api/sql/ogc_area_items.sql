-- GET /ogc/collections/<collection>/items (and /items/<feature>) of an area layer (area_county, area_h3_<res>):
-- the area risk of one area type and resolution, one keyset page in area_id order after %(after)s, or in reverse
-- order before %(before)s ({direction}), each row a GeoJSON Feature (exterior rings counter-clockwise) as text and
-- its area_id.  One row more than the page is asked for.  red / orange: the features of that level inside, over
-- every class.  The page's rows are read whole in one index range scan (joining them back to area_risk
-- by area_id alone made the planner rescan every cell of the resolution per row: 0.9 s for 1,000 H3 cells).
-- The CQL2 filter's condition (TRUE without one) reads r (api/ogc/filters.py).
WITH page AS (
    SELECT r.*
    FROM area_risk r
    WHERE r.area_type = %(area_type)s AND r.resolution = %(resolution)s
      AND (%(fid)s::text IS NULL OR r.area_id = %(fid)s::text)
      AND (%(after)s::text IS NULL OR r.area_id > %(after)s::text)
      AND (%(before)s::text IS NULL OR r.area_id < %(before)s::text)
      AND (%(nobox)s OR (r.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                         AND ST_Intersects(r.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))))
      AND {filter}
    ORDER BY r.area_id {direction}
    LIMIT %(limit)s + 1
)
SELECT json_build_object(
           'type', 'Feature',
           'id', r.area_id,
           'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(r.geom), 7)::json,
           'properties', json_build_object(
               'name', (SELECT a.name FROM area a WHERE r.area_type = 'admin' AND a.admin_code = r.area_id),
               'score', round(r.score::numeric, 2), 'level', r.level,
               'level_max', r.level_max, 'level_banded', r.level_banded, 'features', r.features,
               'red', (SELECT coalesce(sum((c.v ->> 'red')::integer), 0) FROM jsonb_each(r.counts) AS c(k, v)),
               'orange', (SELECT coalesce(sum((c.v ->> 'orange')::integer), 0) FROM jsonb_each(r.counts) AS c(k, v)),
               'population_exposed', round(r.population_exposed::numeric))
       )::text,
       r.area_id
FROM page r
ORDER BY r.area_id {direction}
