-- GET /exposure/scale: the heatmap's colour scale, the exposure values at fixed quantiles of the whole surface
-- (every cell, whatever the box on screen, so the colours do not change while the map pans or zooms).
-- %(percent)s < 100 on a large surface: a page sample that is the same for the same table (REPEATABLE), about
-- a hundred thousand cells, enough for the quantiles the map uses and bounded in time whatever the region.
SELECT count(*),
       percentile_cont(%(quantiles)s::float8[]) WITHIN GROUP (ORDER BY value)
FROM exposure_cell TABLESAMPLE SYSTEM (%(percent)s) REPEATABLE (0)
