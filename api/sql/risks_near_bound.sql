-- Pass 1 of risks_near.sql without a level filter: the bound from the features nearest by degree distance.
-- One KNN index scan per table, merged in order (Merge Append: each scan reads only as far as the merge needs),
-- the first 2 × `limit` rows; a kind not asked for gets LIMIT 0, so its scan never runs (a WHERE on the kind
-- would put a gate above the index scan and lose the merge).  Pipelines come as segments, several per pipeline,
-- hence 2 × `limit` rows for `limit` distinct features.  The `limit` distinct features nearest by degree
-- distance all lie within the largest of their geodesic distances, so at least `limit` features lie within it:
-- that is the bound (only `limit` geodesic distances computed).  ST_Distance and pass 2 may round differently:
-- the slack keeps a feature lying exactly at the bound.  Fewer than `limit` distinct features: the radius.
knn AS (
    SELECT kind, id, geom, dd
    FROM ((SELECT 'enterprise' AS kind, f.id, f.geom, f.geom <-> %(pt)s::geometry AS dd
           FROM enterprise f
           ORDER BY dd LIMIT CASE WHEN 'enterprise' = ANY(%(kinds)s) THEN 2 * %(limit)s ELSE 0 END)
          UNION ALL
          (SELECT 'tailings_pond', f.id, f.geom, f.geom <-> %(pt)s::geometry AS dd
           FROM tailings_pond f
           ORDER BY dd LIMIT CASE WHEN 'tailings_pond' = ANY(%(kinds)s) THEN 2 * %(limit)s ELSE 0 END)
          UNION ALL
          (SELECT 'venue', f.id, f.geom, f.geom <-> %(pt)s::geometry AS dd
           FROM venue f
           ORDER BY dd LIMIT CASE WHEN 'venue' = ANY(%(kinds)s) THEN 2 * %(limit)s ELSE 0 END)
          UNION ALL
          (SELECT 'pipeline', s.pipeline_id, s.geom, s.geom <-> %(pt)s::geometry AS dd
           FROM pipeline_segment s
           ORDER BY dd LIMIT CASE WHEN 'pipeline' = ANY(%(kinds)s) THEN 2 * %(limit)s ELSE 0 END)) candidates
    ORDER BY dd
    LIMIT 2 * %(limit)s
),
nearest_by_degree AS (
    SELECT geom
    FROM (SELECT DISTINCT ON (kind, id) geom, dd FROM knn ORDER BY kind, id, dd) per_feature
    ORDER BY dd
    LIMIT %(limit)s
),
bound AS (
    SELECT CASE WHEN count(*) >= %(limit)s
                THEN least(max(ST_Distance(geom::geography, %(pt)s::geography)) * 1.0001 + 0.01, %(radius)s)
                ELSE %(radius)s END AS m
    FROM nearest_by_degree
)
