-- Exact geodesic distances (WGS 84 spheroid, metres) between pairs of geometries, in the order given: the
-- final word on the few pairs a bulk proximity search cannot decide from projected distances (proximity.py).
SELECT ST_Distance(ST_GeomFromWKB(t.a, 4326)::geography, ST_GeomFromWKB(t.b, 4326)::geography)
FROM unnest(%(a)s::bytea[], %(b)s::bytea[]) WITH ORDINALITY AS t(a, b, i)
ORDER BY t.i
