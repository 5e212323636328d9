-- The accidents of a backtest's window (issue 14 item 6): each with its type, the site named on it (if any, and
-- whether that site is in the register), its position and whether it is synthetic (the demo's).
SELECT a.id, a.source_id, a.occurred_on::text AS occurred_on, a.accident_type, a.accident_class, a.deaths,
       a.serious_injuries, a.site_kind, a.site_id, a.synthetic,
       CASE a.site_kind
           WHEN 'enterprise' THEN EXISTS (SELECT 1 FROM enterprise f WHERE f.id = a.site_id)
           WHEN 'tailings_pond' THEN EXISTS (SELECT 1 FROM tailings_pond f WHERE f.id = a.site_id)
           WHEN 'pipeline' THEN EXISTS (SELECT 1 FROM pipeline f WHERE f.id = a.site_id)
           WHEN 'venue' THEN EXISTS (SELECT 1 FROM venue f WHERE f.id = a.site_id)
       END AS site_found,
       ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat
FROM accident a
WHERE a.occurred_on BETWEEN %(first)s::date AND %(last)s::date
ORDER BY a.occurred_on, a.id
