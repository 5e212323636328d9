-- Settlements as the people around other features (domain.md §1, §3, §4): each counts at its point on surface;
-- its people are its population or its households × persons per household, its households the reverse.
SELECT s.id AS feature_id, ST_X(pt.g) AS lon, ST_Y(pt.g) AS lat,
       coalesce(s.population, s.households * %(persons_per_household)s)::float8 AS people,
       coalesce(s.households, s.population / %(persons_per_household)s)::float8 AS households,
       coalesce(s.buildings_4plus_dominant, false) AS buildings_4plus
FROM settlement s
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(s.geom) AS g) pt
WHERE %(nobox)s OR s.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
