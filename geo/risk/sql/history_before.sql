-- Before a scoring run writes its results: the stored score and level of the features whose history it may
-- change (score_history, migration 0014; geo/risk/history.py).  A full run: every feature but the pipeline
-- segments.  An incremental one: the features it re-scores (%(kinds)s, %(ids)s), the pipelines of the segments it
-- re-scores (%(segments)s, after their re-cut), and the features deleted since the last run.
SELECT r.kind, r.feature_id, r.score, r.level FROM feature_risk r
WHERE %(full)s AND r.kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue')
UNION ALL
SELECT r.kind, r.feature_id, r.score, r.level
FROM (SELECT k.kind, k.feature_id FROM unnest(%(kinds)s::text[], %(ids)s::bigint[]) AS k(kind, feature_id)
      UNION SELECT 'pipeline', g.pipeline_id FROM pipeline_segment g WHERE g.id = ANY(%(segments)s::bigint[])
      UNION SELECT x.kind, x.feature_id FROM riskmap_run_removed x
            WHERE x.kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue')) k
JOIN feature_risk r ON r.kind = k.kind AND r.feature_id = k.feature_id
WHERE NOT %(full)s
