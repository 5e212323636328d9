-- For each accident given (%(ids)s) that names no site: the nearest scored site of a class that fits its type
-- (%(fits)s: per accident, the classes as a comma list) within %(radius_m)s metres, geodesic (distances to the
-- site's geometry: 0 inside a polygon).  Ties: the nearer by id.  Accidents with no such site have no row.
-- Each class is probed by its GiST index (the box around the accident), then exactly on the ellipsoid.
WITH asked AS (
    SELECT x.accident_id, string_to_array(x.fits, ',') AS fits
    FROM unnest(%(ids)s::bigint[], %(fits)s::text[]) AS x(accident_id, fits)
)
SELECT q.accident_id, n.kind, n.feature_id, n.distance_m
FROM asked q
JOIN accident a ON a.id = q.accident_id
CROSS JOIN LATERAL (
    SELECT c.kind, c.feature_id, c.distance_m FROM (
        SELECT 'enterprise' AS kind, f.id AS feature_id, ST_Distance(f.geom::geography, a.geom::geography) AS distance_m
        FROM enterprise f
        WHERE 'enterprise' = ANY(q.fits) AND f.geom && riskmap_expand_m(a.geom, %(radius_m)s)
          AND ST_DWithin(f.geom::geography, a.geom::geography, %(radius_m)s)
          AND EXISTS (SELECT 1 FROM feature_risk r WHERE r.kind = 'enterprise' AND r.feature_id = f.id)
        UNION ALL
        SELECT 'tailings_pond', f.id, ST_Distance(f.geom::geography, a.geom::geography)
        FROM tailings_pond f
        WHERE 'tailings_pond' = ANY(q.fits) AND f.geom && riskmap_expand_m(a.geom, %(radius_m)s)
          AND ST_DWithin(f.geom::geography, a.geom::geography, %(radius_m)s)
          AND EXISTS (SELECT 1 FROM feature_risk r WHERE r.kind = 'tailings_pond' AND r.feature_id = f.id)
        UNION ALL
        SELECT 'pipeline', f.id, ST_Distance(f.geom::geography, a.geom::geography)
        FROM pipeline f
        WHERE 'pipeline' = ANY(q.fits) AND f.geom && riskmap_expand_m(a.geom, %(radius_m)s)
          AND ST_DWithin(f.geom::geography, a.geom::geography, %(radius_m)s)
          AND EXISTS (SELECT 1 FROM feature_risk r WHERE r.kind = 'pipeline' AND r.feature_id = f.id)
        UNION ALL
        SELECT 'venue', f.id, ST_Distance(f.geom::geography, a.geom::geography)
        FROM venue f
        WHERE 'venue' = ANY(q.fits) AND f.geom && riskmap_expand_m(a.geom, %(radius_m)s)
          AND ST_DWithin(f.geom::geography, a.geom::geography, %(radius_m)s)
          AND EXISTS (SELECT 1 FROM feature_risk r WHERE r.kind = 'venue' AND r.feature_id = f.id)
    ) c
    ORDER BY c.distance_m, c.kind, c.feature_id
    LIMIT 1
) n
