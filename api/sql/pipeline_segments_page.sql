-- GET /pipeline-segments: one page of pipeline segments (about 1 km each, scored one by one) in a box, in id order
-- after %(after)s (keyset), each a GeoJSON Feature as text with its pipeline, score and level: the map colours a
-- pipeline by the level of each stretch.  One row more than the page is asked for, to know whether another follows.
WITH page AS (
    SELECT s.id
    FROM pipeline_segment s
    WHERE (%(after)s::bigint IS NULL OR s.id > %(after)s)
      AND (%(nobox)s OR (s.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                         AND ST_Intersects(s.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))))
    ORDER BY s.id
    LIMIT %(limit)s + 1
)
SELECT json_build_object(
           'type', 'Feature',
           'id', 'pipeline_segment.' || s.id,
           'geometry', ST_AsGeoJSON(s.geom, 7)::json,
           'properties', json_build_object(
               'id', s.id, 'pipeline_id', s.pipeline_id, 'name', p.name, 'seq', s.seq,
               'length_m', round(s.length_m::numeric, 1), 'score', round(r.score::numeric, 2), 'level', r.level,
               'direct_red', r.direct_red))::text,
       s.id
FROM page pg
JOIN pipeline_segment s ON s.id = pg.id
JOIN pipeline p ON p.id = s.pipeline_id
LEFT JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = s.id
ORDER BY s.id
