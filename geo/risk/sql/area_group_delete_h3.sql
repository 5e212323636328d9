-- The area_risk rows of an H3 area group (geo/risk/area_groups.py): the cells at the given resolutions descended
-- from the group's parent cell.  The layer index finds the rows in the group's box; a cell is the parent's
-- descendant when its index, the resolution field and the digits finer than the parent's masked off, equals the
-- parent's (``key``, ``mask``: H3 indexes nest by their digits).
DELETE FROM area_risk a
WHERE a.area_type = 'h3' AND a.resolution = ANY(%(resolutions)s)
  AND a.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
  AND (('x' || lpad(a.area_id, 16, '0'))::bit(64)::bigint & %(mask)s) = %(key)s
