-- 0007: each row's factors are stored ordered by the points they gave, highest first (ties and missing points
-- by factor name), so that the top reasons of a score are its first factors and the API does not sort them
-- per feature on every request (geo/risk/store.py factors_json writes them so).  Stored rows are re-ordered.
UPDATE feature_risk r
SET factors = (SELECT coalesce(jsonb_agg(e.f ORDER BY (e.f ->> 2)::double precision DESC NULLS LAST, e.f ->> 0),
                               '[]'::jsonb)
               FROM jsonb_array_elements(r.factors) AS e(f));

COMMENT ON COLUMN feature_risk.factors IS
    '[[factor, value, points, assumed], ...] ordered by points, highest first (ties by factor name); factor '
    'definitions in risk_factor_def';
