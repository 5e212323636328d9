-- The state of the stored scores, for GET /health on every call and at any size: nothing here reads more than
-- one row of feature_risk (a million rows there), and the risk list takes the first column when it lists nothing.
--   model_version: the model of the last scoring run (score_run), or, for scores made before migration 0011,
--     of any stored score (a run records its model, and a change of model makes that run a full one);
--   pending_changes: the change records (risk_dirty) and deleted features (risk_removed) no committed run has
--     taken yet; a run in progress still counts them, as its taking them is not committed;
--   updating, updating_since: a scoring run holds feature_risk's EXCLUSIVE lock (score() takes it first, one
--     scorer at a time, in every process and `riskmap score`); since when its transaction runs (NULL when
--     pg_stat_activity hides the session of another role);
--   the last run's row.
WITH last_run AS (
    SELECT finished_at, full_run, changes, scored, areas, seconds, model_version
    FROM score_run ORDER BY id DESC LIMIT 1
), scorer AS (
    SELECT count(*) > 0 AS updating, min(a.xact_start) AS since
    FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'relation' AND l.relation = 'feature_risk'::regclass AND l.mode = 'ExclusiveLock'
      AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
)
SELECT coalesce((SELECT model_version FROM last_run), (SELECT model_version FROM feature_risk LIMIT 1)),
       ((SELECT count(*) FROM risk_dirty) + (SELECT count(*) FROM risk_removed))::integer,
       scorer.updating, scorer.since,
       last_run.finished_at, last_run.full_run, last_run.changes, last_run.scored, last_run.areas, last_run.seconds,
       last_run.model_version
FROM scorer LEFT JOIN last_run ON true
