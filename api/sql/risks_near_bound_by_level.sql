-- Pass 1 of risks_near.sql with a level filter: per kind, the `limit` nearest features at the wanted levels
-- within the radius (index prefilter and ST_DWithin first, so that a rare level cannot make a KNN scan run over
-- the whole table), by <->, with their exact geodesic distances; the bound is the `limit`-th smallest of those.
-- At least `limit` distinct features at the wanted levels lie within it.  Pass 2 always runs (`complete` is false,
-- `knn_features` empty: the candidates here are not enough to answer from).
knn AS (
    (SELECT 'enterprise' AS kind, f.id, ST_Distance(f.geom::geography, %(pt)s::geography) AS distance_m
     FROM enterprise f
     LEFT JOIN feature_risk r ON r.kind = 'enterprise' AND r.feature_id = f.id
     WHERE 'enterprise' = ANY(%(kinds)s)
       AND f.geom && riskmap_expand_m(%(pt)s::geometry, %(radius)s)
       AND ST_DWithin(f.geom::geography, %(pt)s::geography, %(radius)s)
       AND (%(min_pos)s::integer IS NULL OR array_position(%(levels)s::text[], r.level) >= %(min_pos)s)
     ORDER BY f.geom <-> %(pt)s::geometry LIMIT %(limit)s)
    UNION ALL
    (SELECT 'tailings_pond', f.id, ST_Distance(f.geom::geography, %(pt)s::geography)
     FROM tailings_pond f
     LEFT JOIN feature_risk r ON r.kind = 'tailings_pond' AND r.feature_id = f.id
     WHERE 'tailings_pond' = ANY(%(kinds)s)
       AND f.geom && riskmap_expand_m(%(pt)s::geometry, %(radius)s)
       AND ST_DWithin(f.geom::geography, %(pt)s::geography, %(radius)s)
       AND (%(min_pos)s::integer IS NULL OR array_position(%(levels)s::text[], r.level) >= %(min_pos)s)
     ORDER BY f.geom <-> %(pt)s::geometry LIMIT %(limit)s)
    UNION ALL
    (SELECT 'venue', f.id, ST_Distance(f.geom::geography, %(pt)s::geography)
     FROM venue f
     LEFT JOIN feature_risk r ON r.kind = 'venue' AND r.feature_id = f.id
     WHERE 'venue' = ANY(%(kinds)s)
       AND f.geom && riskmap_expand_m(%(pt)s::geometry, %(radius)s)
       AND ST_DWithin(f.geom::geography, %(pt)s::geography, %(radius)s)
       AND (%(min_pos)s::integer IS NULL OR array_position(%(levels)s::text[], r.level) >= %(min_pos)s)
     ORDER BY f.geom <-> %(pt)s::geometry LIMIT %(limit)s)
    UNION ALL
    (SELECT 'pipeline', s.pipeline_id, ST_Distance(s.geom::geography, %(pt)s::geography)
     FROM pipeline_segment s
     LEFT JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = s.id
     WHERE 'pipeline' = ANY(%(kinds)s)
       AND s.geom && riskmap_expand_m(%(pt)s::geometry, %(radius)s)
       AND ST_DWithin(s.geom::geography, %(pt)s::geography, %(radius)s)
       AND (%(min_pos)s::integer IS NULL OR array_position(%(levels)s::text[], r.level) >= %(min_pos)s)
     ORDER BY s.geom <-> %(pt)s::geometry LIMIT %(limit)s)
),
knn_features AS (
    SELECT NULL::text AS kind, NULL::bigint AS id, NULL::text AS source_id, NULL::text AS name,
           NULL::geometry AS geom, NULL::text AS risk_kind, NULL::bigint AS risk_id, NULL::bigint AS segment_id,
           NULL::integer AS segment_seq, NULL::double precision AS distance_m
    WHERE false
),
bound AS (
    -- Fewer than `limit` distinct candidates: only the pipeline pass can have been cut short (its rows are
    -- segments, several per pipeline), so fall back to the radius.  ST_DWithin and ST_Distance round
    -- differently: the slack keeps the feature lying exactly at the bound (pass 2 cuts at `limit` anyway).
    SELECT CASE WHEN count(*) >= %(limit)s
                THEN least((array_agg(d ORDER BY d))[%(limit)s] * 1.0001 + 0.01, %(radius)s)
                ELSE %(radius)s END AS m,
           false AS complete
    FROM (SELECT kind, id, min(distance_m) AS d FROM knn GROUP BY kind, id) c
)
