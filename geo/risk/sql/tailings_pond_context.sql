-- Tailings ponds with the people and important facilities downstream (domain.md §3, 头顶库): within
-- %(downstream_radius_m)s m (geodesic) of the pond, in the sector of ±%(sector_half_angle_deg)s° around the
-- stored downstream direction, or in the full circle when the direction is unknown.
SELECT p.id AS feature_id, p.dam_height_m, p.capacity_10k_m3, p.safety_state, p.downstream_direction_deg,
       p.downstream_population, p.ore, p.status, p.major_hidden_danger, p.last_inspection,
       coalesce(s.people, 0) AS downstream_people_1km,
       coalesce(v.facilities, 0) AS downstream_facilities_1km,
       CASE WHEN p.downstream_direction_deg IS NULL THEN 'circle' ELSE 'sector' END AS downstream_area
FROM tailings_pond p
LEFT JOIN LATERAL (
    SELECT sum(coalesce(s.population, s.households * %(persons_per_household)s)) AS people
    FROM settlement s
    WHERE s.geom && riskmap_expand_m(p.geom, %(downstream_radius_m)s)
      AND ST_DWithin(ST_PointOnSurface(s.geom)::geography, p.geom::geography, %(downstream_radius_m)s)
      AND riskmap_in_sector(p.geom, p.downstream_direction_deg, ST_PointOnSurface(s.geom),
                            %(sector_half_angle_deg)s)
) s ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS facilities
    FROM venue v
    WHERE v.geom && riskmap_expand_m(p.geom, %(downstream_radius_m)s)
      AND ST_DWithin(ST_PointOnSurface(v.geom)::geography, p.geom::geography, %(downstream_radius_m)s)
      AND riskmap_in_sector(p.geom, p.downstream_direction_deg, ST_PointOnSurface(v.geom),
                            %(sector_half_angle_deg)s)
) v ON true
WHERE %(ids)s::bigint[] IS NULL OR p.id = ANY(%(ids)s)
