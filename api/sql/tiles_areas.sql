-- A vector tile of the area risk of one area type and resolution (admin counties: 'admin', 3; H3 cells: 'h3' and
-- the H3 resolution): the areas that meet the tile, simplified to the tile's resolution (one tile unit), with
-- their score, level, highest level inside, number of features and exposed population.  An area too small to
-- show at this zoom is left out of the tile.  The same data always gives the same bytes.
-- Below zoom 10 (detail false) a tile carries only the id, name, score and levels of its areas: the counts
-- per class, unique to each area, would make most of a low-zoom tile of small cells.
-- Parameters: z, x, y, extent, buffer, layer, area_type, resolution, detail.
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS mercator,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS degrees
),
tile_rows AS (
    SELECT r.area_id AS id, a.name, round(r.score::numeric, 2)::double precision AS score, r.level, r.level_max,
           CASE WHEN %(detail)s THEN r.features END AS features,
           CASE WHEN %(detail)s THEN round(r.population_exposed::numeric)::double precision END
               AS population_exposed,
           CASE WHEN %(detail)s THEN r.counts::text END AS counts,
           ST_AsMVTGeom(ST_Simplify(ST_Transform(r.geom, 3857),
                                    (ST_XMax(b.mercator) - ST_XMin(b.mercator)) / %(extent)s, true),
                        b.mercator, %(extent)s, %(buffer)s, true) AS geom
    FROM area_risk r
    CROSS JOIN bounds b
    LEFT JOIN area a ON r.area_type = 'admin' AND a.admin_code = r.area_id
    WHERE r.area_type = %(area_type)s AND r.resolution = %(resolution)s
      AND r.geom && b.degrees AND ST_Intersects(r.geom, b.degrees)
)
-- (ORDER BY in the aggregate: the same rows always make the same bytes, never combined in parallel)
SELECT coalesce(ST_AsMVT(tile_rows, %(layer)s, %(extent)s, 'geom'
                        ORDER BY tile_rows.id), '')
FROM tile_rows
