-- The score history a backtest ranks by (migration 0014): every row as of a date before %(last)s, in the order
-- the rows take effect (as_of, then run); a NULL score: the feature was removed.
SELECT kind, feature_id, as_of::text AS as_of, score
FROM score_history
WHERE as_of < %(last)s::date
ORDER BY as_of, run
