-- What the records of an area say about a period (%(first)s … %(last)s), counted (geo/records/summary.py; GET
-- /records/summary; the monthly report, riskmap report).  %(area)s: an admin code, whose records are those of the
-- sites with their point in it, placed as the supervision list places them (an enterprise by its geometry, the
-- other classes by their point on surface), and the accidents whose own point lies in it; NULL: everywhere.
--
-- Events of the period count by their dates (an inspection's, a danger's found / rectified / verified / reopened
-- date, a decision's and a lifting's).  The state at the period's end is as of %(last)s: a danger's status that
-- day (its current one if set by then, else the last of its dated changes), open = open or reopened, overdue = open
-- with its deadline before %(last)s (the deadline is the last day allowed); a measure in force = decided by then,
-- not a fine, not lifted by then.
WITH area_geom AS (SELECT geom FROM area WHERE admin_code = %(area)s),
sites AS (  -- (the joins use the classes' spatial indexes: a county's sites are found without testing every site)
    SELECT 'enterprise' AS kind, f.id FROM enterprise f WHERE %(area)s::text IS NULL
    UNION ALL
    SELECT 'enterprise', f.id FROM enterprise f JOIN area_geom a ON ST_Intersects(a.geom, f.geom)
    UNION ALL
    SELECT 'tailings_pond', f.id FROM tailings_pond f WHERE %(area)s::text IS NULL
    UNION ALL
    SELECT 'tailings_pond', f.id FROM tailings_pond f JOIN area_geom a
        ON f.geom && a.geom AND ST_Intersects(a.geom, ST_PointOnSurface(f.geom))
    UNION ALL
    SELECT 'pipeline', f.id FROM pipeline f WHERE %(area)s::text IS NULL
    UNION ALL
    SELECT 'pipeline', f.id FROM pipeline f JOIN area_geom a
        ON f.geom && a.geom AND ST_Intersects(a.geom, ST_PointOnSurface(f.geom))
    UNION ALL
    SELECT 'venue', f.id FROM venue f WHERE %(area)s::text IS NULL
    UNION ALL
    SELECT 'venue', f.id FROM venue f JOIN area_geom a
        ON f.geom && a.geom AND ST_Intersects(a.geom, ST_PointOnSurface(f.geom))
),
ins AS (
    SELECT i.* FROM inspection i JOIN sites s ON s.kind = i.site_kind AND s.id = i.site_id
    WHERE i.inspected_on BETWEEN %(first)s AND %(last)s
),
danger AS (
    SELECT d.*,
           CASE WHEN d.status_changed_on <= %(last)s THEN d.status
                ELSE (SELECT e.status FROM (VALUES (d.found_on, 0, 'open'), (d.rectified_on, 1, 'rectified'),
                                                   (d.verified_on, 2, 'verified'), (d.reopened_on, 3, 'reopened'))
                                           AS e(day, step, status)
                      WHERE e.day <= %(last)s ORDER BY e.day DESC, e.step DESC LIMIT 1) END AS status_then
    FROM hidden_danger d JOIN sites s ON s.kind = d.site_kind AND s.id = d.site_id
    WHERE d.found_on <= %(last)s
),
act AS (
    SELECT e.* FROM enforcement_action e JOIN sites s ON s.kind = e.site_kind AND s.id = e.site_id
    WHERE e.decided_on <= %(last)s
),
acc AS (
    SELECT a.* FROM accident a
    WHERE a.occurred_on BETWEEN %(first)s AND %(last)s
      AND (%(area)s::text IS NULL OR EXISTS (SELECT 1 FROM area_geom g WHERE ST_Intersects(g.geom, a.geom)))
)
SELECT
    (SELECT jsonb_build_object(
        'total', count(*),
        'sites_inspected', count(DISTINCT (site_kind, site_id)) FILTER (WHERE outcome IS DISTINCT FROM 'not_inspected'),
        'not_inspected', count(*) FILTER (WHERE outcome = 'not_inspected'),
        'by_type', jsonb_build_object(
            'routine', count(*) FILTER (WHERE inspection_type = 'routine'),
            'special', count(*) FILTER (WHERE inspection_type = 'special'),
            'comprehensive', count(*) FILTER (WHERE inspection_type = 'comprehensive'),
            'look_back', count(*) FILTER (WHERE inspection_type = 'look_back')),
        'by_outcome', jsonb_build_object(
            'no_findings', count(*) FILTER (WHERE outcome = 'no_findings'),
            'dangers_found', count(*) FILTER (WHERE outcome = 'dangers_found'),
            'enforcement', count(*) FILTER (WHERE outcome = 'enforcement'),
            'not_inspected', count(*) FILTER (WHERE outcome = 'not_inspected'),
            'not_recorded', count(*) FILTER (WHERE outcome IS NULL)))
     FROM ins) AS inspections,
    (SELECT jsonb_build_object(
        'found', count(*) FILTER (WHERE found_on >= %(first)s),
        'found_major', count(*) FILTER (WHERE found_on >= %(first)s AND grade = 'major'),
        'rectified', count(*) FILTER (WHERE rectified_on BETWEEN %(first)s AND %(last)s),
        'verified', count(*) FILTER (WHERE verified_on BETWEEN %(first)s AND %(last)s),
        'reopened', count(*) FILTER (WHERE reopened_on BETWEEN %(first)s AND %(last)s),
        'open_at_end', count(*) FILTER (WHERE status_then IN ('open', 'reopened')),
        'open_major_at_end', count(*) FILTER (WHERE status_then IN ('open', 'reopened') AND grade = 'major'),
        'overdue_at_end', count(*) FILTER (WHERE status_then IN ('open', 'reopened') AND deadline < %(last)s),
        'overdue_major_at_end', count(*) FILTER (WHERE status_then IN ('open', 'reopened') AND deadline < %(last)s
                                                   AND grade = 'major'))
     FROM danger) AS hidden_dangers,
    (SELECT jsonb_build_object(
        'decided', count(*) FILTER (WHERE decided_on >= %(first)s),
        'by_measure', jsonb_build_object(
            'rectify_order', count(*) FILTER (WHERE decided_on >= %(first)s AND measure = 'rectify_order'),
            'suspension', count(*) FILTER (WHERE decided_on >= %(first)s AND measure = 'suspension'),
            'closure', count(*) FILTER (WHERE decided_on >= %(first)s AND measure = 'closure'),
            'fine', count(*) FILTER (WHERE decided_on >= %(first)s AND measure = 'fine')),
        'fines_yuan', coalesce(sum(fine_yuan) FILTER (WHERE decided_on >= %(first)s AND measure = 'fine'), 0),
        'lifted', count(*) FILTER (WHERE lifted_on BETWEEN %(first)s AND %(last)s),
        'suspensions_lifted', count(*) FILTER (WHERE lifted_on BETWEEN %(first)s AND %(last)s
                                                 AND measure = 'suspension'),
        'in_force_at_end', count(*) FILTER (WHERE measure <> 'fine' AND (lifted_on IS NULL OR lifted_on > %(last)s)),
        'suspended_at_end', count(*) FILTER (WHERE measure IN ('suspension', 'closure')
                                               AND (lifted_on IS NULL OR lifted_on > %(last)s)))
     FROM act) AS enforcement,
    (SELECT jsonb_build_object(
        'total', count(*),
        'deaths', coalesce(sum(deaths), 0),
        'serious_injuries', coalesce(sum(serious_injuries), 0),
        'by_class', jsonb_build_object(
            'general', count(*) FILTER (WHERE accident_class = 'general'),
            'relatively_serious', count(*) FILTER (WHERE accident_class = 'relatively_serious'),
            'serious', count(*) FILTER (WHERE accident_class = 'serious'),
            'especially_serious', count(*) FILTER (WHERE accident_class = 'especially_serious')),
        'synthetic', count(*) FILTER (WHERE synthetic))
     FROM acc) AS accidents
