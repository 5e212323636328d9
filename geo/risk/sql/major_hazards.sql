-- The stored GB 18218 major-hazard result of these enterprises (venues count major hazards near them).
SELECT feature_id, coalesce((details ->> 'major_hazard')::boolean, false) AS major_hazard
FROM feature_risk
WHERE kind = 'enterprise' AND feature_id = ANY(%(ids)s)
