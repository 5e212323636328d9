-- One feature's score history (score_history, migration 0014), oldest first: as of each run that changed its
-- score or level, or removed it (score and level NULL).
SELECT run, as_of::text AS as_of, to_char(scored_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS scored_at,
       score, level
FROM score_history
WHERE kind = %(kind)s AND feature_id = %(id)s
ORDER BY as_of, run
