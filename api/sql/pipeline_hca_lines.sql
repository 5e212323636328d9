-- GET /features/pipeline/ID as a page: the lines of the pipeline's high-consequence-area segments (%(seqs)s, from
-- its summary), each a GeoJSON Feature as text with its seq, drawn on the page's map.
SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(g.geom, 7)::json,
                         'properties', json_build_object('seq', g.seq))::text
FROM pipeline_segment g
WHERE g.pipeline_id = %(id)s AND g.seq = ANY(%(seqs)s)
ORDER BY g.seq
