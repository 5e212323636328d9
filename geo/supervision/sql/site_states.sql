-- The scored sites with what the supervision rules look at (geo/supervision/rules.py SiteState): their level and
-- score, the register's last inspection and hidden-danger fields, the last inspection recorded, and the records
-- that can matter on %(as_of)s: every open or reopened hidden danger, the major ones rectified since
-- %(window_start)s, and the enforcement actions not lifted or lifted since %(window_start)s.
--
-- The records are read as they stood on %(as_of)s, so that a date in the past is judged on what was known then
-- (the monthly report of an earlier month, docs/risk-model.md "Supervision"): inspections, hidden dangers and
-- enforcement actions dated after it do not count, a hidden danger has the status it had that day (its current
-- one if set by then, else the last of its dated changes: found → open, rectified, verified, reopened), a
-- rectification or verification after that day is not yet made, and a lifting after that day not yet done; a
-- register's last inspection after that day is not yet known either.  The sites' levels and scores are their
-- current ones, or with %(levels_then)s the ones they had on %(as_of)s: their last score-history entry on or
-- before it (migration 0014; one backward probe of score_history_feature_date_idx per site), the current one for a
-- site without any (scored before the history was kept).
--
-- Filters (NULL: no filter): %(area)s an admin code (sites whose point lies in that area), %(kinds)s the kinds,
-- %(levels)s the levels, %(keys)s 'kind.id' of the sites wanted; %(with_records)s keeps only the sites with a
-- hidden-danger or enforcement record (the look-back search).  Records are read per site through their
-- (site_kind, site_id) indexes, so the cost follows the sites asked about, not the size of the record tables.
WITH area_geom AS (SELECT geom FROM area WHERE admin_code = %(area)s),
sites AS (
    SELECT 'enterprise' AS kind, f.id, f.source_id, f.name, f.geom AS point,
           CASE WHEN f.last_inspection <= %(as_of)s THEN f.last_inspection END AS register_last,
           f.major_hidden_danger AS register_major, f.open_hidden_dangers AS register_open
    FROM enterprise f WHERE 'enterprise' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'tailings_pond', f.id, f.source_id, f.name, ST_PointOnSurface(f.geom),
           CASE WHEN f.last_inspection <= %(as_of)s THEN f.last_inspection END,
           f.major_hidden_danger, NULL::integer
    FROM tailings_pond f WHERE 'tailings_pond' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'pipeline', f.id, f.source_id, f.name, ST_PointOnSurface(f.geom), NULL::date, NULL::boolean,
           NULL::integer
    FROM pipeline f WHERE 'pipeline' = ANY(%(kinds)s)
    UNION ALL
    SELECT 'venue', f.id, f.source_id, f.name, ST_PointOnSurface(f.geom),
           CASE WHEN f.last_fire_inspection <= %(as_of)s THEN f.last_fire_inspection END, NULL::boolean,
           NULL::integer
    FROM venue f WHERE 'venue' = ANY(%(kinds)s)
),
scored AS (
    SELECT s.*, coalesce(h.score, r.score) AS score, coalesce(h.level, r.level) AS level
    FROM sites s
    JOIN feature_risk r ON r.kind = s.kind AND r.feature_id = s.id
    LEFT JOIN LATERAL (
        SELECT h.score, h.level
        FROM score_history h
        WHERE %(levels_then)s AND h.kind = s.kind AND h.feature_id = s.id AND h.as_of <= %(as_of)s
        ORDER BY h.as_of DESC, h.run DESC
        LIMIT 1
    ) h ON true
    WHERE (%(keys)s::text[] IS NULL OR (s.kind || '.' || s.id) = ANY(%(keys)s::text[]))
      AND (%(levels)s::text[] IS NULL OR coalesce(h.level, r.level) = ANY(%(levels)s::text[]))
      AND (%(area)s::text IS NULL OR EXISTS (SELECT 1 FROM area_geom a WHERE ST_Intersects(a.geom, s.point)))
      AND (NOT %(with_records)s
           OR EXISTS (SELECT 1 FROM hidden_danger h WHERE h.site_kind = s.kind AND h.site_id = s.id
                                                       AND h.found_on <= %(as_of)s)
           OR EXISTS (SELECT 1 FROM enforcement_action e WHERE e.site_kind = s.kind AND e.site_id = s.id
                                                            AND e.decided_on <= %(as_of)s))
)
SELECT s.kind, s.id, s.source_id, s.name, ST_X(s.point), ST_Y(s.point), s.score, s.level,
       s.register_last, s.register_major, s.register_open,
       i.last_inspected, coalesce(h.records, 0), coalesce(h.dangers, '[]'::jsonb), coalesce(e.actions, '[]'::jsonb),
       c.admin_code, c.name
FROM scored s
LEFT JOIN LATERAL (
    SELECT max(inspected_on) AS last_inspected
    FROM inspection
    WHERE site_kind = s.kind AND site_id = s.id AND outcome IS DISTINCT FROM 'not_inspected'
      AND inspected_on <= %(as_of)s
) i ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS records,
           jsonb_agg(jsonb_build_object(
               'id', id, 'source_id', source_id, 'grade', grade, 'status', status, 'description', description,
               'found_on', found_on, 'deadline', deadline, 'rectified_on', rectified_on, 'verified_on', verified_on,
               'responsible_unit', responsible_unit, 'responsible_person', responsible_person)
               ORDER BY found_on, id)
               FILTER (WHERE status IN ('open', 'reopened')
                          OR (grade = 'major' AND status IN ('rectified', 'verified')
                              AND rectified_on BETWEEN %(window_start)s AND %(as_of)s)) AS dangers
    FROM (
        SELECT d.id, d.source_id, d.grade, d.description, d.found_on, d.deadline, d.responsible_unit,
               d.responsible_person,
               CASE WHEN d.status_changed_on <= %(as_of)s THEN d.status
                    ELSE (SELECT e.status FROM (VALUES (d.found_on, 0, 'open'), (d.rectified_on, 1, 'rectified'),
                                                       (d.verified_on, 2, 'verified'), (d.reopened_on, 3, 'reopened'))
                                               AS e(day, step, status)
                          WHERE e.day <= %(as_of)s ORDER BY e.day DESC, e.step DESC LIMIT 1) END AS status,
               CASE WHEN d.rectified_on <= %(as_of)s THEN d.rectified_on END AS rectified_on,
               CASE WHEN d.verified_on <= %(as_of)s THEN d.verified_on END AS verified_on
        FROM hidden_danger d
        WHERE d.site_kind = s.kind AND d.site_id = s.id AND d.found_on <= %(as_of)s
    ) hd
) h ON true
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object('id', id, 'source_id', source_id, 'measure', measure,
                                        'decided_on', decided_on,
                                        'lifted_on', CASE WHEN lifted_on <= %(as_of)s THEN lifted_on END)
                     ORDER BY decided_on, id) AS actions
    FROM enforcement_action
    WHERE site_kind = s.kind AND site_id = s.id AND measure <> 'fine' AND decided_on <= %(as_of)s
      AND (lifted_on IS NULL OR lifted_on >= %(window_start)s)
) e ON true
LEFT JOIN LATERAL (
    SELECT admin_code, name FROM area
    WHERE level = 'county' AND ST_Intersects(geom, s.point)
    ORDER BY admin_code LIMIT 1
) c ON true
ORDER BY s.kind, s.id
