-- The enterprises per risk level in each admin area of one admin level (stored area risk, issue 3): what team
-- allocation shares the teams by.  Areas without a scored enterprise count zero.
SELECT a.admin_code, a.name,
       coalesce((r.counts -> 'enterprise' ->> 'red')::integer, 0),
       coalesce((r.counts -> 'enterprise' ->> 'orange')::integer, 0),
       coalesce((r.counts -> 'enterprise' ->> 'yellow')::integer, 0),
       coalesce((r.counts -> 'enterprise' ->> 'blue')::integer, 0)
FROM area a
LEFT JOIN area_risk r ON r.area_type = 'admin' AND r.area_id = a.admin_code
                     AND r.resolution = array_position(ARRAY['province', 'city', 'county', 'township'], a.level)
WHERE a.level = %(level)s
ORDER BY a.admin_code
