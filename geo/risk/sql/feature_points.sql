-- Scored features at their representative points (the point on surface; a pipeline segment's midpoint), with
-- score and level, for area aggregation and the exposure surface; optionally only those inside a box.
SELECT r.kind, r.feature_id, r.score, r.level, ST_X(f.pt) AS lon, ST_Y(f.pt) AS lat
FROM feature_risk r
JOIN (
    SELECT 'enterprise' AS kind, id, ST_PointOnSurface(geom) AS pt FROM enterprise
    UNION ALL
    SELECT 'tailings_pond', id, ST_PointOnSurface(geom) FROM tailings_pond
    UNION ALL
    SELECT 'venue', id, ST_PointOnSurface(geom) FROM venue
    UNION ALL
    SELECT 'pipeline_segment', id, ST_LineInterpolatePoint(geom, 0.5) FROM pipeline_segment
) f ON f.kind = r.kind AND f.id = r.feature_id
WHERE r.kind = ANY(%(kinds)s) AND (%(nobox)s OR f.pt && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
