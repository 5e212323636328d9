-- GET /areas at an admin level (the API sends H3 levels to areas_page_h3.sql, which reads only their stored Features;
-- this query gives the same bytes for them, as bench/areas measures): one page of the area risk of one area type and
-- resolution (admin level or H3 resolution), in area_id order after %(after)s (keyset pagination on the primary key: no
-- OFFSET, no count), each row a GeoJSON Feature (RFC 7946: exterior rings counter-clockwise) as text.  Admin areas take
-- their name from `area`; H3 cells have none, and their Feature is stored as it is built here (area_risk.feature_json,
-- migration 0023): only admin rows (feature_json null) are built per request.  One row more than the page is asked for,
-- to know whether another page follows.  An area whose bounding box lies inside the box intersects it (areas are
-- polygons far larger than the float rounding of bounding boxes): only the others need the exact test.
SELECT coalesce(r.feature_json, json_build_object(
           'type', 'Feature',
           'id', r.area_type || ':' || r.area_id,
           'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(r.geom), 7)::json,
           'properties', json_build_object(
               'area_id', r.area_id, 'area_type', r.area_type, 'resolution', r.resolution,
               'area_level', %(area_level)s::text, 'name', a.name,
               'score', round(r.score::numeric, 2), 'level', r.level, 'level_max', r.level_max,
               'level_banded', r.level_banded, 'counts', r.counts, 'features', r.features,
               'population_exposed', r.population_exposed, 'model_version', r.model_version))::text),
       r.area_id
FROM area_risk r
LEFT JOIN area a ON r.area_type = 'admin' AND a.admin_code = r.area_id
WHERE r.area_type = %(area_type)s AND r.resolution = %(resolution)s
  AND (%(after)s::text IS NULL OR r.area_id > %(after)s::text)
  AND (%(nobox)s OR (r.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                     AND (r.geom @ ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                          OR ST_Intersects(r.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)))))
  AND (%(levels)s::text[] IS NULL OR r.level = ANY(%(levels)s::text[]))
ORDER BY r.area_id
LIMIT %(limit)s + 1
