-- The fastest driving hours between every pair of the given road nodes (pgRouting; one-way roads honoured).
-- Pairs no road joins are absent.
SELECT start_vid, end_vid, agg_cost
FROM pgr_dijkstraCostMatrix(
    'SELECT id, source, target, cost_h AS cost, reverse_cost_h AS reverse_cost FROM road_edge',
    %(nodes)s::bigint[], directed => true)
