-- The km and the line of each leg's road path: the path as the edges driven in order (leg, seq, edge id, and
-- whether the edge is driven from its source to its target), each edge turned to the direction driven, as GeoJSON
-- coordinates for the map.
SELECT p.leg, sum(e.length_m) / 1000.0,
       ST_AsGeoJSON(ST_MakeLine(array_agg(CASE WHEN p.forward THEN e.geom ELSE ST_Reverse(e.geom) END
                                          ORDER BY p.seq)), 6)
FROM unnest(%(legs)s::integer[], %(seqs)s::integer[], %(edges)s::bigint[], %(forward)s::boolean[])
     AS p(leg, seq, edge, forward)
JOIN road_edge e ON e.id = p.edge
GROUP BY p.leg
