-- The sites a plan may visit: scored features of the wanted kinds at or above the lowest wanted level, inside the
-- admin area %(area)s (every stored feature when NULL), worst first, at most %(limit)s.  Each as a point (a
-- polygon's point on surface; a pipeline's worst segment's midpoint), with its risk score as the prize.
WITH area_geom AS (SELECT geom FROM area WHERE admin_code = %(area)s),
sites AS (
    SELECT 'enterprise' AS kind, f.id, f.name, f.geom AS point FROM enterprise f WHERE 'enterprise' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'tailings_pond', f.id, f.name, ST_PointOnSurface(f.geom) FROM tailings_pond f
    WHERE 'tailings_pond' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'venue', f.id, f.name, ST_PointOnSurface(f.geom) FROM venue f WHERE 'venue' = ANY(%(kinds)s)
)
SELECT s.kind, s.id, s.name, ST_X(s.point), ST_Y(s.point), r.score, r.level
FROM sites s
JOIN feature_risk r ON r.kind = s.kind AND r.feature_id = s.id
WHERE array_position(%(levels)s::text[], r.level) >= %(min_pos)s
  AND (%(area)s::text IS NULL OR EXISTS (SELECT 1 FROM area_geom a WHERE ST_Intersects(a.geom, s.point)))
ORDER BY r.score DESC, s.kind, s.id
LIMIT %(limit)s
