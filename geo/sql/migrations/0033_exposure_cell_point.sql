-- Each exposure cell keeps its heatmap point as text ([lon, lat, value] rounded as every endpoint rounds them,
-- riskmap_exposure_point of migration 0024), as the kept squares of exposure_grid already do.  GET /exposure of a
-- view holding no more cells than it may return sends every cell of the box (api/sql/exposure_points.sql): about
-- 10,000 at the map's zoom 10, whose JSON arrays, each of three numbers rounded through numeric, took most of the
-- query's 50-80 ms.  Computed by PostgreSQL on every insert and update of a cell (a scoring run writes cells by
-- COPY; a change of a few sites writes about a hundred).
ALTER TABLE exposure_cell
    ADD COLUMN point text GENERATED ALWAYS AS (riskmap_exposure_point(ST_X(geom), ST_Y(geom), value)) STORED;
