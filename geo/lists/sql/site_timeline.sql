-- The records of one site (%(kind)s, %(id)s) as the events of its timeline, newest first: its inspections, its
-- hidden dangers (each with its status history), its enforcement actions and the accidents attributed to it.
-- One row per record: (event, id, on, detail), detail a JSON object of what the page shows.  A hidden danger's
-- history comes from record_history (migration 0013: every insert and every update of the row), one entry per
-- change of status: the status, the date the record gives for it (status_changed_on), who made the change and
-- when it was stored; consecutive rows with the same status (an edit of the description, say) are one entry.
-- Ties on a date: accidents, enforcement, dangers, inspections (the order in which they usually follow each other
-- on one day, read newest first), then the newest record first.
WITH danger_changes AS (
    SELECT x.record_id, x.status, x.status_on, x.changed_by, x.changed_at, x.id
    FROM (
        SELECT h.record_id, h.id, h.changed_by, h.changed_at, h.row_after ->> 'status' AS status,
               (h.row_after ->> 'status_changed_on')::date AS status_on,
               lag(h.row_after ->> 'status') OVER (PARTITION BY h.record_id ORDER BY h.id) AS previous
        FROM record_history h
        WHERE h.record_table = 'hidden_danger' AND h.row_after IS NOT NULL
          AND h.record_id IN (SELECT id FROM hidden_danger WHERE site_kind = %(kind)s AND site_id = %(id)s)
    ) x
    WHERE x.previous IS DISTINCT FROM x.status
),
events AS (
    SELECT 'inspection' AS event, 4 AS tie, i.id, i.inspected_on AS on_date,
           json_build_object('source_id', i.source_id, 'inspection_type', i.inspection_type, 'team', i.team,
                             'outcome', i.outcome, 'notes', i.notes) AS detail
    FROM inspection i
    WHERE i.site_kind = %(kind)s AND i.site_id = %(id)s
    UNION ALL
    SELECT 'hidden_danger', 3, h.id, h.found_on,
           json_build_object('source_id', h.source_id, 'description', h.description, 'category', h.category,
                             'grade', h.grade, 'status', h.status, 'deadline', h.deadline,
                             'responsible_unit', h.responsible_unit, 'responsible_person', h.responsible_person,
                             'measures', h.measures, 'inspection_id', h.inspection_id,
                             'history', coalesce((SELECT json_agg(json_build_object(
                                                      'status', c.status, 'on', c.status_on, 'by', c.changed_by,
                                                      'at', c.changed_at) ORDER BY c.id)
                                                  FROM danger_changes c WHERE c.record_id = h.id), '[]'::json))
    FROM hidden_danger h
    WHERE h.site_kind = %(kind)s AND h.site_id = %(id)s
    UNION ALL
    SELECT 'enforcement_action', 2, e.id, e.decided_on,
           json_build_object('source_id', e.source_id, 'measure', e.measure, 'fine_yuan', e.fine_yuan,
                             'lifted_on', e.lifted_on, 'notes', e.notes)
    FROM enforcement_action e
    WHERE e.site_kind = %(kind)s AND e.site_id = %(id)s
    UNION ALL
    SELECT 'accident', 1, a.id, a.occurred_on,
           json_build_object('source_id', a.source_id, 'accident_type', a.accident_type,
                             'accident_class', a.accident_class, 'deaths', a.deaths,
                             'serious_injuries', a.serious_injuries, 'direct_loss_10k_yuan', a.direct_loss_10k_yuan,
                             'source', a.source)
    FROM accident a
    WHERE a.site_kind = %(kind)s AND a.site_id = %(id)s
)
SELECT event, id, on_date, detail
FROM events
ORDER BY on_date DESC, tie, id DESC
