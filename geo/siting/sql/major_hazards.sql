-- Siting check (geo/siting): the existing GB 18218 major-hazard enterprises (stored result: feature_risk details
-- major_hazard, domain.md §1) within %(radius)s metres of the proposed project, nearest first.
--
-- Parameters: site (EWKT, SRID 4326: the project's point or polygon) and radius (metres: the GB 18218 500 m
-- ring, [context] alpha_radius_m).
-- Distances are geodesic on WGS 84 (geography), from the project geometry to the enterprise's geometry.
SELECT e.id, e.source_id, e.name, e.industry,
       ST_Distance(e.geom::geography, %(site)s::geography) AS distance_m,
       (r.details ->> 's_value')::float8 AS s_value,
       (r.details ->> 'r_value')::float8 AS r_value,
       (r.details ->> 'major_hazard_level')::integer AS major_hazard_level,
       r.level
FROM enterprise e
JOIN feature_risk r ON r.kind = 'enterprise' AND r.feature_id = e.id
WHERE coalesce((r.details ->> 'major_hazard')::boolean, false)
  AND e.geom && riskmap_expand_m(%(site)s::geometry, %(radius)s)
  AND ST_DWithin(e.geom::geography, %(site)s::geography, %(radius)s)
ORDER BY distance_m, e.id
