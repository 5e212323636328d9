-- GET /features/KIND/ID: one feature of the table {table} with its stored attributes and the full explanation
-- of its score: every factor (value, points, assumed) with its definition (title, source, unit), the rule details and
-- the direct-red reason.  Factor definitions are per scored kind (%(factor_kind)s: a pipeline's factors are those
-- of its worst segment, defined for 'pipeline_segment').  No row: no such feature.
-- latest_inspection: the site's last inspection as of %(as_of)s, by the rule scoring, supervision and plans follow
-- (docs/risk-model.md "Records"): the latest inspection record that took place (outcome not 'not_inspected')
-- when the site has one, else the register's date (the column %(register)s: the enterprise's and pond's
-- last_inspection, the venue's last_fire_inspection; none for a pipeline); with its source ('record' or
-- 'register'), the register's date beside it and the latest record.  NULL when neither holds one.
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
        'latest_inspection', CASE WHEN rec.id IS NOT NULL OR reg.day IS NOT NULL THEN json_build_object(
            'date', CASE WHEN rec.id IS NOT NULL THEN rec.inspected_on ELSE reg.day END,
            'source', CASE WHEN rec.id IS NOT NULL THEN 'record' ELSE 'register' END,
            'register_field', %(register)s::text,
            'register_date', reg.day,
            'record', CASE WHEN rec.id IS NOT NULL THEN json_build_object(
                'id', rec.id, 'source_id', rec.source_id, 'inspected_on', rec.inspected_on,
                'inspection_type', rec.inspection_type, 'outcome', rec.outcome, 'team', rec.team) END) END,
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
CROSS JOIN LATERAL (SELECT (to_jsonb(f) ->> %(register)s::text)::date AS day) reg
LEFT JOIN LATERAL (
    SELECT i.id, i.source_id, i.inspected_on, i.inspection_type, i.outcome, i.team
    FROM inspection i
    WHERE i.site_kind = %(kind)s AND i.site_id = f.id AND i.outcome IS DISTINCT FROM 'not_inspected'
      AND i.inspected_on <= %(as_of)s::date
    ORDER BY i.inspected_on DESC, i.id DESC
    LIMIT 1
) rec ON true
WHERE f.id = %(id)s
