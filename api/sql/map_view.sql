-- The main map's starting view: the extent of the admin areas (else of the enterprises), and whether any feature
-- is synthetic demo data (the map then says so).
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e),
       EXISTS (SELECT 1 FROM enterprise WHERE synthetic) OR EXISTS (SELECT 1 FROM tailings_pond WHERE synthetic)
       OR EXISTS (SELECT 1 FROM venue WHERE synthetic) OR EXISTS (SELECT 1 FROM pipeline WHERE synthetic)
FROM (SELECT coalesce((SELECT ST_Extent(geom) FROM area), (SELECT ST_Extent(geom) FROM enterprise)) AS e) x
