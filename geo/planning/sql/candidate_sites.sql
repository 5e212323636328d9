-- The sites a plan may visit: scored features of the wanted kinds at or above the lowest wanted level inside the
-- admin area %(area)s (every stored feature when NULL), plus the sites named in %(named)s ('kind.id': must-visit
-- and time-window sites, whatever their level or area; look-back sites, found in the area beforehand).  Named sites
-- first, then worst first, at most %(limit)s.
-- Each as a point (a polygon's point on surface) with its risk score (the prize), its size (employees, capacity
-- in 10^4 m3, floor area in m2: what an inspection's duration depends on) and its last inspection date: the latest
-- inspection recorded (issue 14; its outcome not 'not_inspected'), else the register's date (the fallback), read
-- for the chosen sites only.
-- red_matching counts the red sites the filter matched before the limit (to say when some were cut off).
WITH area_geom AS (SELECT geom FROM area WHERE admin_code = %(area)s),
sites AS (
    SELECT 'enterprise' AS kind, f.id, f.source_id, f.name, f.geom AS point, f.employees::double precision AS size,
           f.last_inspection
    FROM enterprise f WHERE 'enterprise' = ANY(%(kinds)s) OR %(named_any)s
    UNION ALL
    SELECT 'tailings_pond', f.id, f.source_id, f.name, ST_PointOnSurface(f.geom), f.capacity_10k_m3,
           f.last_inspection
    FROM tailings_pond f WHERE 'tailings_pond' = ANY(%(kinds)s) OR %(named_any)s
    UNION ALL
    SELECT 'venue', f.id, f.source_id, f.name, ST_PointOnSurface(f.geom), f.floor_area_m2, f.last_fire_inspection
    FROM venue f WHERE 'venue' = ANY(%(kinds)s) OR %(named_any)s
),
matching AS (
    SELECT s.*, r.score, r.level, r.model_version, (s.kind || '.' || s.id) = ANY(%(named)s) AS named
    FROM sites s
    JOIN feature_risk r ON r.kind = s.kind AND r.feature_id = s.id
    WHERE (s.kind || '.' || s.id) = ANY(%(named)s)
       OR (s.kind = ANY(%(kinds)s)
           AND array_position(%(levels)s::text[], r.level) >= %(min_pos)s
           AND (%(area)s::text IS NULL OR EXISTS (SELECT 1 FROM area_geom a WHERE ST_Intersects(a.geom, s.point))))
),
chosen AS (
    SELECT kind, id, source_id, name, point, score, level, size, last_inspection, named,
           count(*) FILTER (WHERE level = 'red' AND NOT named) OVER () AS red_matching, model_version
    FROM matching
    ORDER BY named DESC, score DESC, kind, id
    LIMIT %(limit)s
)
SELECT c.kind, c.id, c.source_id, c.name, ST_X(c.point), ST_Y(c.point), c.score, c.level, c.size,
       coalesce(i.last_inspected, c.last_inspection), c.named, c.red_matching, c.model_version
FROM chosen c
LEFT JOIN LATERAL (
    SELECT max(inspected_on) AS last_inspected FROM inspection
    WHERE site_kind = c.kind AND site_id = c.id AND outcome IS DISTINCT FROM 'not_inspected'
) i ON true
ORDER BY c.named DESC, c.score DESC, c.kind, c.id
