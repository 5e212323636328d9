-- The stored status of the hidden dangers a chunk of an import names by source id (those it will update).
SELECT source_id, status, status_changed_on, rectified_on, verified_on, reopened_on
FROM hidden_danger
WHERE source_id = ANY(%(source_ids)s::text[])
