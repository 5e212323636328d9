-- The stored GB 18218 major-hazard result of these enterprises (venues count major hazards near them): one
-- primary-key probe per id.
SELECT r.feature_id, coalesce((r.details ->> 'major_hazard')::boolean, false) AS major_hazard
FROM unnest(%(ids)s::bigint[]) i(id)
JOIN feature_risk r ON r.kind = 'enterprise' AND r.feature_id = i.id
