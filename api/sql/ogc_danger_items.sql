-- GET /ogc/collections/hidden_danger/items (and /items/<feature>): hidden danger records at their site's location
-- (the site's geometry: a point or polygon, a pipeline's line), one keyset page in id order after %(after)s, or in
-- reverse order before %(before)s ({direction}); each row a GeoJSON Feature as text and its id, with the record's
-- grade, status and dates and its site's score, level and top factors.  datetime filters on found_on.  One row more
-- than the page is asked for.  The CQL2 filter's condition (TRUE without one) reads h, s.geom and
-- r (api/ogc/filters.py).  Row-level security limits a user of some areas to the records of their sites.
WITH located AS (
    SELECT h.id, s.geom
    FROM hidden_danger h
    CROSS JOIN LATERAL (
        SELECT geom FROM enterprise WHERE h.site_kind = 'enterprise' AND id = h.site_id
        UNION ALL SELECT geom FROM tailings_pond WHERE h.site_kind = 'tailings_pond' AND id = h.site_id
        UNION ALL SELECT geom FROM venue WHERE h.site_kind = 'venue' AND id = h.site_id
        UNION ALL SELECT geom FROM pipeline WHERE h.site_kind = 'pipeline' AND id = h.site_id) AS s
    LEFT JOIN feature_risk r ON r.kind = h.site_kind AND r.feature_id = h.site_id
    WHERE (%(fid)s::bigint IS NULL OR h.id = %(fid)s)
      AND (%(after)s::bigint IS NULL OR h.id > %(after)s)
      AND (%(before)s::bigint IS NULL OR h.id < %(before)s)
      AND (%(nodate)s OR (h.found_on >= %(d0)s::date AND h.found_on <= %(d1)s::date))
      AND {filter}
), page AS (
    SELECT l.id, l.geom
    FROM located l
    WHERE %(nobox)s OR (l.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                        AND ST_Intersects(l.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)))
    ORDER BY l.id {direction}
    LIMIT %(limit)s + 1
)
SELECT json_build_object(
           'type', 'Feature',
           'id', h.id,
           'geometry', ST_AsGeoJSON(p.geom, 7)::json,
           'properties', json_build_object(
               'source_id', h.source_id, 'site_kind', h.site_kind, 'site_id', h.site_id,
               'description', h.description, 'category', h.category, 'grade', h.grade, 'status', h.status,
               'found_on', h.found_on, 'deadline', h.deadline, 'rectified_on', h.rectified_on,
               'verified_on', h.verified_on,
               'score', round(r.score::numeric, 2), 'level', r.level, 'direct_red', r.direct_red,
               'top_factors', (SELECT string_agg(e.f ->> 0, ',' ORDER BY e.n)
                               FROM jsonb_array_elements(r.factors) WITH ORDINALITY AS e(f, n)
                               WHERE e.n <= 3 AND (e.f ->> 2)::double precision > 0))
       )::text,
       h.id
FROM page p
JOIN hidden_danger h ON h.id = p.id
LEFT JOIN feature_risk r ON r.kind = h.site_kind AND r.feature_id = h.site_id
ORDER BY h.id {direction}
