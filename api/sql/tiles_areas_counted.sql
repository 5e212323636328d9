-- The cells of one area type and resolution with their level and score, as tiles_counted.sql counts them.
SELECT r.geom, r.level, r.score
FROM area_risk r
WHERE r.area_type = %(area_type)s AND r.resolution = %(resolution)s
