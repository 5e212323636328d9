-- 0012: a pipeline's summary now counts its high-consequence areas over every segment (highest GB 32167 grade,
-- segments and km per grade, and which segments; issue 13 item 8), where the stored pipeline rows copied the
-- details of their worst-scoring segment.  In a database scored before, record a change of unknown extent: the
-- next `riskmap score` then recomputes everything and rewrites every pipeline's summary.
INSERT INTO risk_dirty (kind, extent)
SELECT 'pipeline', NULL
WHERE EXISTS (SELECT 1 FROM feature_risk WHERE kind = 'pipeline');
