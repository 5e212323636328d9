-- The model's H3 resolutions that have cells stored in area_risk (one published layer each), coarse to fine: an
-- index probe per resolution (the primary key), whatever the number of cells.
SELECT r
FROM unnest(%(resolutions)s::integer[]) AS r
WHERE EXISTS (SELECT 1 FROM area_risk WHERE area_type = 'h3' AND resolution = r)
ORDER BY r
