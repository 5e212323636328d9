-- The sites whose record inputs (record_summary.sql) may differ between two scoring dates although no record
-- changed: those with a record date in (%(low)s, %(high)s], where a date-dependent input switches.  A danger
-- counts from its found date and changes at each status date; it becomes overdue the day after its deadline;
-- an inspection counts from its date, and a pipeline's moves to the next patrol band the day after each of
-- %(patrol_days)s days ([pipeline.patrol]); an enforcement action counts from its date, leaves the window
-- %(window_days)s days later and stops being in force on the day it is lifted.
SELECT site_kind AS kind, site_id AS feature_id FROM hidden_danger
WHERE found_on > %(low)s::date AND found_on <= %(high)s::date
   OR deadline + 1 > %(low)s::date AND deadline + 1 <= %(high)s::date
   OR status_changed_on > %(low)s::date AND status_changed_on <= %(high)s::date
   OR rectified_on > %(low)s::date AND rectified_on <= %(high)s::date
   OR verified_on > %(low)s::date AND verified_on <= %(high)s::date
   OR reopened_on > %(low)s::date AND reopened_on <= %(high)s::date
UNION
SELECT site_kind, site_id FROM inspection
WHERE inspected_on > %(low)s::date AND inspected_on <= %(high)s::date
   OR site_kind = 'pipeline' AND EXISTS (
          SELECT 1 FROM unnest(%(patrol_days)s::integer[]) b(days)
          WHERE inspected_on + b.days + 1 > %(low)s::date AND inspected_on + b.days + 1 <= %(high)s::date)
UNION
SELECT site_kind, site_id FROM enforcement_action
WHERE decided_on > %(low)s::date AND decided_on <= %(high)s::date
   OR decided_on + %(window_days)s::integer > %(low)s::date AND decided_on + %(window_days)s::integer <= %(high)s::date
   OR lifted_on > %(low)s::date AND lifted_on <= %(high)s::date
