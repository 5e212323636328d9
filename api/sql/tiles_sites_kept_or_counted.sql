-- A vector tile of one class of sites (kind %(kind)s) below zoom 10 for a user of every area: from the counts kept
-- ready (tiles_sites_cells.sql), or, while the class's counts wait for the whole count of the scoring run that
-- follows a bulk change (site_tile_stale, migration 0031), counted from the sites (tiles_counted.sql): the same
-- tile, byte for byte.  Only the branch taken runs (each is an init plan, run when its value is first needed).
-- Parameters: those of both.
SELECT CASE WHEN riskmap_site_cells_stale(%(kind)s) THEN ({counted}) ELSE ({kept}) END
