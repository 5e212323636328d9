-- The hidden dangers of dangers.sql (which this text follows: its WITH clause) counted per admin area of the level
-- %(area_level)s (the area holding the site's point, the lowest code where outlines overlap; NULL code: in no
-- area of that level): all of them, the open ones (open or reopened), the overdue ones and the open major ones.
SELECT c.admin_code, c.name, count(*) AS total,
       count(*) FILTER (WHERE d.status IN ('open', 'reopened')) AS open,
       count(*) FILTER (WHERE d.overdue) AS overdue,
       count(*) FILTER (WHERE d.grade = 'major' AND d.status IN ('open', 'reopened')) AS major
FROM dangers d
LEFT JOIN LATERAL (
    SELECT a.admin_code, a.name
    FROM area a
    WHERE a.level = %(area_level)s AND a.geom && d.pt AND ST_Intersects(a.geom, d.pt)
    ORDER BY a.admin_code
    LIMIT 1
) c ON true
GROUP BY c.admin_code, c.name
ORDER BY c.admin_code NULLS LAST
