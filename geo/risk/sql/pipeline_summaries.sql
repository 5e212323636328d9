-- The pipelines' rows of feature_risk (geo/risk/pipeline_summary.py): each takes the score, level, direct-red
-- reason and factors of its worst segment (riskmap_pipeline_summary.worst_seq, chosen in Python); its details are
-- the summary over all its segments, with the worst segment's own rule outputs under worst_segment_details.
-- %(all)s: every pipeline is summarised, so the rows of pipelines left without scored segments go too.
DELETE FROM feature_risk
WHERE kind = 'pipeline' AND (%(all)s OR feature_id IN (SELECT pipeline_id FROM riskmap_pipeline_summary));
INSERT INTO feature_risk (kind, feature_id, score, level, direct_red, factors, details, model_version)
SELECT 'pipeline', s.pipeline_id, r.score, r.level, r.direct_red, r.factors,
       s.details || jsonb_build_object('worst_segment_details', r.details), %(version)s
FROM riskmap_pipeline_summary s
JOIN pipeline_segment g ON g.pipeline_id = s.pipeline_id AND g.seq = s.worst_seq
JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = g.id;
