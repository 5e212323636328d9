-- 0016: a hidden danger's status on a date, as one SQL function (domain.md §8; the hidden-danger lists).
--
-- hidden_danger keeps the current status and the date of each kind of change (rectified_on, verified_on,
-- reopened_on: the latest of each) and of the last one (status_changed_on); record_history keeps every change.
-- The status on a day is the current one when it was set on or before that day; otherwise the last of the dated
-- changes (found -> open, rectified, verified, reopened) on or before it, a later step winning a tie (a danger
-- rectified and verified the same day is verified); NULL before the danger was found.  The lists judge "open"
-- and "overdue" as of a date with it, so that a list as of a past day holds neither the dangers found after that
-- day nor the rectifications made after it.
CREATE FUNCTION riskmap_danger_status_on(status text, status_changed_on date, found_on date, rectified_on date,
                                         verified_on date, reopened_on date, day date)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN found_on > day THEN NULL
        WHEN status_changed_on <= day THEN status
        ELSE (SELECT e.status
              FROM (VALUES (found_on, 0, 'open'), (rectified_on, 1, 'rectified'), (verified_on, 2, 'verified'),
                           (reopened_on, 3, 'reopened')) AS e(changed, step, status)
              WHERE e.changed <= day
              ORDER BY e.changed DESC, e.step DESC
              LIMIT 1)
    END
$$;
