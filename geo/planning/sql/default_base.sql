-- The default base of a plan of the admin area %(area)s whose candidate sites stand at %(lons)s, %(lats)s (the
-- rule: geo/planning/plan.py default_base).  An area can be made of several parts (a county with an exclave): the
-- base lies in the part holding the most candidate sites (the larger part on a tie, and the largest part when no
-- candidate lies in any), at the point of that part nearest to the centre (mean longitude and latitude) of the
-- candidates inside it, or of all the candidates when none is.  The centre itself when it lies in the part.
-- "Nearest" is measured in metres, in an azimuthal equidistant projection centred on the sites' centre (degrees of
-- longitude are shorter than degrees of latitude at Chinese latitudes).
WITH site AS (
    SELECT ST_SetSRID(ST_Point(lon, lat), 4326) AS point
    FROM unnest(%(lons)s::double precision[], %(lats)s::double precision[]) AS s(lon, lat)
),
part AS (
    SELECT (d).geom AS geom FROM (SELECT ST_Dump(geom) AS d FROM area WHERE admin_code = %(area)s) a
),
counted AS (
    SELECT p.geom, ST_Area(p.geom::geography) AS m2, count(s.point) AS sites,
           ST_Centroid(ST_Collect(s.point)) AS centre
    FROM part p LEFT JOIN site s ON ST_Intersects(p.geom, s.point)
    GROUP BY p.geom
),
chosen AS (
    SELECT c.geom, coalesce(c.centre, (SELECT ST_Centroid(ST_Collect(point)) FROM site)) AS centre
    FROM counted c
    ORDER BY c.sites DESC, c.m2 DESC
    LIMIT 1
),
projected AS (
    SELECT geom, centre, format('+proj=aeqd +lat_0=%%s +lon_0=%%s +datum=WGS84 +units=m', ST_Y(centre), ST_X(centre))
           AS proj
    FROM chosen
)
SELECT ST_X(b), ST_Y(b)
FROM (SELECT CASE WHEN ST_Intersects(geom, centre) THEN centre
            ELSE ST_Transform(ST_ClosestPoint(ST_Transform(geom, proj), ST_Transform(centre, proj)), proj, 4326)
       END AS b
      FROM projected) x
