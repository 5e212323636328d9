-- The scored segments of every pipeline, for the pipelines' summaries (geo/risk/pipeline_summary.py): their place
-- and length along the line, score and level, HCA grade, and for the HCA segments the GB 32167 conditions met
-- (the value of the factor hca_conditions) and whether the grade rests on an assumed value (the factor hca_grade's
-- flag).  Factors are stored as [factor, value, points, assumed] arrays.  %(ids)s: only the pipelines holding
-- these segments (the re-scored ones), all when NULL.
SELECT g.pipeline_id, g.seq, g.length_m, r.score, r.level,
       coalesce((r.details ->> 'hca_grade')::integer, 0) AS hca_grade,
       h.conditions AS hca_conditions,
       coalesce(h.assumed, false) AS hca_assumed
FROM pipeline_segment g
JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = g.id
LEFT JOIN LATERAL (
    SELECT max(e.f ->> 1) FILTER (WHERE e.f ->> 0 = 'hca_conditions') AS conditions,
           bool_or((e.f ->> 3)::boolean) FILTER (WHERE e.f ->> 0 = 'hca_grade') AS assumed
    FROM jsonb_array_elements(r.factors) AS e(f)
) h ON coalesce((r.details ->> 'hca_grade')::integer, 0) > 0
WHERE %(ids)s::bigint[] IS NULL OR g.pipeline_id IN (SELECT pipeline_id FROM pipeline_segment WHERE id = ANY(%(ids)s))
