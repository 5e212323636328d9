-- The sites of the list of major risks and hidden dangers (重大风险和隐患清单): every scored site of the kinds
-- %(kinds)s at the levels %(levels)s (red and orange), worst first (level, score as published, kind, id), each
-- with its point on surface, the county holding it, its props and (pipelines) operator, for the responsible unit
-- and the supervising department, and the three factors that gave the most points (a row's factors are stored
-- ordered by points, migration 0007), with their titles and sources.
--
-- %(area)s (NULL: everywhere) keeps the sites whose point lies in that admin area: the same rule as dangers.sql.
WITH zone AS (SELECT geom FROM area WHERE admin_code = %(area)s),
sites AS (
    SELECT 'enterprise' AS kind, f.id, f.source_id, f.name, f.props, NULL::text AS operator,
           ST_PointOnSurface(f.geom) AS pt, f.synthetic
    FROM enterprise f WHERE 'enterprise' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'tailings_pond', f.id, f.source_id, f.name, f.props, NULL, ST_PointOnSurface(f.geom), f.synthetic
    FROM tailings_pond f WHERE 'tailings_pond' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'pipeline', f.id, f.source_id, f.name, f.props, f.operator, ST_PointOnSurface(f.geom), f.synthetic
    FROM pipeline f WHERE 'pipeline' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'venue', f.id, f.source_id, f.name, f.props, NULL, ST_PointOnSurface(f.geom), f.synthetic
    FROM venue f WHERE 'venue' = ANY(%(kinds)s)
)
SELECT s.kind, s.id, s.source_id, s.name, r.level, round(r.score::numeric, 2)::double precision AS score,
       r.direct_red, coalesce(top.reasons, '[]'::json) AS reasons, c.admin_code AS county_code,
       c.name AS county_name, s.props, s.operator, s.synthetic,
       round(ST_X(s.pt)::numeric, 6)::double precision AS lon, round(ST_Y(s.pt)::numeric, 6)::double precision AS lat
FROM sites s
JOIN feature_risk r ON r.kind = s.kind AND r.feature_id = s.id
LEFT JOIN LATERAL (
    SELECT a.admin_code, a.name
    FROM area a
    WHERE a.level = 'county' AND a.geom && s.pt AND ST_Intersects(a.geom, s.pt)
    ORDER BY a.admin_code
    LIMIT 1
) c ON true
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object('factor', e.f ->> 0, 'title', d.title, 'value', e.f -> 1,
                                      'points', e.f -> 2, 'source', d.source) ORDER BY e.n) AS reasons
    FROM jsonb_array_elements(r.factors) WITH ORDINALITY AS e(f, n)
    LEFT JOIN risk_factor_def d
           ON d.model_version = r.model_version AND d.factor = e.f ->> 0
          AND d.kind = CASE WHEN s.kind = 'pipeline' THEN 'pipeline_segment' ELSE s.kind END
    WHERE e.n <= 3
) top ON true
WHERE r.level = ANY(%(levels)s)
  AND (%(area)s::text IS NULL OR EXISTS (SELECT 1 FROM zone z WHERE z.geom && s.pt AND ST_Intersects(z.geom, s.pt)))
ORDER BY array_position(ARRAY['red', 'orange', 'yellow', 'blue'], r.level), round(r.score::numeric, 2) DESC,
         s.kind, s.id
