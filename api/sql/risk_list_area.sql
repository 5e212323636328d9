-- GET /risk-list?area=: what the area parameter names, an administrative area by its code (table area) or else an
-- H3 cell by its index (area_risk, whose cells are those the aggregation wrote).  %(cell)s and %(cell_res)s are
-- the index and resolution of the cell when the parameter is a valid H3 index (computed by the caller with h3,
-- so that the primary key of area_risk is used), else NULL.  No row: unknown area.
SELECT 'admin' AS type, a.admin_code AS id, a.name, a.level AS admin_level, NULL::integer AS resolution
FROM area a
WHERE a.admin_code = %(area)s
UNION ALL
SELECT 'h3', r.area_id, NULL, NULL, r.resolution
FROM area_risk r
WHERE r.area_type = 'h3' AND r.resolution = %(cell_res)s AND r.area_id = %(cell)s
LIMIT 1
