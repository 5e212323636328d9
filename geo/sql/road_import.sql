-- One page of road edges (geo/roads.py): each edge's geodesic length, and its hours forward and backward at its
-- speed (-1 where a one-way road forbids that direction, as pgRouting reads it).
INSERT INTO road_edge (id, source, target, highway, speed_kmh, length_m, cost_h, reverse_cost_h, geom)
SELECT v.id, v.source, v.target, v.highway::text, v.speed, l.m,
       CASE WHEN v.oneway = -1 THEN -1 ELSE l.m / 1000.0 / v.speed END,
       CASE WHEN v.oneway = 1 THEN -1 ELSE l.m / 1000.0 / v.speed END,
       l.g
FROM (VALUES %s) AS v(id, source, target, highway, speed, oneway, geom)
CROSS JOIN LATERAL (SELECT v.geom::geometry AS g) gg
CROSS JOIN LATERAL (SELECT gg.g AS g, ST_Length(gg.g::geography) AS m) l
