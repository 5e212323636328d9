-- The extent of every published layer's data (geo/layers.py), for the QGIS project's starting view: the sites,
-- the pipeline segments and the area risk (counties and H3 cells; hidden dangers lie at their sites).  Read as
-- the request's user, so a user limited to areas gets the extent of theirs.  NULLs when there is no data.
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(box) AS e
      FROM (SELECT ST_Extent(geom)::geometry AS box FROM enterprise
            UNION ALL SELECT ST_Extent(geom)::geometry FROM tailings_pond
            UNION ALL SELECT ST_Extent(geom)::geometry FROM venue
            UNION ALL SELECT ST_Extent(geom)::geometry FROM pipeline_segment
            UNION ALL SELECT ST_Extent(geom)::geometry FROM area_risk) boxes) x
