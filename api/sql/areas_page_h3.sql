-- GET /areas at an H3 resolution: one page of the H3 cells' area risk, in area_id order after %(after)s (keyset
-- pagination on the primary key: no OFFSET, no count), each row the cell's GeoJSON Feature as stored with it
-- (area_risk.feature_json, migration 0023), byte for byte what areas_page.sql gives for these rows.  One row more
-- than the page is asked for, to know whether another page follows.  Admin levels take areas_page.sql (their
-- Features are built per request, with the name from `area`).
--
-- Only the Feature and the key are read: the sort before the LIMIT carries them alone (areas_page.sql's carries
-- every column its admin branch needs), and no join with `area`.  A cell whose bounding box lies inside the box
-- intersects it; only the others take the exact test.  That test is written as a CASE so that the planner sees
-- one GiST condition (&&): written as `@ OR ST_Intersects`, it scanned the index twice (one scan per branch,
-- OR-ed).  A map view's page (bench/load's H3 layer, ~900 rows) took a median 1.4 ms of execution against 2.5
-- ms for areas_page.sql (docs/benchmarks.md, bench/load); migration 0028 keeps its plan serial.
SELECT r.feature_json, r.area_id
FROM area_risk r
WHERE r.area_type = 'h3' AND r.resolution = %(resolution)s
  AND (%(after)s::text IS NULL OR r.area_id > %(after)s::text)
  AND (%(nobox)s OR (r.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                     AND CASE WHEN r.geom @ ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326) THEN true
                              ELSE ST_Intersects(r.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)) END))
  AND (%(levels)s::text[] IS NULL OR r.level = ANY(%(levels)s::text[]))
ORDER BY r.area_id
LIMIT %(limit)s + 1
