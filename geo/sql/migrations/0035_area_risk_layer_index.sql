-- area_risk holds every layer of areas: the admin levels (3,211 areas for China) and each H3 resolution (at a
-- million national features about 650,000 cells).  Every query of it asks for one layer (area type and resolution)
-- within a box; with a GiST index on the geometry alone, a zoom-9 view of the county zoning fetched the ~50,000 H3
-- cells in its box to keep its ~100 counties (bench/scale/growth.py: 25 ms at 100,000 features, 102 ms at a
-- million, for the same counties).  The index now leads with the layer (btree_gist: equality on text and integer
-- inside a GiST index), so a query reads its own layer's entries only, whatever the others hold; a partial index
-- per layer would not serve the API's generic plans, whose layer is a parameter.
CREATE EXTENSION IF NOT EXISTS btree_gist;
DROP INDEX IF EXISTS area_risk_geom_idx;
CREATE INDEX area_risk_layer_geom_idx ON area_risk USING gist (area_type, resolution, geom);
