-- 0006: factors are stored as compact arrays, [[factor, value, points, assumed], ...], instead of an array of
-- objects with those four keys.  A full scoring writes half a million rows of factors and PostgreSQL parsing
-- the keyed form was the largest single cost of it (issue 3 benchmark); the names are explained by
-- risk_factor_def as before.  Rows stored in the keyed form are converted.
UPDATE feature_risk r
SET factors = (SELECT coalesce(jsonb_agg(jsonb_build_array(e.f -> 'factor', e.f -> 'value', e.f -> 'points',
                                                          e.f -> 'assumed') ORDER BY e.n), '[]'::jsonb)
               FROM jsonb_array_elements(r.factors) WITH ORDINALITY AS e(f, n))
WHERE jsonb_typeof(r.factors -> 0) = 'object';

COMMENT ON COLUMN feature_risk.factors IS
    '[[factor, value, points, assumed], ...] in the rule''s order; factor definitions in risk_factor_def';
