-- The sites whose record inputs (record_summary.sql) may differ between two scoring dates although no record
-- changed: those with a record date in (%(low)s, %(high)s], where a date-dependent input switches.  A danger
-- counts from its found date and changes at each status date; it becomes overdue the day after its deadline;
-- an inspection counts from its date; an enforcement action counts from its date and leaves the window
-- %(window_days)s days later.
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
UNION
SELECT site_kind, site_id FROM enforcement_action
WHERE decided_on > %(low)s::date AND decided_on <= %(high)s::date
   OR decided_on + %(window_days)s::integer > %(low)s::date AND decided_on + %(window_days)s::integer <= %(high)s::date
