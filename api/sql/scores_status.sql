-- The model version of the stored scores (the most common one, should a re-score be under way) and how many
-- features are scored (pipeline segments are parts of pipelines, not features of their own).
SELECT (SELECT model_version FROM feature_risk GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1),
       (SELECT count(*) FROM feature_risk WHERE kind <> 'pipeline_segment')::integer
