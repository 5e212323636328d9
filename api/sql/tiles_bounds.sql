-- The bounds of the TileJSON documents: the extent of the admin areas the caller may see (row-level security),
-- else of the enterprises, in degrees; NULLs when there is neither.
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT coalesce((SELECT ST_Extent(geom) FROM area), (SELECT ST_Extent(geom) FROM enterprise)) AS e) x
