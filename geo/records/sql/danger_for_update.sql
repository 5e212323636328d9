-- A hidden danger about to change, locked until the change commits (two changes of one danger take turns).
SELECT status, found_on, status_changed_on, rectified_on, verified_on, reopened_on, deadline
FROM hidden_danger
WHERE id = %(id)s
FOR UPDATE
