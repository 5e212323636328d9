-- What identifies the stored road network's version (geo/planning/roads.py caches its graph by it): this database
-- (its oid changes when it is dropped and made again), the last import (each `riskmap roads import` replaces the
-- whole network in one transaction and adds its row) and the edges' count.
SELECT (SELECT oid FROM pg_database WHERE datname = current_database()),
       (SELECT id FROM road_import ORDER BY id DESC LIMIT 1),
       (SELECT imported_at FROM road_import ORDER BY id DESC LIMIT 1)::text,
       (SELECT count(*) FROM road_edge)
