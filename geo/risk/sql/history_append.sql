-- After a scoring run's writes, in its transaction: append to score_history the features whose score or level
-- the run changed (a score moving by less than 1e-9 is the same score), the new ones, and those it removed (score
-- and level NULL), as of the run's date (history_before.sql says which features and what they were).  A
-- pipeline's point is the point on its line (its row of feature_risk has none).
WITH now_rows AS (
    SELECT r.kind, r.feature_id, r.score, r.level, r.lon, r.lat FROM feature_risk r
    WHERE %(full)s AND r.kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue')
    UNION ALL
    SELECT r.kind, r.feature_id, r.score, r.level, r.lon, r.lat
    FROM riskmap_history_keys k JOIN feature_risk r ON r.kind = k.kind AND r.feature_id = k.feature_id
    WHERE NOT %(full)s
), changed AS (
    SELECT coalesce(n.kind, o.kind) AS kind, coalesce(n.feature_id, o.feature_id) AS feature_id,
           n.score, n.level, n.lon, n.lat
    FROM now_rows n FULL JOIN riskmap_history_before o ON o.kind = n.kind AND o.feature_id = n.feature_id
    WHERE o.feature_id IS NULL OR n.feature_id IS NULL OR abs(o.score - n.score) > 1e-9 OR o.level <> n.level
)
INSERT INTO score_history (run, kind, feature_id, as_of, scored_at, score, level, lon, lat)
SELECT %(run)s, c.kind, c.feature_id, %(as_of)s::date, run.finished_at, c.score, c.level,
       coalesce(c.lon, ST_X(p.pt)), coalesce(c.lat, ST_Y(p.pt))
FROM changed c
CROSS JOIN (SELECT finished_at FROM score_run WHERE id = %(run)s) run
LEFT JOIN LATERAL (SELECT ST_PointOnSurface(l.geom) AS pt FROM pipeline l
                   WHERE c.kind = 'pipeline' AND c.score IS NOT NULL AND l.id = c.feature_id) p ON true
