-- GET /features: one page of the features of one class (table {table}), in id order after %(after)s (keyset
-- pagination: no OFFSET, no count), each row a GeoJSON Feature (RFC 7946) as text.  One row more than the page
-- is asked for, to know whether another page follows.  The page's ids are found first and only its rows are
-- turned into GeoJSON (a box may hold thousands of features; the page holds `limit`).  {extra}: the class's
-- own properties the map draws with (a pond's downstream direction, a venue's type), from api/routes/features.py.
WITH page AS (
    SELECT f.id
    FROM {table} f
    LEFT JOIN feature_risk r ON r.kind = %(kind)s AND r.feature_id = f.id
    WHERE (%(after)s::bigint IS NULL OR f.id > %(after)s)
      AND (%(nobox)s OR (f.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                         AND ST_Intersects(f.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))))
      AND (%(levels)s::text[] IS NULL OR r.level = ANY(%(levels)s::text[]))
    ORDER BY f.id
    LIMIT %(limit)s + 1
)
SELECT json_build_object(
           'type', 'Feature',
           'id', %(kind)s || '.' || f.id,
           'geometry', ST_AsGeoJSON(f.geom, 7)::json,
           'properties', json_build_object(
               'id', f.id, 'source_id', f.source_id, 'kind', %(kind)s, 'name', f.name,
               'score', round(r.score::numeric, 2), 'level', r.level, 'direct_red', r.direct_red
               {extra}))::text,
       f.id
FROM page p
JOIN {table} f ON f.id = p.id
LEFT JOIN feature_risk r ON r.kind = %(kind)s AND r.feature_id = f.id
ORDER BY f.id
