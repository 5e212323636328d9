-- Orange and red features (the few whose surroundings count as exposed, domain.md §6), as a point (lon, lat)
-- or, where not a point, hex WKB; optionally only those near a box.
SELECT ST_X(pt.g) AS lon, ST_Y(pt.g) AS lat,
       CASE WHEN GeometryType(h.geom) <> 'POINT' THEN encode(ST_AsBinary(h.geom), 'hex') END AS wkb
FROM (
    SELECT f.geom FROM enterprise f JOIN feature_risk r ON r.kind = 'enterprise' AND r.feature_id = f.id
    WHERE r.level IN ('red', 'orange')
    UNION ALL
    SELECT f.geom FROM tailings_pond f JOIN feature_risk r ON r.kind = 'tailings_pond' AND r.feature_id = f.id
    WHERE r.level IN ('red', 'orange')
    UNION ALL
    SELECT f.geom FROM venue f JOIN feature_risk r ON r.kind = 'venue' AND r.feature_id = f.id
    WHERE r.level IN ('red', 'orange')
    UNION ALL
    SELECT f.geom FROM pipeline_segment f JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = f.id
    WHERE r.level IN ('red', 'orange')
) h
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(h.geom) AS g) pt
WHERE %(nobox)s OR h.geom && riskmap_expand_m(ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326), %(radius)s)
