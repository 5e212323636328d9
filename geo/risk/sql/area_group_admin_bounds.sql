-- Each admin area's code and bounding box, for grouping the areas by province (geo/risk/area_groups.py).
SELECT admin_code, ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, ST_XMax(geom) AS x1, ST_YMax(geom) AS y1
FROM area
ORDER BY admin_code
