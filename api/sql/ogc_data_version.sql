-- The version of the data the /ogc collections' extents are computed from: the tiles' data version
-- (api/sql/tiles_version.sql: the last scoring run, the last change record and the last change of a record, which
-- change whenever a feature, an area, a score or a hidden danger changes) and the last stored inspection plan
-- (plans are only ever added: their routes are the plan_route layer).  Four primary-key lookups.
SELECT ({tiles_version}) || '.' || (SELECT coalesce(max(id), 0) FROM inspection_plan)::text
