-- 0028: no parallel scans of area_risk.  GET /areas at an H3 resolution (api/sql/areas_page_h3.sql) reads a few
-- hundred to a few thousand rows of a table of some 12,000 (the demo); the cost the planner gives its exact
-- intersection test (ST_Intersects, for cells crossing the box's edge) made it plan a parallel bitmap heap scan
-- for a third of bench/load's map views: a worker process started for a query of 1-2 ms, 10-30 ms of CPU and
-- waiting on a 2-core machine serving 50 clients.  Every query of area_risk is an indexed read of a view's rows or
-- a whole level's few thousand, served among many concurrent requests: none gains from a worker.
ALTER TABLE area_risk SET (parallel_workers = 0);
