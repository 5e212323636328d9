-- Pass 1 of risks_near.sql without a level filter: the features nearest by degree distance, and how far to look.
--
-- One KNN index scan per table, merged in order (Merge Append: each scan reads only as far as the merge needs),
-- the first 2 × `limit` rows (pipelines come as segments, several per pipeline); a kind not asked for gets
-- LIMIT 0, so its scan never runs (a WHERE on the kind would put a gate above the index scan and lose the
-- merge).  Each scan keeps to the radius's box (`near_box`: riskmap_expand_m, as pass 2; nothing outside it lies
-- within the radius), so where fewer features than that lie near the point the scans stop at the box instead of
-- reading and measuring 2 × `limit` rows from farther away (at random points of the demo a query took 2.0 ms
-- instead of 5.2).  Each row gets its geodesic distance; each feature is kept once, at its nearest part among the
-- rows
-- (`knn_features`).
--
-- `bound.m`: the `limit` distinct features nearest by degree distance lie within the largest of their geodesic
-- distances, so the true `limit` nearest do too: m is the `limit`-th smallest of those distances (never beyond
-- the radius; with fewer than `limit` features, the radius).  ST_Distance may round differently from pass 2:
-- the slack keeps a feature lying exactly at the bound.
--
-- `bound.complete`: the rows already hold everything within m, so pass 2 is not needed.  True when the scans ran
-- out of rows (they then hold every feature in the radius's box), or when the last row is farther in degrees than
-- any point within m metres can be: a point within m metres lies less than max(m / (111,320 m · cos φ),
-- m / 110,574 m) degrees away (a degree of latitude is at least 110,574 m, a degree of longitude at least
-- 111,320 m · cos φ near φ), with 1 per cent to spare for the curvature of a circle that large
-- (tests/api/test_near.py checks the rule against pyproj.Geod).  Far from the equator (|φ| + m in degrees above
-- 85°) it is never complete, and the scans are not kept to a box.
near_box AS (
    -- the box the scans keep to: the radius's box, or the whole world where the circle may reach over a pole; with
    -- the bound's slack (riskmap_expand_m takes 111,320 m to a degree of longitude, a few millimetres a degree
    -- more than on the equator)
    SELECT CASE WHEN abs(ST_Y(%(pt)s::geometry)) + %(radius)s / 110574.0 <= 85.0
                THEN riskmap_expand_m(%(pt)s::geometry, %(radius)s * 1.0001 + 0.01)
                ELSE ST_MakeEnvelope(-180, -90, 180, 90, 4326) END AS box
),
knn AS (
    SELECT *
    FROM ((SELECT 'enterprise' AS kind, f.id, f.source_id, f.name, f.geom, 'enterprise' AS risk_kind,
                  f.id AS risk_id, NULL::bigint AS segment_id, NULL::integer AS segment_seq,
                  f.geom <-> %(pt)s::geometry AS dd
           FROM enterprise f
           WHERE f.geom && (SELECT box FROM near_box)
           ORDER BY dd LIMIT CASE WHEN 'enterprise' = ANY(%(kinds)s) THEN 2 * %(limit)s ELSE 0 END)
          UNION ALL
          (SELECT 'tailings_pond', f.id, f.source_id, f.name, f.geom, 'tailings_pond', f.id, NULL, NULL,
                  f.geom <-> %(pt)s::geometry AS dd
           FROM tailings_pond f
           WHERE f.geom && (SELECT box FROM near_box)
           ORDER BY dd LIMIT CASE WHEN 'tailings_pond' = ANY(%(kinds)s) THEN 2 * %(limit)s ELSE 0 END)
          UNION ALL
          (SELECT 'venue', f.id, f.source_id, f.name, f.geom, 'venue', f.id, NULL, NULL,
                  f.geom <-> %(pt)s::geometry AS dd
           FROM venue f
           WHERE f.geom && (SELECT box FROM near_box)
           ORDER BY dd LIMIT CASE WHEN 'venue' = ANY(%(kinds)s) THEN 2 * %(limit)s ELSE 0 END)
          UNION ALL
          (SELECT 'pipeline', s.pipeline_id, NULL, NULL, s.geom, 'pipeline_segment', s.id, s.id, s.seq,
                  s.geom <-> %(pt)s::geometry AS dd
           FROM pipeline_segment s
           WHERE s.geom && (SELECT box FROM near_box)
           ORDER BY dd LIMIT CASE WHEN 'pipeline' = ANY(%(kinds)s) THEN 2 * %(limit)s ELSE 0 END)) candidates
    ORDER BY dd
    LIMIT 2 * %(limit)s
),
knn_features AS MATERIALIZED (
    SELECT DISTINCT ON (kind, id) kind, id, source_id, name, geom, risk_kind, risk_id, segment_id, segment_seq,
           distance_m
    FROM (SELECT knn.*, ST_Distance(geom::geography, %(pt)s::geography) AS distance_m FROM knn) measured
    ORDER BY kind, id, distance_m, segment_seq
),
bound_m AS (
    SELECT least(CASE WHEN count(*) >= %(limit)s
                      THEN (array_agg(distance_m ORDER BY distance_m))[%(limit)s] * 1.0001 + 0.01
                      ELSE %(radius)s END, %(radius)s) AS m
    FROM knn_features
),
bound AS (
    SELECT b.m,
           (SELECT count(*) FROM knn) < 2 * %(limit)s
           OR (abs(ST_Y(%(pt)s::geometry)) + b.m / 110574.0 <= 85.0
               AND (SELECT max(dd) FROM knn) > 1.01 * greatest(
                       b.m / (111320.0 * cos(radians(abs(ST_Y(%(pt)s::geometry))))), b.m / 110574.0)) AS complete
    FROM bound_m b
)
