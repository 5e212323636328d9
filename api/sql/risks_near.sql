-- GET /risks/near: the scored features within %(radius)s metres of a point, nearest first, as one GeoJSON
-- FeatureCollection (RFC 7946) with a `summary` member.  Each feature's `top_factors` are its first three stored
-- factors as compact [factor, value, points, assumed] arrays (stored highest points first, migration 0007), and
-- the document carries a `factor_definitions` member (title, source, unit per "version/kind/factor"): the API
-- expands the factors from it (api/routes/near.py), which costs far less there than joining definitions here.
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
--   1. a distance `bound` within which at least `limit` distinct features lie (never beyond the
--      radius): risks_near_bound.sql without a level filter, risks_near_bound_by_level.sql with one;
--   2. every feature within the bound (index prefilter riskmap_expand_m, then its geodesic distance, computed
--      once), ordered by exact distance.  The true `limit` nearest all lie within the bound.
-- Pipelines count by their nearest segment (pipeline_segment, scored per segment): the feature is the pipeline,
-- its distance, score, level, factors and geometry are those of that segment.
WITH {bound},
hits AS (
    SELECT * FROM (
        -- OFFSET 0 keeps the subquery whole, so each distance is computed once (not again in the filter)
        SELECT 'enterprise' AS kind, f.id, f.source_id, f.name, f.geom, 'enterprise' AS risk_kind, f.id AS risk_id,
               NULL::bigint AS segment_id, NULL::integer AS segment_seq,
               ST_Distance(f.geom::geography, %(pt)s::geography) AS distance_m
        FROM enterprise f
        WHERE 'enterprise' = ANY(%(kinds)s) AND f.geom && riskmap_expand_m(%(pt)s::geometry, (SELECT m FROM bound))
        UNION ALL
        SELECT 'tailings_pond', f.id, f.source_id, f.name, f.geom, 'tailings_pond', f.id, NULL, NULL,
               ST_Distance(f.geom::geography, %(pt)s::geography)
        FROM tailings_pond f
        WHERE 'tailings_pond' = ANY(%(kinds)s)
          AND f.geom && riskmap_expand_m(%(pt)s::geometry, (SELECT m FROM bound))
        UNION ALL
        SELECT 'venue', f.id, f.source_id, f.name, f.geom, 'venue', f.id, NULL, NULL,
               ST_Distance(f.geom::geography, %(pt)s::geography)
        FROM venue f
        WHERE 'venue' = ANY(%(kinds)s) AND f.geom && riskmap_expand_m(%(pt)s::geometry, (SELECT m FROM bound))
        OFFSET 0
    ) point_hits
    WHERE distance_m <= (SELECT m FROM bound)
    UNION ALL
    SELECT * FROM (
        SELECT DISTINCT ON (s.pipeline_id) 'pipeline', p.id, p.source_id, p.name, s.geom, 'pipeline_segment',
               s.id, s.id, s.seq, ST_Distance(s.geom::geography, %(pt)s::geography) AS distance_m
        FROM pipeline_segment s
        JOIN pipeline p ON p.id = s.pipeline_id
        LEFT JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = s.id
        WHERE 'pipeline' = ANY(%(kinds)s)
          AND s.geom && riskmap_expand_m(%(pt)s::geometry, (SELECT m FROM bound))
          AND ST_DWithin(s.geom::geography, %(pt)s::geography, (SELECT m FROM bound))
          AND (%(min_pos)s::integer IS NULL OR array_position(%(levels)s::text[], r.level) >= %(min_pos)s)
        ORDER BY s.pipeline_id, distance_m, s.seq
    ) nearest_segment
),
nearest AS (
    SELECT h.*, r.score, r.level, r.direct_red, r.factors, r.model_version,
           row_number() OVER (ORDER BY h.distance_m, h.kind, h.id) AS rank
    FROM hits h
    LEFT JOIN feature_risk r ON r.kind = h.risk_kind AND r.feature_id = h.risk_id
    WHERE %(min_pos)s::integer IS NULL OR array_position(%(levels)s::text[], r.level) >= %(min_pos)s
    ORDER BY h.distance_m, h.kind, h.id
    LIMIT %(limit)s
),
features AS (
    SELECT n.rank, n.level, json_build_object(
        'type', 'Feature',
        'id', n.kind || '.' || n.id,
        'geometry', ST_AsGeoJSON(n.geom, 7)::json,
        'properties', json_build_object(
            'id', n.id, 'source_id', n.source_id, 'kind', n.kind, 'name', n.name,
            'distance_m', round(n.distance_m::numeric, 2),
            'score', round(n.score::numeric, 2), 'level', n.level, 'direct_red', n.direct_red,
            'top_factors', coalesce(jsonb_path_query_array(n.factors, '$[0 to 2]'), '[]'::jsonb),
            'model_version', n.model_version,
            'segment', CASE WHEN n.segment_id IS NOT NULL
                            THEN json_build_object('id', n.segment_id, 'seq', n.segment_seq) END)
    ) AS feature
    FROM nearest n
),
exposure AS (
    -- the exposure surface at the point: the nearest cell centre within one cell size (the resolution column
    -- holds the cell size in metres), else 0.  The search box is computed once (an InitPlan), not per row.
    SELECT e.value
    FROM exposure_cell e
    WHERE e.geom && (SELECT riskmap_expand_m(%(pt)s::geometry, max(resolution)) FROM exposure_cell)
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
SELECT json_build_object(
    'type', 'FeatureCollection',
    'features', coalesce((SELECT json_agg(feature ORDER BY rank) FROM features), '[]'::json),
    'factor_definitions', (SELECT json_object_agg(d.model_version || '/' || d.kind || '/' || d.factor,
                                                  json_build_array(d.title, d.source, d.unit))
                           FROM risk_factor_def d
                           WHERE d.model_version IN (SELECT model_version FROM nearest)
                             AND d.kind IN (SELECT risk_kind FROM nearest)),
    'summary', json_build_object(
        'returned', (SELECT count(*) FROM features),
        'complete', (SELECT count(*) FROM features) < %(limit)s,
        'counts', (SELECT json_build_object(
                       'red', count(*) FILTER (WHERE level = 'red'),
                       'orange', count(*) FILTER (WHERE level = 'orange'),
                       'yellow', count(*) FILTER (WHERE level = 'yellow'),
                       'blue', count(*) FILTER (WHERE level = 'blue'),
                       'unscored', count(*) FILTER (WHERE level IS NULL))
                   FROM features),
        'worst_level', (SELECT level FROM features WHERE level IS NOT NULL
                        ORDER BY array_position(%(levels)s::text[], level) DESC LIMIT 1),
        'exposure', coalesce((SELECT round(value::numeric, 3) FROM exposure), 0),
        'admin_area', (SELECT json_build_object('id', a.admin_code, 'name', a.name, 'admin_level', a.level,
                                                'level', ar.level, 'score', round(ar.score::numeric, 2))
                       FROM admin a
                       LEFT JOIN area_risk ar ON ar.area_type = 'admin' AND ar.area_id = a.admin_code
                                             AND ar.resolution = a.resolution),
        'h3_cell', json_build_object(
            'id', %(h3_cell)s::text, 'resolution', %(h3_res)s::integer,
            'level', (SELECT level FROM area_risk WHERE area_type = 'h3' AND resolution = %(h3_res)s
                      AND area_id = %(h3_cell)s),
            'score', (SELECT round(score::numeric, 2) FROM area_risk WHERE area_type = 'h3'
                      AND resolution = %(h3_res)s AND area_id = %(h3_cell)s))
    )
)::text
