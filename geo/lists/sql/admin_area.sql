-- The admin area with the code %(code)s (the lowest id should two rows share a code); no row: unknown.
SELECT admin_code, name, level
FROM area
WHERE admin_code = %(code)s
ORDER BY id
LIMIT 1
