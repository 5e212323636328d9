-- Scored pipeline segments with their length and line (hex WKB), for the exposure surface (domain.md §6);
-- optionally only those touching a box.
SELECT g.id AS feature_id, r.score, g.length_m, encode(ST_AsBinary(g.geom), 'hex') AS wkb
FROM feature_risk r
JOIN pipeline_segment g ON r.kind = 'pipeline_segment' AND g.id = r.feature_id
WHERE %(nobox)s OR g.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
