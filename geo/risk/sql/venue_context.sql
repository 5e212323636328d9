-- Crowded venues with the hazards around them (domain.md §5): GB 18218 major-hazard enterprises (as scored)
-- and enterprises of hazardous industries within %(venue_hazard_radius_m)s m, and pipeline segments whose
-- impact distance (gas PIR, oil 200 m) reaches the venue.  Distances geodesic, to the venue's geometry.
SELECT v.id AS feature_id, v.venue_type, v.floor_area_m2, v.storey, v.occupancy, v.exits, v.exits_blocked,
       v.exit_width_ratio, v.sprinklers, v.fire_alarm, v.last_fire_inspection, v.status,
       coalesce(e.major_hazards, 0) AS major_hazards_500m,
       coalesce(e.hazardous_sites, 0) AS hazardous_sites_500m,
       coalesce(g.segments, 0) AS pipelines_in_impact_radius
FROM venue v
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE (r.details ->> 'major_hazard')::boolean) AS major_hazards,
           count(*) FILTER (WHERE en.industry = ANY(%(hazardous_industries)s)) AS hazardous_sites
    FROM enterprise en
    LEFT JOIN feature_risk r ON r.kind = 'enterprise' AND r.feature_id = en.id
    WHERE en.geom && riskmap_expand_m(v.geom, %(venue_hazard_radius_m)s)
      AND ST_DWithin(en.geom::geography, v.geom::geography, %(venue_hazard_radius_m)s)
) e ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS segments
    FROM pipeline_segment sg
    WHERE sg.geom && riskmap_expand_m(v.geom, %(max_impact_m)s)
      AND ST_DWithin(sg.geom::geography, v.geom::geography, coalesce(sg.impact_m, %(max_impact_m)s))
) g ON true
WHERE %(ids)s::bigint[] IS NULL OR v.id = ANY(%(ids)s)
