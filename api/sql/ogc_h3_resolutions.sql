-- The H3 resolutions stored in area_risk, one OGC collection (area_h3_<res>) each.  A loose index scan over the
-- primary key (area_type, resolution, area_id): one probe per resolution, not a read of every cell.
WITH RECURSIVE res(r) AS (
    SELECT min(resolution) FROM area_risk WHERE area_type = 'h3'
    UNION ALL
    SELECT (SELECT min(resolution) FROM area_risk WHERE area_type = 'h3' AND resolution > res.r)
    FROM res WHERE res.r IS NOT NULL
)
SELECT r FROM res WHERE r IS NOT NULL ORDER BY r
