-- Tailings ponds with the attributes their rules read (domain.md §3).  Geometry as in enterprise_layer.sql,
-- plus the centroid the downstream sector is seen from.
SELECT p.id AS feature_id, p.dam_height_m, p.capacity_10k_m3, p.safety_state, p.downstream_direction_deg,
       p.downstream_population, p.ore, p.status, p.major_hidden_danger, p.last_inspection,
       ST_X(pt.g) AS lon, ST_Y(pt.g) AS lat, ST_X(c.g) AS centroid_lon, ST_Y(c.g) AS centroid_lat,
       CASE WHEN GeometryType(p.geom) <> 'POINT' THEN encode(ST_AsBinary(p.geom), 'hex') END AS wkb
FROM tailings_pond p
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(p.geom) AS g) pt
CROSS JOIN LATERAL (SELECT ST_Centroid(p.geom) AS g) c
WHERE (%(ids)s::bigint[] IS NULL OR p.id = ANY(%(ids)s))
  AND (%(nobox)s OR p.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
ORDER BY p.id
