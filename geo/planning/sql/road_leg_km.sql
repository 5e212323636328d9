-- The fastest path of each (source, target) road-node pair that the query in combinations selects (a VALUES list
-- the caller composes from integers), over the edges in the query %(edges)s, as pgRouting finds it: its length in
-- km, and its line (each edge turned to the direction driven) as GeoJSON coordinates for the map.
SELECT d.start_vid, d.end_vid, coalesce(sum(e.length_m), 0) / 1000.0,
       ST_AsGeoJSON(ST_MakeLine(array_agg(CASE WHEN d.node = e.source THEN e.geom ELSE ST_Reverse(e.geom) END
                                          ORDER BY d.path_seq) FILTER (WHERE e.id IS NOT NULL)), 6)
FROM pgr_dijkstra(%(edges)s, %(combinations)s, directed => true) d
LEFT JOIN road_edge e ON e.id = d.edge
GROUP BY d.start_vid, d.end_vid
