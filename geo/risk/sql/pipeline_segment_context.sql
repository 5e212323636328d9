-- Pipeline segments with the parent line's attributes and their spatial context (domain.md §4):
-- households for GB 50251 location classes (±200 m of the segment, and of its 2 km unit), 特定场所 for
-- GB 32167 high-consequence areas (within the impact distance, and within 200 m), and the enterprises in the
-- zones of the Oil and Gas Pipeline Protection Law (5 m, 50 m, 200 m).  All distances geodesic.
SELECT g.id AS feature_id, g.pipeline_id, g.seq, g.length_m AS segment_length_m, g.impact_m,
       p.medium, p.diameter_mm, p.pressure_mpa, p.year_built, p.operator, p.depth_of_cover_m, p.status,
       coalesce(s.households, 0) AS households_200m,
       coalesce(u.households, 0) AS households_2km_unit,
       coalesce(s.buildings_4plus, false) AS buildings_4plus_200m,
       coalesce(s.villages_50hh, 0) AS villages_50hh_200m,
       coalesce(s.population, 0) AS population_200m,
       coalesce(v.sites_1_pir, 0) AS specific_sites_1_pir,
       coalesce(v.sites_2_pir, 0) AS specific_sites_2_pir,
       coalesce(v.sites_1_200m, 0) AS specific_sites_1_200m,
       coalesce(v.sites_2_200m, 0) AS specific_sites_2_200m,
       coalesce(e.fuel_200m, 0) AS fuel_sites_200m,
       coalesce(e.flammable_50m, 0) AS flammable_sites_50m,
       coalesce(e.within_5m, 0) AS enterprises_5m,
       coalesce(e.within_50m, 0) AS enterprises_50m,
       coalesce(e.within_200m, 0) AS enterprises_200m,
       coalesce(e.construction_200m, 0) AS construction_200m,
       coalesce(e.mining_200m, 0) AS mining_200m
FROM pipeline_segment g
JOIN pipeline p ON p.id = g.pipeline_id
LEFT JOIN LATERAL (
    SELECT sum(coalesce(st.households, st.population / %(persons_per_household)s)) AS households,
           sum(coalesce(st.population, st.households * %(persons_per_household)s)) AS population,
           bool_or(coalesce(st.buildings_4plus_dominant, false)) AS buildings_4plus,
           count(*) FILTER (WHERE coalesce(st.households, st.population / %(persons_per_household)s) >= 50)
               AS villages_50hh
    FROM settlement st
    WHERE st.geom && riskmap_expand_m(g.geom, %(corridor_m)s)
      AND ST_DWithin(ST_PointOnSurface(st.geom)::geography, g.geom::geography, %(corridor_m)s)
) s ON true
LEFT JOIN LATERAL (
    SELECT sum(coalesce(st.households, st.population / %(persons_per_household)s)) AS households
    FROM settlement st
    WHERE st.geom && riskmap_expand_m(g.unit_geom, %(corridor_m)s)
      AND ST_DWithin(ST_PointOnSurface(st.geom)::geography, g.unit_geom::geography, %(corridor_m)s)
) u ON true
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE vn.venue_type = ANY(%(specific_sites_1)s) AND d.m <= g.impact_m) AS sites_1_pir,
           count(*) FILTER (WHERE vn.venue_type = ANY(%(specific_sites_2)s) AND d.m <= g.impact_m) AS sites_2_pir,
           count(*) FILTER (WHERE vn.venue_type = ANY(%(specific_sites_1)s) AND d.m <= %(corridor_m)s)
               AS sites_1_200m,
           count(*) FILTER (WHERE vn.venue_type = ANY(%(specific_sites_2)s) AND d.m <= %(corridor_m)s)
               AS sites_2_200m
    FROM venue vn
    CROSS JOIN LATERAL (SELECT ST_Distance(vn.geom::geography, g.geom::geography) AS m) d
    WHERE vn.geom && riskmap_expand_m(g.geom, greatest(%(corridor_m)s, coalesce(g.impact_m, 0)))
      AND (vn.venue_type = ANY(%(specific_sites_1)s) OR vn.venue_type = ANY(%(specific_sites_2)s))
) v ON true
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE en.industry = ANY(%(fuel_site_industries)s) AND d.m <= %(corridor_m)s)
               AS fuel_200m,
           count(*) FILTER (WHERE en.industry = ANY(%(flammable_site_industries)s) AND d.m <= %(zone_50_m)s)
               AS flammable_50m,
           count(*) FILTER (WHERE d.m <= %(zone_5_m)s) AS within_5m,
           count(*) FILTER (WHERE d.m <= %(zone_50_m)s) AS within_50m,
           count(*) FILTER (WHERE d.m <= %(corridor_m)s) AS within_200m,
           count(*) FILTER (WHERE en.status = 'under_construction' AND d.m <= %(corridor_m)s) AS construction_200m,
           count(*) FILTER (WHERE en.industry = 'mining' AND d.m <= %(corridor_m)s) AS mining_200m
    FROM enterprise en
    CROSS JOIN LATERAL (SELECT ST_Distance(en.geom::geography, g.geom::geography) AS m) d
    WHERE en.geom && riskmap_expand_m(g.geom, %(corridor_m)s)
) e ON true
WHERE %(ids)s::bigint[] IS NULL OR g.id = ANY(%(ids)s)
