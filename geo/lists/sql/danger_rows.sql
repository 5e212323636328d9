-- A page of the hidden dangers of dangers.sql (which this text follows: its WITH clause), overdue first, then by
-- deadline (none last), then id: a keyset page after the key (%(after_rank)s, %(after_deadline)s, %(after_id)s)
-- when %(paged)s, at most %(limit)s rows (NULL: all).  Each row comes with its site (name, source id, props,
-- a pipeline's operator, point on surface, risk level and score) and the county holding the site's point.
, page AS (
    SELECT d.*
    FROM dangers d
    WHERE NOT %(paged)s
       OR (d.overdue_rank, d.deadline_key, d.id) > (%(after_rank)s, %(after_deadline)s::date, %(after_id)s)
    ORDER BY d.overdue_rank, d.deadline_key, d.id
    LIMIT %(limit)s
)
SELECT d.id, d.source_id, d.site_kind, d.site_id, s.source_id AS site_source_id, s.name AS site_name,
       r.level AS site_level, round(r.score::numeric, 2)::double precision AS site_score,
       c.admin_code AS county_code, c.name AS county_name, d.inspection_id, d.description, d.category, d.grade,
       d.status_then AS status, d.found_on, d.deadline, d.overdue, d.days_overdue, d.responsible_unit, d.responsible_person,
       d.measures, d.status_changed_on, d.rectified_on, d.verified_on, d.reopened_on, d.synthetic,
       round(ST_X(s.pt)::numeric, 6)::double precision AS lon, round(ST_Y(s.pt)::numeric, 6)::double precision AS lat,
       s.props AS site_props, s.operator AS site_operator
FROM page d
LEFT JOIN LATERAL (
    SELECT f.source_id, f.name, f.props, NULL::text AS operator, ST_PointOnSurface(f.geom) AS pt
    FROM enterprise f WHERE d.site_kind = 'enterprise' AND f.id = d.site_id
    UNION ALL
    SELECT f.source_id, f.name, f.props, NULL, ST_PointOnSurface(f.geom)
    FROM tailings_pond f WHERE d.site_kind = 'tailings_pond' AND f.id = d.site_id
    UNION ALL
    SELECT f.source_id, f.name, f.props, f.operator, ST_PointOnSurface(f.geom)
    FROM pipeline f WHERE d.site_kind = 'pipeline' AND f.id = d.site_id
    UNION ALL
    SELECT f.source_id, f.name, f.props, NULL, ST_PointOnSurface(f.geom)
    FROM venue f WHERE d.site_kind = 'venue' AND f.id = d.site_id
) s ON true
LEFT JOIN feature_risk r ON r.kind = d.site_kind AND r.feature_id = d.site_id
LEFT JOIN LATERAL (
    SELECT a.admin_code, a.name
    FROM area a
    WHERE a.level = 'county' AND a.geom && s.pt AND ST_Intersects(a.geom, s.pt)
    ORDER BY a.admin_code
    LIMIT 1
) c ON true
ORDER BY d.overdue_rank, d.deadline_key, d.id
