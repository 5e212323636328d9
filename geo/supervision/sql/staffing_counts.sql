-- The scored sites of each admin area of one level (%(level)s), per kind and risk level: what the staffing need
-- is computed from.  A site belongs to the area holding its point (a polygon's or line's point on surface; the
-- first area by code where outlines overlap); sites in no area of that level come with a NULL code.
WITH sites AS (
    SELECT 'enterprise' AS kind, id, geom AS point FROM enterprise
    UNION ALL
    SELECT 'tailings_pond', id, ST_PointOnSurface(geom) FROM tailings_pond
    UNION ALL
    SELECT 'pipeline', id, ST_PointOnSurface(geom) FROM pipeline
    UNION ALL
    SELECT 'venue', id, ST_PointOnSurface(geom) FROM venue
)
SELECT c.admin_code, r.kind, r.level, count(*)
FROM sites s
JOIN feature_risk r ON r.kind = s.kind AND r.feature_id = s.id
LEFT JOIN LATERAL (
    SELECT admin_code FROM area a
    WHERE a.level = %(level)s AND ST_Intersects(a.geom, s.point)
    ORDER BY admin_code LIMIT 1
) c ON true
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
