-- The change in level of the scored sites since a date (issue 14 item 5; geo/risk/level_change.py), from the score
-- history (score_history, migration 0014).  geo/risk/level_change.py follows this text with level_change_sites.sql
-- (a page of the sites) or level_change_areas.sql (their counts per admin area); the rule is the same for both.
--
-- A site is a feature of a scored class (enterprise, tailings pond, pipeline, venue) scored now (a row in
-- feature_risk), at its point on surface (a point is itself; a pipeline: the point on its line), where the score
-- history and the area risk count it.  Its level on %(since)s is that of its last history row as of that day or
-- before (the latest as_of, ties: the latest run); none, or one without a score (the site was removed then), and
-- it had no level then.  Its level now is its stored one (feature_risk, which the last run's history row
-- repeats).  The change: 'up' (a worse level now: blue < yellow < orange < red), 'down' (a better one), 'same',
-- or 'new' (no level on %(since)s: scored only later).
--
-- Cost: the sites come through the feature tables' spatial indexes (the box, or, for the counts per area, the
-- extent of the areas of %(area_level)s that meet the box, so that each such area is counted whole); each site's
-- row on %(since)s is one probe of the history's primary key (kind, feature_id, run), whose few rows per site
-- (one per run that changed it) are then sorted by date.  psycopg2 writes the parameters into the text, so a
-- filter not given (NULL) folds away when the query is planned.
--
-- Parameters: %(since)s the date; %(kinds)s a text array (NULL: all classes); %(area)s an admin code (the sites
-- whose point lies in that area, boundary included); %(nobox)s, %(x0)s ... %(y1)s a box; %(area_level)s NULL for
-- the sites in the box, else the admin level counted per area; %(after_kind)s, %(after_id)s a page key (NULL:
-- from the start).
WITH zone AS (SELECT geom FROM area WHERE admin_code = %(area)s),
reach AS (
    SELECT CASE WHEN %(area_level)s::text IS NULL
                THEN ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                ELSE (SELECT ST_SetSRID(ST_Extent(a.geom)::geometry, 4326) FROM area a
                      WHERE a.level = %(area_level)s
                        AND a.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                        AND ST_Intersects(a.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)))
           END AS g
    WHERE NOT %(nobox)s
),
sites AS (
    SELECT s.kind, s.id, s.name, p.pt
    FROM (
        SELECT 'enterprise'::text AS kind, f.id, f.name, f.geom FROM enterprise f
        WHERE (%(kinds)s::text[] IS NULL OR 'enterprise' = ANY(%(kinds)s::text[]))
          AND (%(nobox)s OR f.geom && (SELECT g FROM reach))
        UNION ALL
        SELECT 'tailings_pond', f.id, f.name, f.geom FROM tailings_pond f
        WHERE (%(kinds)s::text[] IS NULL OR 'tailings_pond' = ANY(%(kinds)s::text[]))
          AND (%(nobox)s OR f.geom && (SELECT g FROM reach))
        UNION ALL
        SELECT 'pipeline', f.id, f.name, f.geom FROM pipeline f
        WHERE (%(kinds)s::text[] IS NULL OR 'pipeline' = ANY(%(kinds)s::text[]))
          AND (%(nobox)s OR f.geom && (SELECT g FROM reach))
        UNION ALL
        SELECT 'venue', f.id, f.name, f.geom FROM venue f
        WHERE (%(kinds)s::text[] IS NULL OR 'venue' = ANY(%(kinds)s::text[]))
          AND (%(nobox)s OR f.geom && (SELECT g FROM reach))
    ) s
    CROSS JOIN LATERAL (SELECT ST_PointOnSurface(s.geom) AS pt) p
    WHERE (%(nobox)s OR p.pt && (SELECT g FROM reach))
      AND (%(area)s::text IS NULL OR EXISTS (SELECT 1 FROM zone z WHERE z.geom && p.pt AND ST_Intersects(z.geom, p.pt)))
      AND (%(after_kind)s::text IS NULL OR (s.kind, s.id) > (%(after_kind)s::text, %(after_id)s::bigint))
),
changes AS (
    SELECT s.kind, s.id, s.name, s.pt, r.score AS score_now, r.level AS level_now,
           h.score AS score_then, h.level AS level_then,
           CASE WHEN h.level IS NOT NULL THEN h.as_of END AS then_as_of,
           CASE WHEN h.level IS NULL THEN 'new'
                WHEN array_position(ARRAY['blue', 'yellow', 'orange', 'red'], r.level)
                   > array_position(ARRAY['blue', 'yellow', 'orange', 'red'], h.level) THEN 'up'
                WHEN array_position(ARRAY['blue', 'yellow', 'orange', 'red'], r.level)
                   < array_position(ARRAY['blue', 'yellow', 'orange', 'red'], h.level) THEN 'down'
                ELSE 'same' END AS change
    FROM sites s
    JOIN feature_risk r ON r.kind = s.kind AND r.feature_id = s.id
    LEFT JOIN LATERAL (
        SELECT h.score, h.level, h.as_of
        FROM score_history h
        WHERE h.kind = s.kind AND h.feature_id = s.id AND h.as_of <= %(since)s::date
        ORDER BY h.as_of DESC, h.run DESC
        LIMIT 1
    ) h ON true
)
