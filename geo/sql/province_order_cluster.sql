-- `riskmap db cluster` (geo/province_order.py): the shadow {shadow} of a feature table, filled with its rows and
-- their provinces (province_order_copy.sql) and a padding row after each province's (province_order_pad.sql),
-- rewritten by PostgreSQL's CLUSTER page after page in the order province by province (a row on no province last),
-- then along the Hilbert curve of the row's point on surface (PostGIS orders geometries by the Hilbert key of their
-- box's centre), then id, the padding row last: a county's rows share as few pages as they can, and each province's
-- run of rows starts on a page of its own.  The index only gives CLUSTER its order, and goes.  (CLUSTER sorts rather
-- than read the index: the caller turns index scans off, as the new table has no statistics to weigh them by.)
CREATE INDEX {index} ON {shadow} (province, (id < {floor}), ST_PointOnSurface(geom), id);
CLUSTER {shadow} USING {index};
DROP INDEX {qualified_index};
