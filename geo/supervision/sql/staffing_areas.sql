-- The admin areas of one level (%(level)s) with a point inside each (for a label on a map).
SELECT admin_code, name, ST_X(p), ST_Y(p)
FROM (SELECT admin_code, name, ST_PointOnSurface(geom) AS p FROM area WHERE level = %(level)s) a
ORDER BY admin_code
