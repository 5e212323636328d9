-- `riskmap db cluster` (geo/province_order.py): one padding row per province in the shadow {shadow}, so that no page
-- holds the rows of two provinces.  CLUSTER writes its rows page after page and starts a new page when a row does
-- not fit (province_order_cluster.sql).  A padding row sorts after its province's rows (its id is below every
-- row's), is nearly a page long ({row_bytes} bytes), and so takes a page of its own with no room left for the next
-- province's first row, which starts the next page.  The padding rows are deleted before the commit, and their
-- pages are left empty.
--
-- A padding row is a copy of its province's smallest row (its columns meet the table's checks) with such an id and,
-- for geometry, a star-shaped polygon around the copied row's point on surface (a line of the same points for a
-- table of lines) with as many vertices as make the row {row_bytes} bytes long.  A geometry is stored in its row
-- (PostGIS's "main" storage) unless it compresses or the row would not fit a page: the vertices' radii vary from one
-- to the next so that they do not compress, and the length is kept below a page's limit; the vertex count is found
-- from the copied row's size to within a vertex (16 bytes), which the padding allows for.
WITH template AS (
    SELECT DISTINCT ON (s.province) s.*, pg_column_size(s.*) AS row_bytes, pg_column_size(s.geom) AS geom_bytes,
           ST_X(ST_PointOnSurface(s.geom)) AS x, ST_Y(ST_PointOnSurface(s.geom)) AS y,
           GeometryType(s.geom) IN ('LINESTRING', 'MULTILINESTRING') AS line
    FROM {shadow} s
    WHERE s.province IS NOT NULL
    ORDER BY s.province, row_bytes, s.id),
padding AS (
    SELECT t.province, ST_SetSRID(
               CASE WHEN t.line THEN ST_MakeLine(v.points)
                    ELSE ST_MakePolygon(ST_AddPoint(ST_MakeLine(v.points), v.points[1])) END,
               ST_SRID(t.geom)) AS geom
    FROM template t
    CROSS JOIN LATERAL (SELECT greatest(4, ({row_bytes} - (t.row_bytes - t.geom_bytes) - 64) / 16)::integer AS n) k
    CROSS JOIN LATERAL (
        SELECT array_agg(ST_MakePoint(t.x + r * cos(a), t.y + r * sin(a)) ORDER BY i) AS points
        FROM generate_series(0, k.n - 1) i
        CROSS JOIN LATERAL (SELECT 2 * pi() * i / k.n AS a,
                                   1e-4 * (1 + 0.5 * (abs(sin(i * 12.9898) * 43758.5453)
                                                       - floor(abs(sin(i * 12.9898) * 43758.5453)))) AS r) p) v)
INSERT INTO {shadow} ({columns}) OVERRIDING SYSTEM VALUE
SELECT {values}
FROM template t
JOIN padding pad USING (province)
