-- GET /risk-list: the list of major risks (重大风险清单): the scored features of the kinds %(kinds)s at the levels
-- %(levels)s, worst first, one row per feature with the reasons of its score.
--
-- Parameters: kinds (text[]), levels (text[], the levels wanted), worst_first (text[], every level, worst first:
-- the sort order), zoned (boolean: restrict to an area), admin_code (the area is this administrative area of the
-- table area, else NULL), cell and cell_res (the area is this H3 cell of area_risk, else NULL).
--
-- A feature is in the area when its geometry intersects the area's.  Pipelines are listed once, by their pipeline
-- row of feature_risk (the rolled-up risk of the line: that of its worst segment); their factors are defined under
-- the kind 'pipeline_segment' of risk_factor_def; their high-consequence areas (hca) are those of all their
-- segments.  Order: level (worst first), score as published (two decimals) descending, kind, id.  Each row carries the three factors that gave the most points (the reasons), the county
-- holding the feature's point on surface and the coordinates of that point.
WITH zone AS (
    SELECT geom FROM area WHERE admin_code = %(admin_code)s
    UNION ALL
    SELECT geom FROM area_risk WHERE area_type = 'h3' AND resolution = %(cell_res)s AND area_id = %(cell)s
),
listed AS (
    SELECT 'enterprise' AS kind, f.id, f.source_id, f.name, f.geom, r.score, r.level, r.direct_red, r.factors,
           r.model_version, 'enterprise' AS factor_kind, NULL::jsonb AS summary
    FROM feature_risk r
    JOIN enterprise f ON f.id = r.feature_id
    WHERE r.kind = 'enterprise' AND 'enterprise' = ANY(%(kinds)s) AND r.level = ANY(%(levels)s)
      AND (NOT %(zoned)s OR EXISTS (SELECT 1 FROM zone z WHERE f.geom && z.geom AND ST_Intersects(f.geom, z.geom)))
    UNION ALL
    SELECT 'tailings_pond', f.id, f.source_id, f.name, f.geom, r.score, r.level, r.direct_red, r.factors,
           r.model_version, 'tailings_pond', NULL::jsonb
    FROM feature_risk r
    JOIN tailings_pond f ON f.id = r.feature_id
    WHERE r.kind = 'tailings_pond' AND 'tailings_pond' = ANY(%(kinds)s) AND r.level = ANY(%(levels)s)
      AND (NOT %(zoned)s OR EXISTS (SELECT 1 FROM zone z WHERE f.geom && z.geom AND ST_Intersects(f.geom, z.geom)))
    UNION ALL
    SELECT 'pipeline', f.id, f.source_id, f.name, f.geom, r.score, r.level, r.direct_red, r.factors,
           r.model_version, 'pipeline_segment', r.details
    FROM feature_risk r
    JOIN pipeline f ON f.id = r.feature_id
    WHERE r.kind = 'pipeline' AND 'pipeline' = ANY(%(kinds)s) AND r.level = ANY(%(levels)s)
      AND (NOT %(zoned)s OR EXISTS (SELECT 1 FROM zone z WHERE f.geom && z.geom AND ST_Intersects(f.geom, z.geom)))
    UNION ALL
    SELECT 'venue', f.id, f.source_id, f.name, f.geom, r.score, r.level, r.direct_red, r.factors,
           r.model_version, 'venue', NULL::jsonb
    FROM feature_risk r
    JOIN venue f ON f.id = r.feature_id
    WHERE r.kind = 'venue' AND 'venue' = ANY(%(kinds)s) AND r.level = ANY(%(levels)s)
      AND (NOT %(zoned)s OR EXISTS (SELECT 1 FROM zone z WHERE f.geom && z.geom AND ST_Intersects(f.geom, z.geom)))
)
SELECT l.kind, l.id, l.source_id, l.name, l.level,
       round(l.score::numeric, 2)::double precision AS score,
       l.direct_red,
       coalesce(top.reasons, '[]'::json) AS reasons,
       county.admin_code AS county_code, county.name AS county_name,
       round(ST_X(p.pt)::numeric, 6)::double precision AS lon,
       round(ST_Y(p.pt)::numeric, 6)::double precision AS lat,
       l.model_version,
       -- a pipeline's high-consequence areas, from its summary over all its segments (geo/risk/pipeline_summary.py)
       CASE WHEN l.summary ? 'hca_by_grade' THEN json_build_object(
           'grade', l.summary -> 'hca_grade', 'by_grade', l.summary -> 'hca_by_grade',
           'segments', l.summary -> 'hca_segments') END AS hca
FROM listed l
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(l.geom) AS pt) p
LEFT JOIN LATERAL (
    -- the county holding the point on surface (the lowest code, should boundaries overlap)
    SELECT a.admin_code, a.name
    FROM area a
    WHERE a.level = 'county' AND a.geom && p.pt AND ST_Intersects(a.geom, p.pt)
    ORDER BY a.admin_code
    LIMIT 1
) county ON true
LEFT JOIN LATERAL (
    -- the three factors that contributed the most points (as in risks_near.sql), with their title and source
    SELECT json_agg(json_build_object(
               'factor', t.f ->> 0, 'title', d.title, 'value', t.f -> 1, 'points', t.f -> 2, 'source', d.source)
           ORDER BY t.n) AS reasons
    FROM (SELECT e.f, row_number() OVER (ORDER BY (e.f ->> 2)::double precision DESC NULLS LAST, e.f ->> 0) AS n
          FROM jsonb_array_elements(l.factors) AS e(f)) t
    LEFT JOIN risk_factor_def d
           ON d.model_version = l.model_version AND d.kind = l.factor_kind AND d.factor = t.f ->> 0
    WHERE t.n <= 3
) top ON true
ORDER BY array_position(%(worst_first)s::text[], l.level), round(l.score::numeric, 2) DESC, l.kind, l.id
