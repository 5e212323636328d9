-- The hidden dangers (hidden_danger, migration 0013) that match a filter, each with its site: the site's name,
-- source id, point, risk level and score, and the county holding the point.  geo/lists/hidden_dangers.py wraps
-- this query (a page of it, every row of it, or counts per area of it); the filter is the same for all three.
--
-- Where a site lies: at its point on surface (a point is itself), in the admin area whose outline covers that
-- point (on the boundary counts), the lowest code where outlines overlap: the rule by which the area risk
-- assigns features to admin areas (geo/risk/aggregate.py admin_assign) and by which the risk list, the plans and
-- the supervision give a site its county.  A danger whose site no longer exists keeps its row, with no site
-- name, no point and no area (so an area filter leaves it out).
--
-- Parameters (NULL: no filter): %(as_of)s the date overdue is judged on (past the deadline: deadline < as_of,
-- and not rectified or verified: status open or reopened); %(statuses)s, %(grades)s, %(kinds)s (the site's
-- kind), %(levels)s (the site's risk level; an unscored site matches no level) as text arrays; %(overdue)s;
-- %(found_from)s and %(found_to)s (found_on within, both ends included); %(area)s an admin code;
-- %(nobox)s, %(x0)s ... %(y1)s a box the site's point lies in; %(site_kind)s, %(site_id)s one site.
WITH zone AS (SELECT geom FROM area WHERE admin_code = %(area)s),
matched AS (
    SELECT h.id, h.source_id, h.site_kind, h.site_id, h.inspection_id, h.description, h.category, h.grade,
           h.found_on, h.deadline, h.responsible_unit, h.responsible_person, h.status, h.status_changed_on,
           h.rectified_on, h.verified_on, h.reopened_on, h.measures, h.synthetic,
           s.source_id AS site_source_id, s.name AS site_name, s.props AS site_props, s.operator AS site_operator,
           s.pt, r.level AS site_level, round(r.score::numeric, 2)::double precision AS site_score,
           coalesce(h.status IN ('open', 'reopened') AND h.deadline < %(as_of)s::date, false) AS overdue
    FROM hidden_danger h
    LEFT JOIN LATERAL (
        SELECT f.source_id, f.name, f.props, NULL::text AS operator, ST_PointOnSurface(f.geom) AS pt
        FROM enterprise f WHERE h.site_kind = 'enterprise' AND f.id = h.site_id
        UNION ALL
        SELECT f.source_id, f.name, f.props, NULL, ST_PointOnSurface(f.geom)
        FROM tailings_pond f WHERE h.site_kind = 'tailings_pond' AND f.id = h.site_id
        UNION ALL
        SELECT f.source_id, f.name, f.props, f.operator, ST_PointOnSurface(f.geom)
        FROM pipeline f WHERE h.site_kind = 'pipeline' AND f.id = h.site_id
        UNION ALL
        SELECT f.source_id, f.name, f.props, NULL, ST_PointOnSurface(f.geom)
        FROM venue f WHERE h.site_kind = 'venue' AND f.id = h.site_id
    ) s ON true
    LEFT JOIN feature_risk r ON r.kind = h.site_kind AND r.feature_id = h.site_id
    WHERE (%(statuses)s::text[] IS NULL OR h.status = ANY(%(statuses)s::text[]))
      AND (%(grades)s::text[] IS NULL OR h.grade = ANY(%(grades)s::text[]))
      AND (%(kinds)s::text[] IS NULL OR h.site_kind = ANY(%(kinds)s::text[]))
      AND (%(levels)s::text[] IS NULL OR r.level = ANY(%(levels)s::text[]))
      AND (%(found_from)s::date IS NULL OR h.found_on >= %(found_from)s::date)
      AND (%(found_to)s::date IS NULL OR h.found_on <= %(found_to)s::date)
      AND (%(site_kind)s::text IS NULL OR (h.site_kind = %(site_kind)s::text AND h.site_id = %(site_id)s::bigint))
      AND (%(area)s::text IS NULL OR EXISTS (SELECT 1 FROM zone z WHERE z.geom && s.pt AND ST_Intersects(z.geom, s.pt)))
      AND (%(nobox)s OR s.pt && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
),
dangers AS (
    SELECT m.*,
           CASE WHEN m.overdue THEN 0 ELSE 1 END AS overdue_rank,  -- the order: overdue first,
           coalesce(m.deadline, 'infinity'::date) AS deadline_key,  -- then by deadline (none last), then id
           CASE WHEN m.overdue THEN %(as_of)s::date - m.deadline END AS days_overdue
    FROM matched m
    WHERE (%(overdue)s::boolean IS NULL OR m.overdue = %(overdue)s::boolean)
)
