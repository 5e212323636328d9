-- The whole stored road network as arrays for the travel-time graph (geo/planning/roads.py): each edge's id, its
-- two nodes, its hours forward and backward (-1: that direction is not allowed, a one-way road) and its length;
-- and the network's extent (xmin, ymin, xmax, ymax).
SELECT coalesce(array_agg(id ORDER BY id), '{}'), coalesce(array_agg(source ORDER BY id), '{}'),
       coalesce(array_agg(target ORDER BY id), '{}'), coalesce(array_agg(cost_h ORDER BY id), '{}'),
       coalesce(array_agg(reverse_cost_h ORDER BY id), '{}'), coalesce(array_agg(length_m ORDER BY id), '{}'),
       ST_XMin(ST_Extent(geom)), ST_YMin(ST_Extent(geom)), ST_XMax(ST_Extent(geom)), ST_YMax(ST_Extent(geom))
FROM road_edge
