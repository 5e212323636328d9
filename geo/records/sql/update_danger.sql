-- A hidden danger's change: its status and the date columns of the change (geo.records.transitions.change), and
-- the fields an editor may change beside it.  A column whose flag is false keeps its value.
UPDATE hidden_danger SET
    status = coalesce(%(status)s, status),
    status_changed_on = coalesce(%(status_changed_on)s, status_changed_on),
    rectified_on = CASE WHEN %(set_rectified_on)s THEN %(rectified_on)s ELSE rectified_on END,
    verified_on = CASE WHEN %(set_verified_on)s THEN %(verified_on)s ELSE verified_on END,
    reopened_on = CASE WHEN %(set_reopened_on)s THEN %(reopened_on)s ELSE reopened_on END,
    deadline = CASE WHEN %(set_deadline)s THEN %(deadline)s ELSE deadline END,
    responsible_unit = CASE WHEN %(set_responsible_unit)s THEN %(responsible_unit)s ELSE responsible_unit END,
    responsible_person = CASE WHEN %(set_responsible_person)s THEN %(responsible_person)s ELSE responsible_person END,
    measures = CASE WHEN %(set_measures)s THEN %(measures)s ELSE measures END,
    updated_at = now()
WHERE id = %(id)s
