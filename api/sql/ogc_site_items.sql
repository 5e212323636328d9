-- GET /ogc/collections/<collection>/items (and /items/<feature>) of a site layer (table {table}: enterprise,
-- tailings_pond, venue): one keyset page in id order after %(after)s, or in reverse id order before %(before)s
-- ({direction} DESC, for a `prev` link), each row a GeoJSON Feature (RFC 7946) as text and its id.  One row more
-- than the page is asked for, to know whether another page follows.  A box keeps the features that intersect it;
-- a date range the ones whose {date} lies in it (null dates never match).  {extra}: the class's own columns
-- (api/ogc/layers.py).  {geometry}: the feature's geometry, f.geom or its point on surface (a layer of tailings ponds
-- as points); {kept}: TRUE, or the rows stored as polygons only (their outlines).  A box tests {geometry}, after the
-- index on f.geom (a point on surface lies in its geometry, so f.geom meets every box its point meets).  The CQL2
-- filter's condition (TRUE without one) reads f and r (api/ogc/filters.py).  Row-level security limits a user of some
-- areas to theirs.
WITH page AS (
    SELECT f.id
    FROM {table} f
    LEFT JOIN feature_risk r ON r.kind = %(kind)s AND r.feature_id = f.id
    WHERE (%(fid)s::bigint IS NULL OR f.id = %(fid)s)
      AND (%(after)s::bigint IS NULL OR f.id > %(after)s)
      AND (%(before)s::bigint IS NULL OR f.id < %(before)s)
      AND (%(nobox)s OR (f.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                         AND ST_Intersects({geometry}, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))))
      AND {kept}
      AND (%(nodate)s OR (f.{date} >= %(d0)s::date AND f.{date} <= %(d1)s::date))
      AND {filter}
    ORDER BY f.id {direction}
    LIMIT %(limit)s + 1
)
SELECT json_build_object(
           'type', 'Feature',
           'id', f.id,
           'geometry', ST_AsGeoJSON({geometry}, 7)::json,
           'properties', json_build_object(
               'source_id', f.source_id, 'name', f.name {extra},
               'score', round(r.score::numeric, 2), 'level', r.level, 'direct_red', r.direct_red,
               'top_factors', (SELECT string_agg(e.f ->> 0, ',' ORDER BY e.n)
                               FROM jsonb_array_elements(r.factors) WITH ORDINALITY AS e(f, n)
                               WHERE e.n <= 3 AND (e.f ->> 2)::double precision > 0))
       )::text,
       f.id
FROM page p
JOIN {table} f ON f.id = p.id
LEFT JOIN feature_risk r ON r.kind = %(kind)s AND r.feature_id = f.id
ORDER BY f.id {direction}
