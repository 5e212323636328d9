-- The inspections that a chunk of imported hidden dangers names (by riskmap id or source id), with their sites.
SELECT id, source_id, site_kind, site_id
FROM inspection
WHERE id = ANY(%(ids)s::bigint[]) OR source_id = ANY(%(source_ids)s::text[])
