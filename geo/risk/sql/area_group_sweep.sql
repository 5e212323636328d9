-- After a partitioned run's area groups (geo/risk/area_groups.py): the area_risk rows no group owned, left from
-- before the run.  Admin rows of areas no longer in the area table; H3 rows at a resolution the model no longer
-- has, or descended from no group's parent (every feature of that region is gone).  ``keys``: the groups'
-- parents' keys (their indexes masked by ``mask``, as area_group_delete_h3.sql compares them).
WITH owned AS (
    SELECT DISTINCT k AS key FROM unnest(%(keys)s::bigint[]) AS u(k)
)
DELETE FROM area_risk a
WHERE (a.area_type = 'admin' AND NOT EXISTS (SELECT 1 FROM area x WHERE x.admin_code COLLATE "C" = a.area_id))
   OR (a.area_type = 'h3' AND (a.resolution <> ALL(%(resolutions)s)
       OR NOT EXISTS (SELECT 1 FROM owned o
                      WHERE o.key = (('x' || lpad(a.area_id, 16, '0'))::bit(64)::bigint & %(mask)s))))
