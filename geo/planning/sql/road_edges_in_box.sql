-- The road edges whose box meets the given box (the same test as the edge query of edges_around).
SELECT coalesce(array_agg(id), '{}') FROM road_edge
WHERE geom && ST_MakeEnvelope(%(xmin)s, %(ymin)s, %(xmax)s, %(ymax)s, 4326)
