-- GET /risks/near: the scored features within %(radius)s metres of a point, nearest first, as one GeoJSON
-- FeatureCollection (RFC 7946) with a `summary` member.  The features are written as JSON text with format()
-- and joined with string_agg, never parsed back into json values here, and each of the three top factors is
-- its definition's JSON head (escaped once per query, `definitions`) followed by its stored value and points: so
-- the document costs little more to build than its rows, and the API passes it on as it is.
--
-- Parameters: pt (EWKT point, SRID 4326), radius (metres), kinds (text[]), levels (the level names, lowest
-- first), min_pos (the level filter: the position in `levels` of the lowest level wanted, 1 blue .. 4 red; NULL
-- for none, unscored features included), limit, h3_cell and h3_res (the H3 cell holding the point at the finest
-- configured resolution, computed by the caller with h3).
--
-- Distances are geodesic on WGS 84 (geography).  The GiST indexes are on geometry in degrees, so the KNN
-- operator <-> orders candidates by planar degree distance, which is not quite the geodesic order (a degree of
-- longitude is shorter than a degree of latitude away from the equator).  The query therefore runs in two
-- passes, exact and still index-bound:
--   1. the features nearest by degree distance (KNN index scans) with their geodesic distances, a distance
--      `bound` within which at least `limit` distinct features lie (never beyond the radius), and whether those
--      rows already hold every feature within it (`complete`): risks_near_bound.sql without a level filter,
--      risks_near_bound_by_level.sql (never complete) with one;
--   2. unless complete, every feature within the bound (index prefilter riskmap_expand_m, then its geodesic
--      distance, computed once).  The true `limit` nearest all lie within the bound; they are ordered by exact
--      distance, then kind and id.  Distances are rounded to the centimetre in float arithmetic (the numeric
--      cast costs more), scores to 0.01 as numeric, as every endpoint rounds them.
-- Pipelines count by their nearest segment (pipeline_segment, scored per segment): the feature is the pipeline,
-- its distance, score, level, factors and geometry are those of that segment.
WITH {bound},
searched AS (
    -- pass 2, unless pass 1 already holds everything within the bound (each branch is skipped then)
    SELECT * FROM (
        -- OFFSET 0 keeps the subquery whole, so each distance is computed once (not again in the filter)
        SELECT 'enterprise' AS kind, f.id, f.source_id, f.name, f.geom, 'enterprise' AS risk_kind, f.id AS risk_id,
               NULL::bigint AS segment_id, NULL::integer AS segment_seq,
               ST_Distance(f.geom::geography, %(pt)s::geography) AS distance_m
        FROM enterprise f
        WHERE NOT (SELECT complete FROM bound) AND 'enterprise' = ANY(%(kinds)s)
          AND f.geom && riskmap_expand_m(%(pt)s::geometry, (SELECT m FROM bound))
        UNION ALL
        SELECT 'tailings_pond', f.id, f.source_id, f.name, f.geom, 'tailings_pond', f.id, NULL, NULL,
               ST_Distance(f.geom::geography, %(pt)s::geography)
        FROM tailings_pond f
        WHERE NOT (SELECT complete FROM bound) AND 'tailings_pond' = ANY(%(kinds)s)
          AND f.geom && riskmap_expand_m(%(pt)s::geometry, (SELECT m FROM bound))
        UNION ALL
        SELECT 'venue', f.id, f.source_id, f.name, f.geom, 'venue', f.id, NULL, NULL,
               ST_Distance(f.geom::geography, %(pt)s::geography)
        FROM venue f
        WHERE NOT (SELECT complete FROM bound) AND 'venue' = ANY(%(kinds)s)
          AND f.geom && riskmap_expand_m(%(pt)s::geometry, (SELECT m FROM bound))
        OFFSET 0
    ) point_hits
    WHERE distance_m <= (SELECT m FROM bound)
    UNION ALL
    SELECT * FROM (
        SELECT DISTINCT ON (s.pipeline_id) 'pipeline', s.pipeline_id, NULL::text, NULL::text, s.geom,
               'pipeline_segment', s.id, s.id, s.seq, ST_Distance(s.geom::geography, %(pt)s::geography) AS distance_m
        FROM pipeline_segment s
        LEFT JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = s.id
        WHERE NOT (SELECT complete FROM bound) AND 'pipeline' = ANY(%(kinds)s)
          AND s.geom && riskmap_expand_m(%(pt)s::geometry, (SELECT m FROM bound))
          AND ST_DWithin(s.geom::geography, %(pt)s::geography, (SELECT m FROM bound))
          AND (%(min_pos)s::integer IS NULL OR array_position(%(levels)s::text[], r.level) >= %(min_pos)s)
        ORDER BY s.pipeline_id, distance_m, s.seq
    ) nearest_segment
),
hits AS (
    SELECT kind, id, source_id, name, geom, risk_kind, risk_id, segment_id, segment_seq, distance_m
    FROM knn_features
    WHERE (SELECT complete FROM bound) AND distance_m <= (SELECT m FROM bound)
    UNION ALL
    SELECT * FROM searched
),
nearest AS (
    -- without a level filter the hits are cut to `limit` before their scores are looked up; pipelines get their
    -- source id and name here
    SELECT h.kind, h.id, coalesce(h.source_id, p.source_id) AS source_id, coalesce(h.name, p.name) AS name,
           h.geom, h.risk_kind, h.risk_id, h.segment_id, h.segment_seq, h.distance_m,
           r.score, r.level, r.direct_red, r.factors, r.model_version,
           row_number() OVER (ORDER BY h.distance_m, h.kind, h.id) AS rank
    FROM (SELECT * FROM hits ORDER BY distance_m, kind, id
          LIMIT CASE WHEN %(min_pos)s::integer IS NULL THEN %(limit)s END) h
    LEFT JOIN feature_risk r ON r.kind = h.risk_kind AND r.feature_id = h.risk_id
    LEFT JOIN pipeline p ON h.kind = 'pipeline' AND p.id = h.id
    WHERE %(min_pos)s::integer IS NULL OR array_position(%(levels)s::text[], r.level) >= %(min_pos)s
    ORDER BY h.distance_m, h.kind, h.id
    LIMIT %(limit)s
),
definitions AS MATERIALIZED (
    -- each factor definition, keyed "version/kind/factor" (one hash key), as the head of its JSON object:
    -- {"factor":..,"title":..,"source":..,"unit":..
    SELECT d.model_version || '/' || d.kind || '/' || d.factor AS key,
           '{"factor":' || to_json(d.factor)::text || ',"title":' || to_json(d.title)::text
           || ',"source":' || to_json(d.source)::text || ',"unit":' || to_json(d.unit)::text AS head
    FROM risk_factor_def d
),
features AS (
    -- one GeoJSON Feature as text per row; the top factors are the first three stored (highest points first,
    -- migration 0007), each with its definition (a factor without one keeps null title, source and unit)
    SELECT n.rank, n.level, format(
        '{"type":"Feature","id":"%%s.%%s","geometry":%%s,"properties":{"id":%%s,"source_id":%%s,"kind":"%%s",'
        '"name":%%s,"distance_m":%%s,"score":%%s,"level":%%s,"direct_red":%%s,"top_factors":[%%s],'
        '"model_version":%%s,"segment":%%s}}',
        n.kind, n.id, ST_AsGeoJSON(n.geom, 7), n.id, to_json(n.source_id), n.kind,
        to_json(n.name), round(n.distance_m * 100.0) / 100.0, coalesce(round(n.score::numeric, 2)::text, 'null'),
        coalesce(to_json(n.level)::text, 'null'), coalesce(to_json(n.direct_red)::text, 'null'),
        concat_ws(',',
            CASE WHEN n.factors -> 0 IS NOT NULL THEN
                 coalesce(d0.head, '{"factor":' || to_json(n.factors -> 0 ->> 0)::text
                                     || ',"title":null,"source":null,"unit":null')
                 || ',"value":' || (n.factors -> 0 -> 1)::text || ',"points":' || (n.factors -> 0 -> 2)::text
                 || ',"assumed":' || (n.factors -> 0 -> 3)::text || '}' END,
            CASE WHEN n.factors -> 1 IS NOT NULL THEN
                 coalesce(d1.head, '{"factor":' || to_json(n.factors -> 1 ->> 0)::text
                                     || ',"title":null,"source":null,"unit":null')
                 || ',"value":' || (n.factors -> 1 -> 1)::text || ',"points":' || (n.factors -> 1 -> 2)::text
                 || ',"assumed":' || (n.factors -> 1 -> 3)::text || '}' END,
            CASE WHEN n.factors -> 2 IS NOT NULL THEN
                 coalesce(d2.head, '{"factor":' || to_json(n.factors -> 2 ->> 0)::text
                                     || ',"title":null,"source":null,"unit":null')
                 || ',"value":' || (n.factors -> 2 -> 1)::text || ',"points":' || (n.factors -> 2 -> 2)::text
                 || ',"assumed":' || (n.factors -> 2 -> 3)::text || '}' END),
        coalesce(to_json(n.model_version)::text, 'null'),
        CASE WHEN n.segment_id IS NOT NULL
             THEN format('{"id":%%s,"seq":%%s}', n.segment_id, n.segment_seq) ELSE 'null' END
    ) AS feature
    FROM nearest n
    LEFT JOIN definitions d0 ON d0.key = n.model_version || '/' || n.risk_kind || '/' || (n.factors -> 0 ->> 0)
    LEFT JOIN definitions d1 ON d1.key = n.model_version || '/' || n.risk_kind || '/' || (n.factors -> 1 ->> 0)
    LEFT JOIN definitions d2 ON d2.key = n.model_version || '/' || n.risk_kind || '/' || (n.factors -> 2 ->> 0)
),
exposure AS (
    -- the exposure surface at the point: the nearest cell centre within one cell size (the resolution column
    -- holds the cell size in metres), else 0.  The search box is computed once (an InitPlan), not per row.
    SELECT e.value
    FROM exposure_cell e
    WHERE e.geom && (SELECT riskmap_expand_m(%(pt)s::geometry, r)
                     FROM (SELECT max(resolution) AS r FROM exposure_cell) cell_size)
      AND ST_DWithin(e.geom::geography, %(pt)s::geography, e.resolution)
    ORDER BY ST_Distance(e.geom::geography, %(pt)s::geography)
    LIMIT 1
),
admin AS (
    -- the smallest administrative area holding the point (township, else county, city, province)
    SELECT a.admin_code, a.name, a.level,
           array_position(ARRAY['province', 'city', 'county', 'township'], a.level) AS resolution
    FROM area a
    WHERE a.geom && %(pt)s::geometry AND ST_Intersects(a.geom, %(pt)s::geometry)
    ORDER BY resolution DESC, a.admin_code
    LIMIT 1
)
SELECT '{"type":"FeatureCollection","features":[' || coalesce(f.features, '') || '],"summary":'
       || json_build_object(
        'returned', f.returned,
        'complete', f.returned < %(limit)s,
        'counts', json_build_object('red', f.red, 'orange', f.orange, 'yellow', f.yellow, 'blue', f.blue,
                                    'unscored', f.unscored),
        'worst_level', (%(levels)s::text[])[f.worst],
        'exposure', coalesce((SELECT round(value::numeric, 3) FROM exposure), 0),
        'admin_area', (SELECT json_build_object('id', a.admin_code, 'name', a.name, 'admin_level', a.level,
                                                'level', ar.level, 'score', round(ar.score::numeric, 2))
                       FROM admin a
                       LEFT JOIN area_risk ar ON ar.area_type = 'admin' AND ar.area_id = a.admin_code
                                             AND ar.resolution = a.resolution),
        'h3_cell', (SELECT json_build_object('id', %(h3_cell)s::text, 'resolution', %(h3_res)s::integer,
                                             'level', ar.level, 'score', round(ar.score::numeric, 2))
                    FROM (SELECT) point
                    LEFT JOIN area_risk ar ON ar.area_type = 'h3' AND ar.resolution = %(h3_res)s
                                          AND ar.area_id = %(h3_cell)s)
    )::text || '}'
FROM (
    -- the features and their counts in one pass
    SELECT string_agg(feature, ',' ORDER BY rank) AS features, count(*) AS returned,
           count(*) FILTER (WHERE level = 'red') AS red, count(*) FILTER (WHERE level = 'orange') AS orange,
           count(*) FILTER (WHERE level = 'yellow') AS yellow, count(*) FILTER (WHERE level = 'blue') AS blue,
           count(*) FILTER (WHERE level IS NULL) AS unscored,
           max(array_position(%(levels)s::text[], level)) AS worst
    FROM features
) f
