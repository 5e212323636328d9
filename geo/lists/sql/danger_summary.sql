-- The hidden dangers of dangers.sql (which this text follows: its WITH clause) counted per admin area of the level
-- %(area_level)s (the area holding the site's point, the lowest code where outlines overlap; NULL code: in no
-- area of that level, or the site is gone): all of them, the open ones (open or reopened), the overdue ones and
-- the open major ones.  Counted per site first, so that each site is placed once.
, per_site AS (
    SELECT d.site_kind, d.site_id, count(*) AS total,
           count(*) FILTER (WHERE d.status_then IN ('open', 'reopened')) AS open,
           count(*) FILTER (WHERE d.overdue) AS overdue,
           count(*) FILTER (WHERE d.grade = 'major' AND d.status_then IN ('open', 'reopened')) AS major
    FROM dangers d
    GROUP BY d.site_kind, d.site_id
)
SELECT c.admin_code, c.name, sum(p.total)::integer AS total, sum(p.open)::integer AS open,
       sum(p.overdue)::integer AS overdue, sum(p.major)::integer AS major
FROM per_site p
LEFT JOIN LATERAL (
    SELECT ST_PointOnSurface(f.geom) AS pt FROM enterprise f WHERE p.site_kind = 'enterprise' AND f.id = p.site_id
    UNION ALL
    SELECT ST_PointOnSurface(f.geom) FROM tailings_pond f WHERE p.site_kind = 'tailings_pond' AND f.id = p.site_id
    UNION ALL
    SELECT ST_PointOnSurface(f.geom) FROM pipeline f WHERE p.site_kind = 'pipeline' AND f.id = p.site_id
    UNION ALL
    SELECT ST_PointOnSurface(f.geom) FROM venue f WHERE p.site_kind = 'venue' AND f.id = p.site_id
) s ON true
LEFT JOIN LATERAL (
    SELECT a.admin_code, a.name
    FROM area a
    WHERE a.level = %(area_level)s AND a.geom && s.pt AND ST_Intersects(a.geom, s.pt)
    ORDER BY a.admin_code
    LIMIT 1
) c ON true
GROUP BY c.admin_code, c.name
ORDER BY c.admin_code NULLS LAST
