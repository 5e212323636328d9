-- The monthly series of one admin area from the score history (migration 0014): for each month from %(first)s
-- to %(last)s (first days), the state at the month's end of every feature whose history puts it in the area:
-- its row with the latest as_of on or before that day (ties: the latest run), counted where that row places it
-- (lon, lat: where the areas counted it) and only if it has a score (no score: removed).  Per month: the
-- features, how many at each level, and their mean score.
-- The history has no spatial index (it is written on every run and read here rarely): a scan of its points in
-- the area's box finds the features, whose rows are then read by the primary key.
WITH a AS (
    SELECT geom, ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, ST_XMax(geom) AS x1, ST_YMax(geom) AS y1
    FROM area WHERE admin_code = %(code)s
), features AS (
    SELECT DISTINCT h.kind, h.feature_id
    FROM score_history h, a
    WHERE h.lon BETWEEN a.x0 AND a.x1 AND h.lat BETWEEN a.y0 AND a.y1
), spans AS (
    SELECT h.as_of, h.score, h.level, h.lon, h.lat,
           lead(h.as_of) OVER (PARTITION BY h.kind, h.feature_id ORDER BY h.as_of, h.run) AS next_as_of
    FROM features f JOIN score_history h ON h.kind = f.kind AND h.feature_id = f.feature_id
    WHERE h.as_of <= (%(last)s::date + interval '1 month' - interval '1 day')::date
), months AS (
    SELECT m::date AS month, (m + interval '1 month' - interval '1 day')::date AS month_end
    FROM generate_series(%(first)s::date, %(last)s::date, interval '1 month') AS m
), state AS (
    SELECT m.month, s.score, s.level
    FROM months m
    JOIN spans s ON s.as_of <= m.month_end AND (s.next_as_of IS NULL OR s.next_as_of > m.month_end)
    CROSS JOIN a
    WHERE s.score IS NOT NULL AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326))
)
SELECT to_char(m.month, 'YYYY-MM') AS month, count(s.score) AS features,
       count(*) FILTER (WHERE s.level = 'red') AS red, count(*) FILTER (WHERE s.level = 'orange') AS orange,
       count(*) FILTER (WHERE s.level = 'yellow') AS yellow, count(*) FILTER (WHERE s.level = 'blue') AS blue,
       avg(s.score) AS mean_score
FROM months m LEFT JOIN state s ON s.month = m.month
GROUP BY m.month
ORDER BY m.month
