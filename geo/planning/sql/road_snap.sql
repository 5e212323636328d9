-- Each point's nearest road node (KNN on road_node) and the geodesic distance to it, in metres.  Plans no longer
-- use it (geo/planning/roads.py finds the nodes in a k-d tree kept with the graph): it is the reference that
-- tests/geo/test_roads.py checks those nodes and distances against.
SELECT p.i, n.id, ST_Distance(ST_SetSRID(ST_Point(p.lon, p.lat), 4326)::geography, n.geom::geography)
FROM unnest(%(lons)s::double precision[], %(lats)s::double precision[]) WITH ORDINALITY AS p(lon, lat, i)
CROSS JOIN LATERAL (
    SELECT id, geom FROM road_node ORDER BY geom <-> ST_SetSRID(ST_Point(p.lon, p.lat), 4326) LIMIT 1
) n
ORDER BY p.i
