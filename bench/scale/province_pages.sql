-- Issue 18 item 4: does a query in one county read pages holding another province's rows?
--
--   psql "$URL" -v kind=venue -f bench/scale/province_pages.sql      (kind: enterprise, tailings_pond, venue, settlement)
--
-- On a scored database (scope_site places every row in its admin areas; a province's code is the first two digits
-- of every code below it), 40 counties drawn at random (setseed: the same ones each time): the heap pages holding
-- the rows of :kind inside each county (what a bitmap scan of a query kept to the county reads), and how many of
-- those pages also hold a row of another province.  0 would mean the table is stored province by province.
CREATE TEMP TABLE page_province AS
SELECT (t.ctid::text::point)[0]::bigint AS page, array_agg(DISTINCT left(c, 2)) AS provinces
FROM :kind t JOIN scope_site s ON s.kind = :'kind' AND s.id = t.id, unnest(s.codes) c
GROUP BY 1;
SELECT setseed(0.42);
CREATE TEMP TABLE sample_county AS SELECT admin_code, geom FROM area WHERE level = 'county' ORDER BY random() LIMIT 40;
WITH read AS (
    SELECT c.admin_code, (t.ctid::text::point)[0]::bigint AS page
    FROM sample_county c JOIN :kind t ON t.geom && c.geom AND ST_Intersects(t.geom, c.geom)),
per_county AS (
    SELECT r.admin_code, count(DISTINCT r.page) AS pages,
           count(DISTINCT r.page) FILTER (WHERE EXISTS (SELECT FROM unnest(p.provinces) v
                                                        WHERE v <> left(r.admin_code, 2))) AS mixed_pages
    FROM read r JOIN page_province p USING (page)
    GROUP BY r.admin_code)
SELECT :'kind' AS kind, count(*) AS counties_with_rows, sum(pages) AS pages_read,
       sum(mixed_pages) AS pages_with_another_province, round(100.0 * sum(mixed_pages) / sum(pages), 1) AS percent,
       count(*) FILTER (WHERE mixed_pages > 0) AS counties_reading_another_province
FROM per_county;
