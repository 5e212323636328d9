-- Split pipelines into segments of about %(segment_length_m)s m (domain.md §4: pipelines are scored per
-- segment), each with the %(unit_length_m)s m unit of GB 50251 centred on it (clipped at the line's ends).
-- Substring fractions are of the line's length in degrees, so segment lengths vary a little with direction.
DELETE FROM pipeline_segment WHERE %(ids)s::bigint[] IS NULL OR pipeline_id = ANY(%(ids)s);

INSERT INTO pipeline_segment (pipeline_id, seq, length_m, impact_m, geom, unit_geom)
SELECT p.id,
       (row_number() OVER (PARTITION BY p.id ORDER BY d.path, g.i) - 1)::integer,
       ST_Length(piece.seg::geography),
       NULL,
       piece.seg,
       piece.unit
FROM pipeline p
CROSS JOIN LATERAL ST_Dump(p.geom) d
CROSS JOIN LATERAL (SELECT ST_Length(d.geom::geography) AS len) l
CROSS JOIN LATERAL (SELECT greatest(1, round(l.len / %(segment_length_m)s))::integer AS n) k
CROSS JOIN LATERAL generate_series(0, k.n - 1) g(i)
CROSS JOIN LATERAL (
    SELECT ST_LineSubstring(d.geom, g.i::float8 / k.n, (g.i + 1)::float8 / k.n) AS seg,
           ST_LineSubstring(d.geom,
                            greatest(0.0, (g.i + 0.5) / k.n - %(unit_length_m)s / 2.0 / greatest(l.len, 1.0)),
                            least(1.0, (g.i + 0.5) / k.n + %(unit_length_m)s / 2.0 / greatest(l.len, 1.0))) AS unit
) piece
WHERE (%(ids)s::bigint[] IS NULL OR p.id = ANY(%(ids)s)) AND l.len > 0;
