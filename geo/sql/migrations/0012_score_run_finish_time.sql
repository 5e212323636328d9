-- 0012: score_run.finished_at is the time the run's row is written, at the end of its transaction: now() (the
-- default of 0011) is the transaction's start, which made a ten-minute run look finished ten minutes early.

ALTER TABLE score_run ALTER COLUMN finished_at SET DEFAULT clock_timestamp();
