-- Siting check (geo/siting): the oil, gas and chemical pipelines within %(radius)s metres of the proposed project (the
-- 200 m zone of the Oil and Gas Pipeline Protection Law, Art. 35; [context] corridor_m), nearest first.
--
-- Parameters: site (EWKT, SRID 4326: the project's point or polygon) and radius (metres).
-- Distances are geodesic on WGS 84 (geography), from the project geometry to the whole pipeline's centreline
-- (its nearest point): the zones of domain.md §4 are measured from the centreline.
SELECT p.id, p.source_id, p.name, p.medium, p.diameter_mm, p.pressure_mpa, p.operator, p.status,
       ST_Distance(p.geom::geography, %(site)s::geography) AS distance_m,
       ST_Intersects(%(site)s::geometry, p.geom) AS crosses_site
FROM pipeline p
WHERE p.geom && riskmap_expand_m(%(site)s::geometry, %(radius)s)
  AND ST_DWithin(p.geom::geography, %(site)s::geography, %(radius)s)
ORDER BY distance_m, p.id
