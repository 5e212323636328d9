-- The H3 resolutions that have cells stored in area_risk (one published layer each, area_h3_<res>, as the OGC
-- collections), coarse to fine.  A loose index scan over the primary key (area_type, resolution, area_id): one
-- probe per resolution, whatever the number of cells.  Row-level security: the resolutions with cells the user
-- may read.
WITH RECURSIVE stored(r) AS (
    SELECT min(resolution) FROM area_risk WHERE area_type = 'h3'
    UNION ALL
    SELECT (SELECT min(resolution) FROM area_risk WHERE area_type = 'h3' AND resolution > stored.r)
    FROM stored WHERE stored.r IS NOT NULL
)
SELECT r FROM stored WHERE r IS NOT NULL ORDER BY r
