-- GET /areas/{id}: the area risk of one admin area (by admin code) or H3 cell (by cell index, at the resolution
-- it encodes) as a GeoJSON Feature (RFC 7946) as text; no row when there is none.  area_level: the admin level
-- name (%(admin_levels)s indexed by resolution) or "h3:<resolution>".  Should an id name both, the admin area wins.
-- An H3 cell's Feature is the one stored with its row (migration 0023), as GET /areas serves it.
SELECT coalesce(r.feature_json, json_build_object(
           'type', 'Feature',
           'id', r.area_type || ':' || r.area_id,
           'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(r.geom), 7)::json,
           'properties', json_build_object(
               'area_id', r.area_id, 'area_type', r.area_type, 'resolution', r.resolution,
               'area_level', CASE WHEN r.area_type = 'h3' THEN 'h3:' || r.resolution
                                  ELSE coalesce(a.level, (%(admin_levels)s::text[])[r.resolution]) END,
               'name', a.name,
               'score', round(r.score::numeric, 2), 'level', r.level, 'level_max', r.level_max,
               'level_banded', r.level_banded, 'counts', r.counts, 'features', r.features,
               'population_exposed', r.population_exposed, 'model_version', r.model_version))::text)
FROM area_risk r
LEFT JOIN area a ON r.area_type = 'admin' AND a.admin_code = r.area_id
WHERE (r.area_type = 'admin' AND r.area_id = %(id)s)
   OR (r.area_type = 'h3' AND r.resolution = %(h3_res)s::integer AND r.area_id = %(h3_cell)s::text)
ORDER BY r.area_type, r.resolution
LIMIT 1
