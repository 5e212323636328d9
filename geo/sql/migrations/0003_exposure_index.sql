-- 0003: the exposure surface is looked up by position (the exposure value at a queried point).
CREATE INDEX exposure_cell_geom_idx ON exposure_cell USING gist (geom);
