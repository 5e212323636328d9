-- The cells of riskmap_scope_incoming (key, shape: an H3 cell's hexagon with %(centre)s, else an exposure cell's
-- point) that have no place yet, placed at the centre of the shape or at the point, area by area, as the statement
-- trigger of 0025/0036 places the same cells when they are written (geo/risk/placing.py).
CREATE TEMP TABLE riskmap_scope_points ON COMMIT DROP AS
SELECT DISTINCT ON (i.key) i.key, CASE WHEN %(centre)s THEN ST_Centroid(i.shape) ELSE i.shape END AS geom
FROM riskmap_scope_incoming i
WHERE NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = i.key);

INSERT INTO scope_cell (cell, codes)
SELECT p.key, p.codes FROM riskmap_scope_points_placed() p
ON CONFLICT (cell) DO NOTHING;
