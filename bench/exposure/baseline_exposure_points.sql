-- The baseline of bench/exposure/unthinned.py: api/sql/exposure_points.sql before each cell kept its point as
-- text (migration 0033; main at caa3a08, 2026-12-05): a JSON array built per cell.
-- GET /exposure: the exposure surface (issue 3) in a box, for the map's heatmap, as one JSON document
-- {"cell_m": <the surface's cell size>, "grid_deg": <the grid the points were thinned to, 0 if not>,
--  "max": <the largest value in the box>, "points": [[lon, lat, value], ...]}.
-- When the box holds more cells than the page can draw (%(grid)s > 0), cells are grouped on a grid of %(grid)s
-- degrees and each group is one point: its hottest cell, at that cell's position with its value. (Not the mean
-- position of the group: a hot spot then stays where it is at every zoom, and the map can check it there.)
WITH cells AS (
    SELECT ST_X(geom) AS x, ST_Y(geom) AS y, value, resolution
    FROM exposure_cell
    WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
),
points AS (
    SELECT DISTINCT ON (gx, gy) x, y, value
    FROM (SELECT x, y, value,
                 CASE WHEN %(grid)s > 0 THEN floor(x / %(grid)s) ELSE x END AS gx,
                 CASE WHEN %(grid)s > 0 THEN floor(y / %(grid)s) ELSE y END AS gy
          FROM cells) grouped
    ORDER BY gx, gy, value DESC, x, y
)
SELECT json_build_object(
    'cell_m', (SELECT max(resolution) FROM cells),
    'grid_deg', %(grid)s,
    'max', coalesce((SELECT round(max(value)::numeric, 3) FROM points), 0),
    'points', coalesce((SELECT json_agg(json_build_array(round(x::numeric, 5), round(y::numeric, 5),
                                                         round(value::numeric, 3)))
                        FROM points), '[]'::json))::text
