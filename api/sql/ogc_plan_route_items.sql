-- GET /ogc/collections/plan_route/items (and /items/<feature>): the routes of the stored inspection plans, one per
-- team and working day (the view plan_route, migration 0027), one keyset page in id order after %(after)s, or in
-- reverse order before %(before)s ({direction}); each row a GeoJSON Feature as text and its id.  The id is
-- plan id x 10^8 + team x 10^4 + day, so a cursor names its plan too: the conditions on plan_id below only narrow
-- the scan of inspection_plan to the plans a page can hold (the conditions on id decide).  datetime filters on the
-- day (UTC) the plan was made.  One row more than the page is asked for.  The CQL2 filter's condition (TRUE without
-- one) reads pr (api/ogc/filters.py).  Row-level security limits a user of some areas to their areas' plans.
SELECT json_build_object(
           'type', 'Feature',
           'id', pr.id,
           'geometry', ST_AsGeoJSON(pr.geom, 7)::json,
           'properties', json_build_object(
               'plan_id', pr.plan_id,
               'created_at', to_char(pr.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               'area', pr.area, 'model_version', pr.model_version, 'team', pr.team, 'team_name', pr.team_name,
               'day', pr.day, 'stops', pr.stops, 'km', pr.km, 'hours', pr.hours, 'risk', pr.risk,
               'leave', pr.leave, 'back', pr.back)
       )::text,
       pr.id
FROM plan_route pr
WHERE (%(fid)s::bigint IS NULL OR (pr.id = %(fid)s AND pr.plan_id = %(fid)s / 100000000))
  AND (%(after)s::bigint IS NULL OR (pr.id > %(after)s AND pr.plan_id >= %(after)s / 100000000))
  AND (%(before)s::bigint IS NULL OR (pr.id < %(before)s AND pr.plan_id <= %(before)s / 100000000))
  AND (%(nobox)s OR (pr.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                     AND ST_Intersects(pr.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))))
  AND (%(nodate)s OR ((pr.created_at AT TIME ZONE 'UTC')::date >= %(d0)s::date
                      AND (pr.created_at AT TIME ZONE 'UTC')::date <= %(d1)s::date))
  AND {filter}
ORDER BY pr.id {direction}
LIMIT %(limit)s + 1
