-- GET /features/KIND/ID: one feature of the table {table} with its stored attributes and the full explanation
-- of its score: every factor (value, points, assumed) with its definition (title, source, unit), the rule details and
-- the direct-red reason.  Factor definitions are per scored kind (%(factor_kind)s: a pipeline's factors are those
-- of its worst segment, defined for 'pipeline_segment').  No row: no such feature.
SELECT json_build_object(
    'type', 'Feature',
    'id', %(kind)s || '.' || f.id,
    'geometry', ST_AsGeoJSON(f.geom, 7)::json,
    'properties', json_build_object(
        'id', f.id, 'source_id', f.source_id, 'kind', %(kind)s, 'name', f.name,
        'attributes', to_jsonb(f) - ARRAY['id', 'source_id', 'name', 'geom', 'props', 'synthetic',
                                          'created_at', 'updated_at'],
        'extra_properties', f.props,
        'synthetic', f.synthetic,
        'updated_at', f.updated_at,
        'score', round(r.score::numeric, 2),
        'level', r.level,
        'direct_red', r.direct_red,
        'model_version', r.model_version,
        'computed_at', r.computed_at,
        'details', r.details,
        'factors', coalesce((
            SELECT json_agg(json_build_object(
                       'factor', e.f ->> 0, 'title', d.title, 'source', d.source, 'unit', d.unit,
                       'value', e.f -> 1, 'points', e.f -> 2, 'assumed', e.f -> 3)
                   ORDER BY e.n)
            FROM jsonb_array_elements(r.factors) WITH ORDINALITY AS e(f, n)
            LEFT JOIN risk_factor_def d
                   ON d.model_version = r.model_version AND d.kind = %(factor_kind)s AND d.factor = e.f ->> 0
        ), '[]'::json)))::text
FROM {table} f
LEFT JOIN feature_risk r ON r.kind = %(kind)s AND r.feature_id = f.id
WHERE f.id = %(id)s
