-- The whole stored road network for the travel-time graph (geo/planning/roads.py), as packed binary arrays that
-- numpy reads as they are (int8send / float8send: 8 bytes each, big-endian), far cheaper to send and read than
-- arrays of numbers: each edge's id, its two nodes, its hours forward and backward (-1: that direction is not
-- allowed, a one-way road) and its length, the edges in one order (all the aggregates of one pass see the rows
-- in the same order; the caller sorts them by id); the network's extent (xmin, ymin, xmax, ymax); and each road
-- node's id and its longitude and latitude (the nodes points join the network at).
SELECT e.ids, e.sources, e.targets, e.costs, e.reverse_costs, e.lengths,
       ST_XMin(e.extent), ST_YMin(e.extent), ST_XMax(e.extent), ST_YMax(e.extent),
       n.ids, n.lons, n.lats
FROM (SELECT coalesce(string_agg(int8send(id), ''), '') AS ids,
             coalesce(string_agg(int8send(source), ''), '') AS sources,
             coalesce(string_agg(int8send(target), ''), '') AS targets,
             coalesce(string_agg(float8send(cost_h), ''), '') AS costs,
             coalesce(string_agg(float8send(reverse_cost_h), ''), '') AS reverse_costs,
             coalesce(string_agg(float8send(length_m), ''), '') AS lengths,
             ST_Extent(geom) AS extent
      FROM road_edge) e
CROSS JOIN (SELECT coalesce(string_agg(int8send(id), ''), '') AS ids,
                   coalesce(string_agg(float8send(ST_X(geom)), ''), '') AS lons,
                   coalesce(string_agg(float8send(ST_Y(geom)), ''), '') AS lats
            FROM road_node) n
