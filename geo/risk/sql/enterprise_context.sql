-- Enterprises with their spatial context (domain.md §1): residents within the GB 18218 α ring
-- (%(alpha_radius_m)s m, geodesic) outside the site boundary.  A settlement counts by its point on surface;
-- its people are its population, or its households times the persons per household.
SELECT e.id AS feature_id, e.industry, e.chemicals::text AS chemicals, e.status, e.employees,
       e.flexible_worker_share, e.violations_12m, e.open_hidden_dangers, e.major_hidden_danger, e.last_inspection,
       coalesce(p.people, 0) AS people_500m
FROM enterprise e
LEFT JOIN LATERAL (
    SELECT sum(coalesce(s.population, s.households * %(persons_per_household)s)) AS people
    FROM settlement s
    WHERE s.geom && riskmap_expand_m(e.geom, %(alpha_radius_m)s)
      AND ST_DWithin(ST_PointOnSurface(s.geom)::geography, e.geom::geography, %(alpha_radius_m)s)
      AND NOT ST_Intersects(ST_PointOnSurface(s.geom), e.geom)
) p ON true
WHERE %(ids)s::bigint[] IS NULL OR e.id = ANY(%(ids)s)
