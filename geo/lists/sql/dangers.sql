-- The hidden dangers (hidden_danger, migration 0013) that match a filter, with whether each is overdue on a date.
-- geo/lists/hidden_dangers.py follows this text with danger_rows.sql (a page of them with their sites) or
-- danger_summary.sql (their counts per area); the filter is the same for both.
--
-- Where a site lies: at its point on surface (a point is itself), in the admin area whose outline covers that
-- point (on the boundary counts), the lowest code where outlines overlap: the rule by which the area risk
-- assigns features to admin areas (geo/risk/aggregate.py admin_assign) and by which the risk list, the plans and
-- the supervision give a site its county.  A danger whose site no longer exists keeps its row, with no site
-- name, no point and no area (so an area, box or level filter leaves it out).
--
-- Cost: the filters on the danger's own columns and the order read hidden_danger alone; the filters on its site
-- (area, box, level) are decided once per site (sited, through the feature tables' spatial indexes), not once per
-- danger, and the sites' details are read for the rows returned only.  psycopg2 writes the parameters into the
-- text, so a filter not given (NULL) folds away when the query is planned.
--
-- As of a date: the dangers found on or before %(as_of)s, each with its status on that day (status_then, by
-- riskmap_danger_status_on of migration 0016: a rectification made later does not count yet), which the status
-- filter, "overdue" and the rows read.
--
-- Parameters (NULL: no filter): %(as_of)s the date the list is as of, and overdue is judged on (overdue: status
-- open or reopened on that day, and the deadline before it); %(statuses)s, %(grades)s, %(kinds)s (the site's kind), %(levels)s (the site's
-- risk level; an unscored site matches no level) as text arrays; %(overdue)s; %(found_from)s and %(found_to)s
-- (found_on within, both ends included); %(area)s an admin code; %(nobox)s, %(x0)s ... %(y1)s a box the site's
-- point lies in; %(site_kind)s, %(site_id)s one site; %(sited)s whether any site filter (area, box, levels) is
-- given.
WITH zone AS (SELECT geom FROM area WHERE admin_code = %(area)s),
sited AS (
    SELECT s.kind, s.id
    FROM (
        SELECT 'enterprise' AS kind, f.id, f.geom FROM enterprise f
        WHERE %(kinds)s::text[] IS NULL OR 'enterprise' = ANY(%(kinds)s::text[])
        UNION ALL
        SELECT 'tailings_pond', f.id, f.geom FROM tailings_pond f
        WHERE %(kinds)s::text[] IS NULL OR 'tailings_pond' = ANY(%(kinds)s::text[])
        UNION ALL
        SELECT 'pipeline', f.id, f.geom FROM pipeline f
        WHERE %(kinds)s::text[] IS NULL OR 'pipeline' = ANY(%(kinds)s::text[])
        UNION ALL
        SELECT 'venue', f.id, f.geom FROM venue f
        WHERE %(kinds)s::text[] IS NULL OR 'venue' = ANY(%(kinds)s::text[])
    ) s
    LEFT JOIN feature_risk r ON r.kind = s.kind AND r.feature_id = s.id
    WHERE %(sited)s
      AND (%(levels)s::text[] IS NULL OR r.level = ANY(%(levels)s::text[]))
      AND (%(area)s::text IS NULL OR EXISTS (SELECT 1 FROM zone z WHERE z.geom && s.geom
                                             AND ST_Intersects(z.geom, ST_PointOnSurface(s.geom))))
      AND (%(nobox)s OR (s.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                         AND ST_PointOnSurface(s.geom) && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)))
),
dated AS (
    SELECT h.*, riskmap_danger_status_on(h.status, h.status_changed_on, h.found_on, h.rectified_on, h.verified_on,
                                         h.reopened_on, %(as_of)s::date) AS status_then
    FROM hidden_danger h
    WHERE h.found_on <= %(as_of)s::date
),
matched AS (
    SELECT h.*,
           coalesce(h.status_then IN ('open', 'reopened') AND h.deadline < %(as_of)s::date, false) AS overdue
    FROM dated h
    WHERE (%(statuses)s::text[] IS NULL OR h.status_then = ANY(%(statuses)s::text[]))
      AND (%(grades)s::text[] IS NULL OR h.grade = ANY(%(grades)s::text[]))
      AND (%(kinds)s::text[] IS NULL OR h.site_kind = ANY(%(kinds)s::text[]))
      AND (%(found_from)s::date IS NULL OR h.found_on >= %(found_from)s::date)
      AND (%(found_to)s::date IS NULL OR h.found_on <= %(found_to)s::date)
      AND (%(site_kind)s::text IS NULL OR (h.site_kind = %(site_kind)s::text AND h.site_id = %(site_id)s::bigint))
      AND (NOT %(sited)s OR (h.site_kind, h.site_id) IN (SELECT kind, id FROM sited))
),
dangers AS (
    SELECT m.*,
           CASE WHEN m.overdue THEN 0 ELSE 1 END AS overdue_rank,  -- the order: overdue first,
           coalesce(m.deadline, 'infinity'::date) AS deadline_key,  -- then by deadline (none last), then id
           CASE WHEN m.overdue THEN %(as_of)s::date - m.deadline END AS days_overdue
    FROM matched m
    WHERE (%(overdue)s::boolean IS NULL OR m.overdue = %(overdue)s::boolean)
)
