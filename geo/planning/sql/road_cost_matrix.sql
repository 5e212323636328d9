-- The fastest driving hours between every pair of the given road nodes by pgRouting (one-way roads honoured), over
-- the edges in the query %(edges)s (edges_around: the network around the plan's points).  Pairs no road joins are
-- absent.  Plans no longer use it (geo/planning/roads.py searches the graph itself): it is the reference that
-- tests/geo/test_roads.py and bench/plan/roadmatrix.py check those times against.
SELECT start_vid, end_vid, agg_cost
FROM pgr_dijkstraCostMatrix(%(edges)s, %(nodes)s::bigint[], directed => true)
