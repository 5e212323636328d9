-- The hidden dangers of one site that are not yet closed (open, reopened, or rectified and waiting for the
-- supervisor's verification), with the number of photos each has: what an inspector at the site can act on.
-- Open and reopened first, the earliest deadline first (no deadline last), then the oldest found.
SELECT d.id, d.source_id, d.description, d.category, d.grade, d.found_on, d.deadline, d.status,
       d.status_changed_on, d.responsible_unit, d.responsible_person,
       (SELECT count(*) FROM hidden_danger_photo p WHERE p.hidden_danger_id = d.id) AS photos
FROM hidden_danger d
WHERE d.site_kind = %(kind)s AND d.site_id = %(id)s AND d.status IN ('open', 'reopened', 'rectified')
ORDER BY d.status = 'rectified', d.deadline NULLS LAST, d.found_on, d.id
