-- Enterprises with the attributes their rules read (domain.md §1), for scoring and as the context of other
-- classes.  The geometry comes as a point (lon, lat: the point on surface) and, where it is not a point, as
-- hex WKB.
SELECT e.id AS feature_id, e.industry, e.chemicals::text AS chemicals, e.status, e.employees,
       e.flexible_worker_share, e.violations_12m, e.open_hidden_dangers, e.major_hidden_danger, e.last_inspection,
       ST_X(pt.g) AS lon, ST_Y(pt.g) AS lat,
       CASE WHEN GeometryType(e.geom) <> 'POINT' THEN encode(ST_AsBinary(e.geom), 'hex') END AS wkb
FROM enterprise e
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(e.geom) AS g) pt
WHERE (%(ids)s::bigint[] IS NULL OR e.id = ANY(%(ids)s))
  AND (%(nobox)s OR e.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
ORDER BY e.id
