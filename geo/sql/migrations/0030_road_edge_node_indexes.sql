-- 0030: road_edge indexed by its nodes.  `riskmap roads import` replaces the network in one transaction (DELETE FROM
-- road_edge, then DELETE FROM road_node): each deleted node's foreign-key check looked for an edge still naming it
-- by scanning road_edge, whose deleted rows are still there within that transaction: 22,801 nodes x 45,300 dead
-- edges took 90-138 s to import a network again (the first import, into empty tables, 6-9 s).  With these indexes
-- each check reads a few index entries.
CREATE INDEX road_edge_source_idx ON road_edge (source);
CREATE INDEX road_edge_target_idx ON road_edge (target);
