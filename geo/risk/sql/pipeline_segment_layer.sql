-- Pipeline segments with their line's attributes (domain.md §4), the segment and its 2 km GB 50251 unit as hex
-- WKB.
SELECT g.id AS feature_id, g.pipeline_id, g.seq, g.length_m AS segment_length_m, g.impact_m,
       p.medium, p.diameter_mm, p.pressure_mpa, p.year_built, p.operator, p.depth_of_cover_m, p.status,
       encode(ST_AsBinary(g.geom), 'hex') AS wkb, encode(ST_AsBinary(g.unit_geom), 'hex') AS unit_wkb
FROM pipeline_segment g
JOIN pipeline p ON p.id = g.pipeline_id
WHERE (%(ids)s::bigint[] IS NULL OR g.id = ANY(%(ids)s))
  AND (%(nobox)s OR g.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
ORDER BY g.id
