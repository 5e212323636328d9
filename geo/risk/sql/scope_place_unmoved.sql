-- riskmap_scope_refresh() (migrations 0019 and 0025) for an incremental run that took no change of a feature (its
-- change records are all of records: an inspection, a hidden danger...).  A site has no place only once it is
-- added or moved (migration 0019's triggers forget its place) or the areas change (then every place is forgotten,
-- and the run is a full one, which calls riskmap_scope_refresh() itself); an added or moved site's change record is
-- taken by the run that places it.  So in this run only accidents, which record no change, may lack a place: they
-- are placed as riskmap_scope_refresh() places them, and the cells likewise, without its anti-join of every
-- feature table against scope_site (about 10 ms a run on the demo, seconds at a million sites).
INSERT INTO scope_site (kind, id, codes)
SELECT 'accident', f.id, coalesce(array_agg(a.admin_code ORDER BY a.admin_code)
                                  FILTER (WHERE a.admin_code IS NOT NULL), '{}')
FROM accident f
LEFT JOIN area a ON a.geom && f.geom AND ST_Intersects(a.geom, f.geom)
WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'accident' AND s.id = f.id)
GROUP BY f.id;

INSERT INTO scope_cell (cell, codes)
SELECT c.cell, coalesce(array_agg(a.admin_code ORDER BY a.admin_code)
                        FILTER (WHERE a.admin_code IS NOT NULL), '{}')
FROM (SELECT DISTINCT ON (u.cell) u.cell, u.pt
      FROM (SELECT r.area_id AS cell, ST_Centroid(r.geom) AS pt FROM area_risk r WHERE r.area_type = 'h3'
            UNION ALL
            SELECT e.cell, e.geom FROM exposure_cell e) u
      WHERE NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = u.cell)) c
LEFT JOIN area a ON a.geom && c.pt AND ST_Intersects(a.geom, c.pt)
WHERE NOT (SELECT cells_placed FROM scope_state)
GROUP BY c.cell;

UPDATE scope_state SET cells_placed = true WHERE NOT cells_placed;
