-- The register id and name of a record's site (its class and riskmap id); no row when the site is gone.
SELECT source_id, name FROM enterprise WHERE %(kind)s = 'enterprise' AND id = %(id)s
UNION ALL
SELECT source_id, name FROM tailings_pond WHERE %(kind)s = 'tailings_pond' AND id = %(id)s
UNION ALL
SELECT source_id, name FROM pipeline WHERE %(kind)s = 'pipeline' AND id = %(id)s
UNION ALL
SELECT source_id, name FROM venue WHERE %(kind)s = 'venue' AND id = %(id)s
