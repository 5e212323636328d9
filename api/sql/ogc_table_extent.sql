-- The extent of a site or segment layer (table {table}) for /ogc/collections/<collection>: its bounding box in
-- WGS 84 and the range of its dates ({date}: the date column, or NULL for a layer without one), as the request's
-- user sees them (row-level security).  {kept}: TRUE, or the rows stored as polygons only (a layer of outlines).
SELECT ST_XMin(e.box), ST_YMin(e.box), ST_XMax(e.box), ST_YMax(e.box), e.first, e.last
FROM (SELECT ST_Extent(f.geom) AS box, min({date}) AS first, max({date}) AS last FROM {table} f WHERE {kept}) AS e
