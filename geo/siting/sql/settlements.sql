-- Siting check (geo/siting): the settlements within %(radius)s metres of the proposed project, nearest first.
--
-- Parameters: site (EWKT, SRID 4326: the project's point or polygon), radius (metres: the largest distance
-- any rule looks at settlements), alpha_radius (the GB 18218 α ring, [context] alpha_radius_m), and
-- persons_per_household ([context]).
--
-- Distances are geodesic on WGS 84 (geography), from the project geometry to the settlement's geometry (its
-- nearest part); `in_ring` marks the settlements within alpha_radius.  `people` is computed as in
-- geo/risk/sql/settlement_layer.sql.  `counted` marks the settlements that the GB 18218 α counts (domain.md §1:
-- resident people within 500 m outside the plant boundary), by the rule geo/risk/context.py enterprise_context
-- applies to a scored site: the settlement's point on surface lies within alpha_radius of the site and not
-- inside it.
SELECT s.id, s.source_id, s.name, s.population, s.households,
       coalesce(s.population, s.households * %(persons_per_household)s)::float8 AS people,
       ST_Distance(s.geom::geography, %(site)s::geography) AS distance_m,
       ST_DWithin(pt.g::geography, %(site)s::geography, %(alpha_radius)s)
           AND NOT ST_Intersects(%(site)s::geometry, pt.g) AS counted,
       ST_Intersects(%(site)s::geometry, s.geom) AS inside_site,
       ST_DWithin(s.geom::geography, %(site)s::geography, %(alpha_radius)s) AS in_ring
FROM settlement s
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(s.geom) AS g) pt
WHERE s.geom && riskmap_expand_m(%(site)s::geometry, %(radius)s)
  AND ST_DWithin(s.geom::geography, %(site)s::geography, %(radius)s)
ORDER BY distance_m, s.id
