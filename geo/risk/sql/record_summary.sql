-- What the records say about each site of one class as of a date (issue 14 item 5; domain.md §8): the inputs the
-- rules take from the records instead of the register's counts (geo/risk/records.py).  One row per site that has
-- a record dated on or before %(as_of)s; a site with none has no row (the register is its source).
--
-- A hidden danger's status as of the date: its current status if that was set on or before the date, otherwise
-- the last of its dated changes (found → open, rectified, verified, reopened) on or before it, so that scoring
-- as of a past date does not see a later rectification.  A danger is open while open or reopened, overdue while
-- open past its deadline, and a major one is unclosed until verified (domain.md §8: closed by verification).
-- Violations: enforcement actions decided in the %(window_days)s days up to the date.
-- The last inspection: the latest inspection on or before the date that took place (outcome not 'not_inspected').
-- The measure in force: the strongest stopping measure decided on or before the date and not lifted by it
-- (closure 关闭取缔 over suspension 停产整顿), NULL when none is (pipelines read it as their operating status).
WITH danger AS (
    SELECT h.site_id, h.grade, h.deadline,
           CASE WHEN h.status_changed_on <= %(as_of)s::date THEN h.status
                ELSE (SELECT e.status FROM (VALUES (h.found_on, 0, 'open'), (h.rectified_on, 1, 'rectified'),
                                                   (h.verified_on, 2, 'verified'), (h.reopened_on, 3, 'reopened'))
                                           AS e(day, step, status)
                      WHERE e.day <= %(as_of)s::date ORDER BY e.day DESC, e.step DESC LIMIT 1) END AS status
    FROM hidden_danger h
    WHERE h.site_kind = %(kind)s AND h.found_on <= %(as_of)s::date
      AND (%(ids)s::bigint[] IS NULL OR h.site_id = ANY(%(ids)s::bigint[]))
), dangers AS (
    SELECT site_id,
           count(*) FILTER (WHERE status IN ('open', 'reopened')) AS open_dangers,
           count(*) FILTER (WHERE status = 'rectified') AS rectified_dangers,
           count(*) FILTER (WHERE status IN ('open', 'reopened') AND deadline < %(as_of)s::date) AS overdue_dangers,
           coalesce(bool_or(grade = 'major' AND status <> 'verified'), false) AS open_major
    FROM danger GROUP BY site_id
), inspections AS (
    SELECT site_id, max(inspected_on) FILTER (WHERE outcome IS DISTINCT FROM 'not_inspected') AS last_inspection
    FROM inspection
    WHERE site_kind = %(kind)s AND inspected_on <= %(as_of)s::date
      AND (%(ids)s::bigint[] IS NULL OR site_id = ANY(%(ids)s::bigint[]))
    GROUP BY site_id
), enforcement AS (
    SELECT site_id, count(*) FILTER (WHERE decided_on > %(as_of)s::date - %(window_days)s::integer) AS violations,
           CASE WHEN bool_or(measure = 'closure' AND in_force) THEN 'closure'
                WHEN bool_or(measure = 'suspension' AND in_force) THEN 'suspension' END AS measure_in_force
    FROM enforcement_action
    CROSS JOIN LATERAL (SELECT lifted_on IS NULL OR lifted_on > %(as_of)s::date AS in_force) f
    WHERE site_kind = %(kind)s AND decided_on <= %(as_of)s::date
      AND (%(ids)s::bigint[] IS NULL OR site_id = ANY(%(ids)s::bigint[]))
    GROUP BY site_id
)
SELECT site_id AS feature_id,
       coalesce(d.open_dangers, 0) AS record_open_dangers,
       coalesce(d.rectified_dangers, 0) AS record_rectified_dangers,
       coalesce(d.overdue_dangers, 0) AS record_overdue_dangers,
       coalesce(d.open_major, false) AS record_open_major,
       coalesce(e.violations, 0) AS record_violations_12m,
       i.last_inspection::text AS record_last_inspection,
       e.measure_in_force AS record_measure_in_force
FROM dangers d FULL JOIN inspections i USING (site_id) FULL JOIN enforcement e USING (site_id)
ORDER BY site_id
