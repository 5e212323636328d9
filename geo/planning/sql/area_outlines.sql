-- The outlines of the admin areas of one admin level, simplified for a map of the allocation (about 100 m), with
-- a point inside each for its label.
SELECT admin_code, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.001), 5),
       ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
FROM area
WHERE level = %(level)s
ORDER BY admin_code
