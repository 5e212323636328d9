-- numberMatched of an area layer's items (area_count is cheap: some thousands of rows at most, by the primary key
-- and the geometry index), within a box and the CQL2 filter's condition
-- (TRUE without one) if given.
SELECT count(*)
FROM area_risk r
WHERE r.area_type = %(area_type)s AND r.resolution = %(resolution)s
  AND (%(nobox)s OR (r.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                     AND ST_Intersects(r.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))))
  AND {filter}
