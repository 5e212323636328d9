-- The changes a scoring run takes on: the change records committed so far move into this transaction's
-- temporary tables (the DELETEs take exactly the rows they see; rows committed later wait for the next run,
-- and if the run fails, its rollback puts these back).
CREATE TEMP TABLE riskmap_run_dirty ON COMMIT DROP AS SELECT id, kind, extent FROM risk_dirty WITH NO DATA;
WITH taken AS (DELETE FROM risk_dirty RETURNING id, kind, extent)
INSERT INTO riskmap_run_dirty SELECT id, kind, extent FROM taken;
CREATE TEMP TABLE riskmap_run_removed ON COMMIT DROP AS SELECT kind, feature_id FROM risk_removed WITH NO DATA;
WITH taken AS (DELETE FROM risk_removed RETURNING kind, feature_id)
INSERT INTO riskmap_run_removed SELECT kind, feature_id FROM taken;
ANALYZE riskmap_run_dirty;
-- The sites whose records changed (migration 0014), taken the same way.
CREATE TEMP TABLE riskmap_run_records ON COMMIT DROP AS SELECT kind, feature_id FROM risk_record_changed WITH NO DATA;
WITH taken AS (DELETE FROM risk_record_changed RETURNING kind, feature_id)
INSERT INTO riskmap_run_records SELECT kind, feature_id FROM taken;
