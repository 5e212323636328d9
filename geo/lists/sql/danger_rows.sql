-- A page of the hidden dangers of dangers.sql (which this text follows: its WITH clause), overdue first, then by
-- deadline (none last), then id: a keyset page after the key (%(after_rank)s, %(after_deadline)s, %(after_id)s)
-- when %(paged)s, at most %(limit)s rows (NULL: all).  Each row also names the county holding the site's point.
SELECT d.id, d.source_id, d.site_kind, d.site_id, d.site_source_id, d.site_name, d.site_level, d.site_score,
       c.admin_code AS county_code, c.name AS county_name, d.inspection_id, d.description, d.category, d.grade,
       d.status, d.found_on, d.deadline, d.overdue, d.days_overdue, d.responsible_unit, d.responsible_person,
       d.measures, d.status_changed_on, d.rectified_on, d.verified_on, d.reopened_on, d.synthetic,
       round(ST_X(d.pt)::numeric, 6)::double precision AS lon, round(ST_Y(d.pt)::numeric, 6)::double precision AS lat,
       d.site_props, d.site_operator, d.overdue_rank, d.deadline_key
FROM dangers d
LEFT JOIN LATERAL (
    SELECT a.admin_code, a.name
    FROM area a
    WHERE a.level = 'county' AND a.geom && d.pt AND ST_Intersects(a.geom, d.pt)
    ORDER BY a.admin_code
    LIMIT 1
) c ON true
WHERE NOT %(paged)s OR (d.overdue_rank, d.deadline_key, d.id) > (%(after_rank)s, %(after_deadline)s::date, %(after_id)s)
ORDER BY d.overdue_rank, d.deadline_key, d.id
LIMIT %(limit)s
