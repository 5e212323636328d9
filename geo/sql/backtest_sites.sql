-- Every site a backtest ranks: the enterprises, tailings ponds, pipelines and venues of the register, with what
-- the naive rankings read: a size (enterprise: employees; pond: capacity in 10^4 m3; venue: stated occupancy,
-- else the occupant load its score used; pipeline: length in km) and a sector (enterprise: its industry; pond:
-- one sector; venue: its type; pipeline: its medium).
SELECT 'enterprise' AS kind, e.id AS feature_id, e.employees::double precision AS size,
       'enterprise:' || e.industry AS sector
FROM enterprise e
UNION ALL
SELECT 'tailings_pond', p.id, p.capacity_10k_m3, 'tailings_pond'
FROM tailings_pond p
UNION ALL
SELECT 'pipeline', l.id, ST_Length(l.geom::geography) / 1000.0, 'pipeline:' || l.medium
FROM pipeline l
UNION ALL
SELECT 'venue', v.id, coalesce(v.occupancy::double precision, (r.details ->> 'occupant_load')::double precision),
       'venue:' || v.venue_type
FROM venue v LEFT JOIN feature_risk r ON r.kind = 'venue' AND r.feature_id = v.id
