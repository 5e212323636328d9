-- The extent of the plan_route layer for /ogc/collections/plan_route: the bounding box in WGS 84 of the routes of
-- the stored plans (the view plan_route, migration 0027) and the first and last day (UTC) a plan was made, as the
-- request's user sees them (row-level security on inspection_plan).
SELECT ST_XMin(e.box), ST_YMin(e.box), ST_XMax(e.box), ST_YMax(e.box), e.first, e.last
FROM (SELECT ST_Extent(pr.geom) AS box, min(pr.created_at AT TIME ZONE 'UTC')::date AS first,
             max(pr.created_at AT TIME ZONE 'UTC')::date AS last
      FROM plan_route pr) AS e
