-- Every scored feature with the point that decides its partition (a site's point on surface, a segment's
-- midpoint: where the areas count it too) and the bounding box of what its context is measured from (a
-- segment's box covers its 2 km GB 50251 unit, which reaches beyond the segment).
SELECT 'enterprise' AS kind, f.id AS feature_id, ST_X(p.g) AS lon, ST_Y(p.g) AS lat,
       ST_XMin(f.geom) AS x0, ST_YMin(f.geom) AS y0, ST_XMax(f.geom) AS x1, ST_YMax(f.geom) AS y1
FROM enterprise f CROSS JOIN LATERAL (SELECT ST_PointOnSurface(f.geom) AS g) p
UNION ALL
SELECT 'tailings_pond', f.id, ST_X(p.g), ST_Y(p.g), ST_XMin(f.geom), ST_YMin(f.geom), ST_XMax(f.geom), ST_YMax(f.geom)
FROM tailings_pond f CROSS JOIN LATERAL (SELECT ST_PointOnSurface(f.geom) AS g) p
UNION ALL
SELECT 'venue', f.id, ST_X(p.g), ST_Y(p.g), ST_XMin(f.geom), ST_YMin(f.geom), ST_XMax(f.geom), ST_YMax(f.geom)
FROM venue f CROSS JOIN LATERAL (SELECT ST_PointOnSurface(f.geom) AS g) p
UNION ALL
SELECT 'pipeline_segment', g.id, ST_X(p.g), ST_Y(p.g), ST_XMin(b.b), ST_YMin(b.b), ST_XMax(b.b), ST_YMax(b.b)
FROM pipeline_segment g
CROSS JOIN LATERAL (SELECT CASE WHEN GeometryType(g.geom) = 'LINESTRING' THEN ST_LineInterpolatePoint(g.geom, 0.5)
                                ELSE ST_PointOnSurface(g.geom) END AS g) p
CROSS JOIN LATERAL (SELECT Box2D(ST_Collect(g.geom, coalesce(g.unit_geom, g.geom))) AS b) b
