-- The exposed settlements (feature_id, people, lon, lat) whose point lies in the box, by id (an area group's
-- people: geo/risk/area_groups.py).  The GiST index finds the candidates; && compares float4 boxes, so the exact
-- test follows.
SELECT settlement_id AS feature_id, people, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM settlement_exposed
WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
  AND ST_X(geom) BETWEEN %(x0)s AND %(x1)s AND ST_Y(geom) BETWEEN %(y0)s AND %(y1)s
ORDER BY settlement_id
