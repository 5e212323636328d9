-- Each pipeline's point on its line (where the areas and the score history count it), by id.
SELECT p.id AS feature_id, ST_X(pt.g) AS lon, ST_Y(pt.g) AS lat
FROM pipeline p
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(p.geom) AS g) pt
