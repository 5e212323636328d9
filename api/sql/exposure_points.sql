-- GET /exposure: the exposure surface (issue 3) in a box, for the map's heatmap, as one JSON document
-- {"cell_m": <the surface's cell size>, "grid_deg": <the grid the points were thinned to, 0 if not>,
--  "max": <the largest value in the box>, "points": [[lon, lat, value], ...]}.
-- When the box holds more cells than the page can draw (%(grid)s > 0), cells are grouped on a grid of %(grid)s
-- degrees and each group is one point at the mean position of its cells with their largest value.
WITH cells AS (
    SELECT ST_X(geom) AS x, ST_Y(geom) AS y, value, resolution
    FROM exposure_cell
    WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
),
points AS (
    SELECT avg(x) AS x, avg(y) AS y, max(value) AS value
    FROM cells
    GROUP BY CASE WHEN %(grid)s > 0 THEN floor(x / %(grid)s) END, CASE WHEN %(grid)s > 0 THEN floor(y / %(grid)s) END,
             CASE WHEN %(grid)s > 0 THEN NULL ELSE x END, CASE WHEN %(grid)s > 0 THEN NULL ELSE y END
)
SELECT json_build_object(
    'cell_m', (SELECT max(resolution) FROM cells),
    'grid_deg', %(grid)s,
    'max', coalesce((SELECT round(max(value)::numeric, 3) FROM points), 0),
    'points', coalesce((SELECT json_agg(json_build_array(round(x::numeric, 5), round(y::numeric, 5),
                                                         round(value::numeric, 3)))
                        FROM points), '[]'::json))::text
