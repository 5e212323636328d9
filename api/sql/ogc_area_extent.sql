-- The extent of an area layer for /ogc/collections/<collection>: the bounding box in WGS 84 of the area risk of
-- one area type and resolution, and its number of areas (a cheap count: at most some thousands of rows).
SELECT ST_XMin(e.box), ST_YMin(e.box), ST_XMax(e.box), ST_YMax(e.box), e.n
FROM (SELECT ST_Extent(r.geom) AS box, count(*) AS n
      FROM area_risk r WHERE r.area_type = %(area_type)s AND r.resolution = %(resolution)s) AS e
