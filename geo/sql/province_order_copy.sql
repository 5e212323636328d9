-- `riskmap db cluster` (geo/province_order.py): the rows of the feature table {live} into its shadow {shadow}
-- (geo/shadow_table.py), ids kept, every column as it is but the province, which riskmap_province_rows (migration
-- 0037) has just found for every row: province by province (a row on no province last), then along the Hilbert
-- curve of the row's point on surface (PostGIS sorts geometries by the Hilbert key of their box's centre), then by
-- id, so that a county's rows share as few pages as they can and no page of a province holds another's rows, but
-- for the one where a province's run ends and the next begins.
INSERT INTO {shadow} ({columns}) OVERRIDING SYSTEM VALUE
SELECT {values}
FROM {live} f
LEFT JOIN riskmap_province_row p ON p.id = f.id
ORDER BY p.province NULLS LAST, ST_PointOnSurface(f.geom), f.id
