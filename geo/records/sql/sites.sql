-- The sites of one class (the table: geo.records.references, from the site_kind enum) that a chunk of imported
-- records names, by riskmap id or by source id: one query per chunk and class, both indexes used (BitmapOr).
SELECT id, source_id
FROM {table}
WHERE id = ANY(%(ids)s::bigint[]) OR source_id = ANY(%(source_ids)s::text[])
