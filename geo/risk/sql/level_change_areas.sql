-- The sites of level_changes.sql (which this text follows: its WITH clause) counted per admin area of the level
-- %(area_level)s: how many went up, down, stayed, and were scored only since the date.  A site lies in the admin
-- area whose outline covers its point (boundary included), the lowest code where outlines overlap: the rule by
-- which the area risk assigns features to admin areas (geo/risk/aggregate.py admin_assign) and the lists, the
-- plans and the supervision give a site its county (geo/lists/sql/dangers.sql).  Only the areas that meet the box
-- (when one is given) are listed, each counted whole (level_changes.sql looks for the sites over their extent);
-- the sites in no area of that level are not counted.  Each area comes with its point on surface (for a label).
, placed AS (
    SELECT a.admin_code, c.change
    FROM changes c
    JOIN LATERAL (
        SELECT a.admin_code
        FROM area a
        WHERE a.level = %(area_level)s AND a.geom && c.pt AND ST_Intersects(a.geom, c.pt)
        ORDER BY a.admin_code
        LIMIT 1
    ) a ON true
), counted AS (
    SELECT p.admin_code, count(*) FILTER (WHERE p.change = 'up') AS up,
           count(*) FILTER (WHERE p.change = 'down') AS down, count(*) FILTER (WHERE p.change = 'same') AS same,
           count(*) FILTER (WHERE p.change = 'new') AS new
    FROM placed p
    GROUP BY p.admin_code
)
SELECT a.admin_code, a.name, n.up, n.down, n.same, n.new,
       round(ST_X(pt.g)::numeric, 6)::double precision AS lon, round(ST_Y(pt.g)::numeric, 6)::double precision AS lat
FROM counted n
JOIN area a ON a.admin_code = n.admin_code
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(a.geom) AS g) pt
WHERE %(nobox)s OR (a.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                    AND ST_Intersects(a.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)))
ORDER BY a.admin_code
