-- Siting check (geo/siting): the crowded venues within %(radius)s metres of the proposed project, nearest first.
--
-- Parameters: site (EWKT, SRID 4326: the project's point or polygon) and radius (metres: the largest distance
-- any rule looks at venues: the GB 18218 500 m ring or a GB 36894 screening radius) and ring (the GB 18218
-- ring, [context] alpha_radius_m: `in_ring` marks the venues within it).
-- Distances are geodesic on WGS 84 (geography), from the project geometry to the venue's geometry.
SELECT v.id, v.source_id, v.name, v.venue_type, v.occupancy, v.status,
       ST_Distance(v.geom::geography, %(site)s::geography) AS distance_m,
       ST_Intersects(%(site)s::geometry, v.geom) AS inside_site,
       ST_DWithin(v.geom::geography, %(site)s::geography, %(ring)s) AS in_ring
FROM venue v
WHERE v.geom && riskmap_expand_m(%(site)s::geometry, %(radius)s)
  AND ST_DWithin(v.geom::geography, %(site)s::geography, %(radius)s)
ORDER BY distance_m, v.id
