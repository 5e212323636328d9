-- 0027: the routes of the stored inspection plans as rows with a line (issue 16: the plan_route layer of the OGC
-- collections, the vector tiles and the QGIS project).  Plans stay stored whole (0009); this view reads their
-- documents: one row per team and working day that has stops, its line through the stops in visiting order (the
-- day's road path when the plan has one; otherwise straight legs, from and back to the team's base when the
-- document has it), and the day's figures as the document states them.
--
-- id: plan id x 10^8 + team x 10^4 + day (a plan has at most 1,000 team-days, so team and day are below 10^4):
-- one integer key in plan, team, day order, for keyset paging; a condition on plan_id narrows the scan of
-- inspection_plan (the view is inlined).  security_invoker: the caller's row-level security on inspection_plan
-- (by the plan's area, 0019) applies, so a user limited to areas sees the routes of their areas' plans only.
CREATE VIEW plan_route WITH (security_invoker = true) AS
SELECT p.id * 100000000 + (t.team ->> 'team')::bigint * 10000 + (d.day ->> 'day')::bigint AS id,
       p.id AS plan_id, p.created_at, p.area, p.model_version,
       (t.team ->> 'team')::integer AS team,
       t.team ->> 'name' AS team_name,
       (d.day ->> 'day')::integer AS day,
       jsonb_array_length(d.day -> 'stops') AS stops,
       (d.day ->> 'km')::double precision AS km,
       (d.day ->> 'hours')::double precision AS hours,
       (d.day ->> 'risk')::double precision AS risk,
       d.day ->> 'leave' AS leave,
       d.day ->> 'back' AS back,
       ST_SetSRID(ST_MakeLine(ARRAY(
           SELECT ST_MakePoint((c.xy ->> 0)::double precision, (c.xy ->> 1)::double precision)
           FROM jsonb_array_elements(l.coords) WITH ORDINALITY AS c(xy, n) ORDER BY c.n)), 4326) AS geom
FROM inspection_plan p
CROSS JOIN LATERAL jsonb_array_elements(p.document -> 'teams') AS t(team)
CROSS JOIN LATERAL jsonb_array_elements(t.team -> 'days') AS d(day)
CROSS JOIN LATERAL (
    SELECT CASE
               WHEN jsonb_typeof(d.day -> 'path') = 'array' AND jsonb_array_length(d.day -> 'path') >= 2
                   THEN d.day -> 'path'
               ELSE b.base
                    || (SELECT jsonb_agg(jsonb_build_array(s.stop -> 'lon', s.stop -> 'lat') ORDER BY s.n)
                        FROM jsonb_array_elements(d.day -> 'stops') WITH ORDINALITY AS s(stop, n))
                    || b.base
           END AS coords
    FROM (SELECT CASE WHEN jsonb_typeof(t.team -> 'base') = 'array' THEN jsonb_build_array(t.team -> 'base')
                      ELSE '[]'::jsonb END AS base) AS b
) AS l
WHERE jsonb_typeof(d.day -> 'stops') = 'array' AND jsonb_array_length(d.day -> 'stops') > 0
  -- (one stop and no base: no line to draw)
  AND jsonb_array_length(l.coords) >= 2;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'riskmap_scoped') THEN
        GRANT SELECT ON plan_route TO riskmap_scoped;
    END IF;
END $$;
