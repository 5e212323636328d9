-- As feature_points.sql, for the features whose representative point lies in any of the boxes (arrays x0, y0,
-- x1, y1): each class's GiST index finds the candidates box by box, then a primary-key probe their score.
WITH b AS (
    SELECT ST_MakeEnvelope(x0, y0, x1, y1, 4326) AS box
    FROM unnest(%(x0)s::float8[], %(y0)s::float8[], %(x1)s::float8[], %(y1)s::float8[]) t(x0, y0, x1, y1)
), f AS (
    SELECT 'enterprise' AS kind, e.id, ST_PointOnSurface(e.geom) AS pt
    FROM b JOIN enterprise e ON e.geom && b.box WHERE 'enterprise' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'tailings_pond', p.id, ST_PointOnSurface(p.geom)
    FROM b JOIN tailings_pond p ON p.geom && b.box WHERE 'tailings_pond' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'venue', v.id, ST_PointOnSurface(v.geom)
    FROM b JOIN venue v ON v.geom && b.box WHERE 'venue' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'pipeline_segment', g.id, ST_LineInterpolatePoint(g.geom, 0.5)
    FROM b JOIN pipeline_segment g ON g.geom && b.box WHERE 'pipeline_segment' = ANY(%(kinds)s)
)
SELECT DISTINCT ON (r.kind, r.feature_id) r.kind, r.feature_id, r.score, r.level, ST_X(f.pt) AS lon, ST_Y(f.pt) AS lat
FROM f
JOIN feature_risk r ON r.kind = f.kind AND r.feature_id = f.id
WHERE EXISTS (SELECT 1 FROM b WHERE f.pt && b.box)
ORDER BY r.kind, r.feature_id
