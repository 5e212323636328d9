-- riskmap map --area: the data of a self-contained map page of one admin area, as one JSON document:
--   area      the area (code, name, admin level, level and score, bounding box);
--   outlines  the county outlines inside it (or the area's own outline), simplified to about 100 m;
--   zoning    its H3 cells at resolution %(resolution)s (centres inside the area), with level and score;
--   features  its red and orange features, worst first (at most %(max_features)s), each as a point with its
--             level, score and top three factors' titles.
WITH target AS (
    SELECT a.admin_code, a.name, a.level, a.geom, r.level AS risk_level, r.score
    FROM area a
    LEFT JOIN area_risk r ON r.area_type = 'admin' AND r.area_id = a.admin_code
    WHERE a.admin_code = %(area)s
),
hot AS (
    SELECT 'enterprise' AS kind, f.id, f.name, f.geom AS point, f.synthetic FROM enterprise f
    UNION ALL SELECT 'tailings_pond', f.id, f.name, ST_PointOnSurface(f.geom), f.synthetic FROM tailings_pond f
    UNION ALL SELECT 'venue', f.id, f.name, ST_PointOnSurface(f.geom), f.synthetic FROM venue f
    UNION ALL SELECT 'pipeline', p.id, p.name, ST_LineInterpolatePoint(ST_LineMerge(p.geom), 0.5), p.synthetic
              FROM pipeline p WHERE GeometryType(ST_LineMerge(p.geom)) = 'LINESTRING'
),
chosen AS (
    SELECT h.kind, h.id, h.name, h.point, h.synthetic, r.level, r.score, r.factors, r.model_version
    FROM hot h
    JOIN feature_risk r ON r.kind = h.kind AND r.feature_id = h.id
    JOIN target t ON h.point && t.geom AND ST_Intersects(h.point, t.geom)
    WHERE r.level IN ('red', 'orange')
    ORDER BY r.level = 'red' DESC, r.score DESC, h.kind, h.id
    LIMIT %(max_features)s
)
SELECT json_build_object(
    'area', (SELECT json_build_object(
                 'id', admin_code, 'name', name, 'admin_level', level, 'level', risk_level,
                 'score', round(score::numeric, 2),
                 'bbox', json_build_array(ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)))
             FROM target),
    'synthetic', (SELECT bool_or(synthetic) FROM chosen),
    'outlines', json_build_object('type', 'FeatureCollection', 'features', coalesce((
        SELECT json_agg(json_build_object(
                   'type', 'Feature',
                   'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, 0.001), 5)::json,
                   'properties', json_build_object('id', a.admin_code, 'name', a.name)))
        FROM area a, target t
        WHERE (a.admin_code = t.admin_code OR (a.level = 'county' AND t.level IN ('province', 'city')))
          AND a.geom && t.geom AND ST_Intersects(ST_PointOnSurface(a.geom), t.geom)), '[]'::json)),
    'zoning', json_build_object('type', 'FeatureCollection', 'features', coalesce((
        SELECT json_agg(json_build_object(
                   'type', 'Feature',
                   'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(r.geom), 5)::json,
                   'properties', json_build_object('id', r.area_id, 'level', r.level,
                                                   'score', round(r.score::numeric, 2), 'features', r.features)))
        FROM area_risk r, target t
        WHERE r.area_type = 'h3' AND r.resolution = %(resolution)s
          AND r.geom && t.geom AND ST_Intersects(ST_Centroid(r.geom), t.geom)), '[]'::json)),
    'features', json_build_object('type', 'FeatureCollection', 'features', coalesce((
        SELECT json_agg(json_build_object(
                   'type', 'Feature',
                   'geometry', ST_AsGeoJSON(c.point, 6)::json,
                   'properties', json_build_object(
                       'kind', c.kind, 'id', c.id, 'name', c.name, 'level', c.level,
                       'score', round(c.score::numeric, 2),
                       'factors', (SELECT string_agg(coalesce(d.title, e.f ->> 0), '; ' ORDER BY e.n)
                                   FROM jsonb_array_elements(c.factors) WITH ORDINALITY AS e(f, n)
                                   LEFT JOIN risk_factor_def d
                                          ON d.model_version = c.model_version
                                         AND d.kind = CASE WHEN c.kind = 'pipeline' THEN 'pipeline_segment'
                                                           ELSE c.kind END
                                         AND d.factor = e.f ->> 0
                                   WHERE e.n <= 3)))
               ORDER BY c.level = 'red' DESC, c.score DESC)
        FROM chosen c), '[]'::json))
)::text
