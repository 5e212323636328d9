-- After a scoring run's writes: the pipelines' rows it wrote (by SQL, pipeline_summaries.sql), with the point on
-- each line, for the score history (geo/risk/history.py): all of them on a full run, else those of the segments
-- it re-scored (%(segments)s).
SELECT r.kind, r.feature_id, r.score, r.level, ST_X(pt.g) AS lon, ST_Y(pt.g) AS lat
FROM feature_risk r
JOIN pipeline p ON p.id = r.feature_id
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(p.geom) AS g) pt
WHERE r.kind = 'pipeline'
  AND (%(full)s OR r.feature_id IN (SELECT g.pipeline_id FROM pipeline_segment g
                                    WHERE g.id = ANY(%(segments)s::bigint[])))
