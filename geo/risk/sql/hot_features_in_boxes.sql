-- As hot_features.sql, for the orange and red features within %(radius)s m of any of the boxes (arrays x0, y0,
-- x1, y1), each once: the classes' GiST indexes find the candidates, a primary-key probe their level.
WITH b AS (
    SELECT riskmap_expand_m(ST_MakeEnvelope(x0, y0, x1, y1, 4326), %(radius)s) AS box
    FROM unnest(%(x0)s::float8[], %(y0)s::float8[], %(x1)s::float8[], %(y1)s::float8[]) t(x0, y0, x1, y1)
), h AS (
    SELECT DISTINCT ON (kind, id) kind, id, geom FROM (
        SELECT 'enterprise' AS kind, f.id, f.geom FROM b JOIN enterprise f ON f.geom && b.box
        UNION ALL SELECT 'tailings_pond', f.id, f.geom FROM b JOIN tailings_pond f ON f.geom && b.box
        UNION ALL SELECT 'venue', f.id, f.geom FROM b JOIN venue f ON f.geom && b.box
        UNION ALL SELECT 'pipeline_segment', f.id, f.geom FROM b JOIN pipeline_segment f ON f.geom && b.box
    ) c
    ORDER BY kind, id
)
SELECT ST_X(pt.g) AS lon, ST_Y(pt.g) AS lat,
       CASE WHEN GeometryType(h.geom) <> 'POINT' THEN encode(ST_AsBinary(h.geom), 'hex') END AS wkb
FROM h
JOIN feature_risk r ON r.kind = h.kind AND r.feature_id = h.id AND r.level IN ('red', 'orange')
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(h.geom) AS g) pt
