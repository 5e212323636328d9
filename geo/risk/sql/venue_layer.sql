-- Crowded venues with the attributes their rules read (domain.md §5).  Geometry as in enterprise_layer.sql.
SELECT v.id AS feature_id, v.venue_type, v.floor_area_m2, v.storey, v.occupancy, v.exits, v.exits_blocked,
       v.exit_width_ratio, v.sprinklers, v.fire_alarm, v.last_fire_inspection, v.status,
       ST_X(pt.g) AS lon, ST_Y(pt.g) AS lat,
       CASE WHEN GeometryType(v.geom) <> 'POINT' THEN encode(ST_AsBinary(v.geom), 'hex') END AS wkb
FROM venue v
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(v.geom) AS g) pt
WHERE (%(ids)s::bigint[] IS NULL OR v.id = ANY(%(ids)s))
  AND (%(nobox)s OR v.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
ORDER BY v.id
