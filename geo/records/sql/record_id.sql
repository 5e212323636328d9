-- The riskmap id of a record of a kind (the table: a RecordKind's name) by its register id.
SELECT id FROM {table} WHERE source_id = %(source_id)s
