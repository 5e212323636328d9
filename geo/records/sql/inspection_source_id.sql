-- The register id of an inspection.
SELECT source_id FROM inspection WHERE id = %(id)s
