-- `riskmap db cluster` (geo/province_order.py): the rows of the feature table {live} into its shadow {shadow}
-- (geo/shadow_table.py), ids kept, every column as it is but the province, which riskmap_province_rows (migration
-- 0037) has just found for every row.  In no particular order: an INSERT puts a row that does not fit on the page
-- it fills back on an earlier page with room for it (the free space map), so rows of various sizes would not stay
-- in the order they were written in; province_order_cluster.sql then orders them.
INSERT INTO {shadow} ({columns}) OVERRIDING SYSTEM VALUE
SELECT {values}
FROM {live} f
LEFT JOIN riskmap_province_row p ON p.id = f.id
