-- The length in km of the fastest path of each (source, target) road-node pair that the query in
-- combinations selects (a VALUES list the caller composes from integers), as pgRouting finds it.
SELECT d.start_vid, d.end_vid, coalesce(sum(e.length_m), 0) / 1000.0
FROM pgr_dijkstra(
    'SELECT id, source, target, cost_h AS cost, reverse_cost_h AS reverse_cost FROM road_edge',
    %(combinations)s, directed => true) d
LEFT JOIN road_edge e ON e.id = d.edge
GROUP BY d.start_vid, d.end_vid
