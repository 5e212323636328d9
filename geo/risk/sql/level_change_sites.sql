-- A page of the sites of level_changes.sql (which this text follows: its WITH clause), in (kind, id) order after
-- the page key given there, at most %(limit)s rows, those whose change is one of %(changes)s (NULL: all); each
-- with its point (6 decimals), its level and score on the date and now, and the change.
SELECT c.kind, c.id, c.name, c.change, c.level_then, round(c.score_then::numeric, 2)::double precision AS score_then,
       c.then_as_of, c.level_now, round(c.score_now::numeric, 2)::double precision AS score_now,
       round(ST_X(c.pt)::numeric, 6)::double precision AS lon, round(ST_Y(c.pt)::numeric, 6)::double precision AS lat
FROM changes c
WHERE %(changes)s::text[] IS NULL OR c.change = ANY(%(changes)s::text[])
ORDER BY c.kind, c.id
LIMIT %(limit)s
