-- The scored features whose stored representative point (feature_risk.lon, lat: where a whole run counts them in
-- its areas) lies in the box, in the order a whole run aggregates them (class by class, by id): each class's GiST
-- index finds the candidates (a geometry's box holds its point), then the primary key their rows.
WITH b AS (
    SELECT ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326) AS box
), f AS (
    SELECT 'enterprise' AS kind, e.id FROM b JOIN enterprise e ON e.geom && b.box
    UNION ALL
    SELECT 'tailings_pond', p.id FROM b JOIN tailings_pond p ON p.geom && b.box
    UNION ALL
    SELECT 'venue', v.id FROM b JOIN venue v ON v.geom && b.box
    UNION ALL
    SELECT 'pipeline_segment', g.id FROM b JOIN pipeline_segment g ON g.geom && b.box
)
SELECT r.kind, r.feature_id, r.score, r.level, r.lon, r.lat
FROM f
JOIN feature_risk r ON r.kind = f.kind AND r.feature_id = f.id
WHERE r.lon BETWEEN %(x0)s AND %(x1)s AND r.lat BETWEEN %(y0)s AND %(y1)s
ORDER BY array_position(ARRAY['enterprise', 'venue', 'tailings_pond', 'pipeline_segment'], r.kind), r.feature_id
