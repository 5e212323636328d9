-- Scored pipeline segments as points every %(cell)s m along them (the exposure surface counts a line along its
-- length, domain.md §6).
SELECT 'pipeline_segment' AS kind, r.score, ST_X(d.geom) AS lon, ST_Y(d.geom) AS lat
FROM feature_risk r
JOIN pipeline_segment g ON r.kind = 'pipeline_segment' AND g.id = r.feature_id
CROSS JOIN LATERAL ST_DumpPoints(ST_LineInterpolatePoints(g.geom, least(1.0, %(cell)s / greatest(g.length_m, 1.0)),
                                                          true)) d
