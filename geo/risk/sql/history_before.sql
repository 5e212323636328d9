-- Before a scoring run writes its results: which features' history it may change, and their stored score and
-- level now (score_history, migration 0014).  A full run: every feature but the pipeline segments.  An
-- incremental one: the features it re-scores (%(kinds)s, %(ids)s), the pipelines of the segments it re-scores,
-- and the features deleted since the last run.
CREATE TEMP TABLE riskmap_history_keys ON COMMIT DROP AS
SELECT k.kind, k.feature_id FROM unnest(%(kinds)s::text[], %(ids)s::bigint[]) AS k(kind, feature_id)
WHERE NOT %(full)s
UNION SELECT 'pipeline', g.pipeline_id FROM pipeline_segment g
      WHERE NOT %(full)s AND g.id = ANY(%(segments)s::bigint[])
UNION SELECT x.kind, x.feature_id FROM riskmap_run_removed x
      WHERE NOT %(full)s AND x.kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue');
CREATE TEMP TABLE riskmap_history_before ON COMMIT DROP AS
SELECT r.kind, r.feature_id, r.score, r.level FROM feature_risk r
WHERE %(full)s AND r.kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue')
UNION ALL
SELECT r.kind, r.feature_id, r.score, r.level
FROM riskmap_history_keys k JOIN feature_risk r ON r.kind = k.kind AND r.feature_id = k.feature_id
WHERE NOT %(full)s;
