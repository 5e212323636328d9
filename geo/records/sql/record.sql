-- One record of a kind (the table: a RecordKind's name, geo.records.store), every column as JSON (dates as
-- YYYY-MM-DD; an accident's point as GeoJSON).
SELECT to_jsonb(r)
FROM {table} r
WHERE r.id = %(id)s
