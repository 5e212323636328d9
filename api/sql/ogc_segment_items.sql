-- GET /ogc/collections/pipeline_segment/items (and /items/<feature>): one keyset page of pipeline segments in id
-- order after %(after)s, or in reverse id order before %(before)s ({direction}), each row a GeoJSON Feature as text
-- and its id, with its pipeline, score, level and top factors.  One row more than the page is asked for.
-- The CQL2 filter's condition (TRUE without one) reads s and r (api/ogc/filters.py).
WITH page AS (
    SELECT s.id
    FROM pipeline_segment s
    LEFT JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = s.id
    WHERE (%(fid)s::bigint IS NULL OR s.id = %(fid)s)
      AND (%(after)s::bigint IS NULL OR s.id > %(after)s)
      AND (%(before)s::bigint IS NULL OR s.id < %(before)s)
      AND (%(nobox)s OR (s.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                         AND ST_Intersects(s.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))))
      AND {filter}
    ORDER BY s.id {direction}
    LIMIT %(limit)s + 1
)
SELECT json_build_object(
           'type', 'Feature',
           'id', s.id,
           'geometry', ST_AsGeoJSON(s.geom, 7)::json,
           'properties', json_build_object(
               'pipeline_id', s.pipeline_id, 'name', p.name, 'seq', s.seq,
               'length_m', round(s.length_m::numeric, 1),
               'score', round(r.score::numeric, 2), 'level', r.level, 'direct_red', r.direct_red,
               'top_factors', (SELECT string_agg(e.f ->> 0, ',' ORDER BY e.n)
                               FROM jsonb_array_elements(r.factors) WITH ORDINALITY AS e(f, n)
                               WHERE e.n <= 3 AND (e.f ->> 2)::double precision > 0))
       )::text,
       s.id
FROM page pg
JOIN pipeline_segment s ON s.id = pg.id
JOIN pipeline p ON p.id = s.pipeline_id
LEFT JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = s.id
ORDER BY s.id {direction}
