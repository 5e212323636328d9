-- The sites of one class (table {table}, kind %(kind)s) with their level and score, as tiles_counted.sql counts them.
SELECT f.geom, r.level, r.score
FROM {table} f
LEFT JOIN feature_risk r ON r.kind = %(kind)s AND r.feature_id = f.id
