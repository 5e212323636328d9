-- The hidden dangers whose site's point on surface lies in the tile's box (the CTE `placed` of tiles_dangers.sql and
-- tiles_dangers_cells.sql, after their `bounds`): each danger at its site's point, with its site's score, level
-- and factors.  The sites are found in the box by their GiST indexes (a site's point on surface lies in its
-- bounding box), then their dangers by hidden_danger_site_idx.
placed AS (
    SELECT d.id, d.source_id, d.description, d.grade, d.status, d.found_on, d.deadline, d.site_kind, d.site_id,
           s.name AS site_name, s.pt, r.score, r.level, r.factors
    FROM (SELECT 'enterprise' AS kind, f.id, f.name, ST_PointOnSurface(f.geom) AS pt
          FROM enterprise f, bounds b WHERE f.geom && b.degrees
          UNION ALL
          SELECT 'tailings_pond', f.id, f.name, ST_PointOnSurface(f.geom) FROM tailings_pond f, bounds b
          WHERE f.geom && b.degrees
          UNION ALL
          SELECT 'venue', f.id, f.name, ST_PointOnSurface(f.geom) FROM venue f, bounds b WHERE f.geom && b.degrees
          UNION ALL
          SELECT 'pipeline', f.id, f.name, ST_PointOnSurface(f.geom) FROM pipeline f, bounds b
          WHERE f.geom && b.degrees) s
    CROSS JOIN bounds b
    JOIN hidden_danger d ON d.site_kind = s.kind AND d.site_id = s.id
    LEFT JOIN feature_risk r ON r.kind = s.kind AND r.feature_id = s.id
    WHERE ST_Intersects(s.pt, b.degrees)
)
