-- The rows of an imported file whose id an earlier row already used (riskmap_import_ids: row_no, source_id,
-- filled by geo.importer._report_repeated_ids), in row order, each with the row that first used the id and the
-- number of such rows in all; at most as many rows as the report lists.
WITH repeated AS (
    SELECT source_id, min(row_no) AS first_row
    FROM riskmap_import_ids
    WHERE source_id IS NOT NULL
    GROUP BY source_id
    HAVING count(*) > 1
), rows AS (
    SELECT i.row_no, i.source_id, r.first_row
    FROM riskmap_import_ids i
    JOIN repeated r USING (source_id)
    WHERE i.row_no > r.first_row
)
SELECT row_no, source_id, first_row, count(*) OVER () AS total
FROM rows
ORDER BY row_no
LIMIT %(cap)s
