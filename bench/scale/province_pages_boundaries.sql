-- Issue 18 item 4, after `riskmap db cluster`: of the pages bench/scale/province_pages.sql finds a county's query
-- reading that also hold another province's rows, how many are a page where one province's run ends and the next
-- begins (its rows' stored provinces differ: the step cannot avoid them, one per pair of provinces next to each
-- other in the table), and how many hold a row lying on a border between two provinces (its admin codes name both).
--
--   psql "$URL" -v kind=venue -f bench/scale/province_pages_boundaries.sql   (kind: enterprise, tailings_pond, ...)
--
-- The same 40 counties as province_pages.sql (the same seed).
CREATE TEMP TABLE page_province AS
SELECT (t.ctid::text::point)[0]::bigint AS page, array_agg(DISTINCT left(c, 2)) AS provinces,
       count(DISTINCT t.province) > 1 AS run_boundary,
       bool_or((SELECT count(DISTINCT left(x, 2)) FROM unnest(s.codes) x) > 1) AS border_row
FROM :kind t JOIN scope_site s ON s.kind = :'kind' AND s.id = t.id, unnest(s.codes) c
GROUP BY 1;
SELECT setseed(0.42);
CREATE TEMP TABLE sample_county AS SELECT admin_code, geom FROM area WHERE level = 'county' ORDER BY random() LIMIT 40;
WITH read AS (
    SELECT DISTINCT c.admin_code, (t.ctid::text::point)[0]::bigint AS page
    FROM sample_county c JOIN :kind t ON t.geom && c.geom AND ST_Intersects(t.geom, c.geom)),
mixed AS (
    SELECT r.admin_code, r.page, p.run_boundary, p.border_row
    FROM read r JOIN page_province p USING (page)
    WHERE EXISTS (SELECT FROM unnest(p.provinces) v WHERE v <> left(r.admin_code, 2)))
SELECT :'kind' AS kind, count(*) AS pages_with_another_province,
       count(*) FILTER (WHERE run_boundary) AS where_a_run_ends_and_the_next_begins,
       count(*) FILTER (WHERE border_row) AS holding_a_row_on_a_border,
       count(*) FILTER (WHERE NOT run_boundary AND NOT border_row) AS other
FROM mixed;
