-- The fastest driving hours between every pair of the given road nodes (pgRouting; one-way roads honoured),
-- over the edges in the query %(edges)s (the network around the plan's points).  Pairs no road joins are absent.
SELECT start_vid, end_vid, agg_cost
FROM pgr_dijkstraCostMatrix(%(edges)s, %(nodes)s::bigint[], directed => true)
