-- 0019: users limited to areas see and change only what lies inside them, enforced by the database (issue 15).
--
-- A request of a user limited to areas runs as the role riskmap_scoped (SET ROLE; api/dependencies.py), with the
-- setting riskmap.area_codes = their admin codes and every code below them.  Row-level security applies to that
-- role only: the owner (users of every area, the admin key, scoring, the command line) reads every row at no cost,
-- and a scoped request cannot forget the filter, whatever route builds its query.
--
-- Where a row lies is kept in two small tables, filled by every scoring run (geo/sql/scope_refresh.sql) by the
-- rule the area risk assigns features to areas (geo/risk/aggregate.py): a site or an accident at its point on
-- surface, in every area whose outline covers it (a point on a shared boundary lies in both); a pipeline in every
-- area it crosses; an H3 cell (of the area risk, of the exposure) at its centre.  A feature added, moved or
-- deleted loses its row at once (the triggers below) and gets it back at the next scoring run, so until it is
-- scored a new or moved feature is seen only by users of every area: never by the wrong county.  Records
-- (inspections, hidden dangers, enforcement actions, their history and photos) follow their site, scores and
-- segments their feature, area rows their code, plans their area.  The policies' sub-selects are uncorrelated,
-- so PostgreSQL runs each once per query and probes a hash for every row.
CREATE TABLE scope_site (
    kind text NOT NULL,        -- enterprise, tailings_pond, pipeline, venue, settlement, accident
    id bigint NOT NULL,
    codes text[] NOT NULL,     -- the admin codes of every area holding it
    PRIMARY KEY (kind, id)
);
CREATE INDEX scope_site_codes_idx ON scope_site USING gin (codes);
CREATE TABLE scope_cell (
    cell text COLLATE "C" PRIMARY KEY,  -- an H3 cell index (any resolution)
    codes text[] NOT NULL
);
CREATE INDEX scope_cell_codes_idx ON scope_cell USING gin (codes);

CREATE FUNCTION riskmap_scope_codes() RETURNS text[] LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT string_to_array(nullif(current_setting('riskmap.area_codes', true), ''), ',')
$$;

-- A feature or an accident added, moved or deleted: out of every scope until the next scoring run places it.
CREATE FUNCTION riskmap_scope_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM scope_site s USING old_rows o WHERE s.kind = TG_TABLE_NAME AND s.id = o.id;
    ELSE
        DELETE FROM scope_site s USING old_rows o JOIN new_rows n ON n.id = o.id
        WHERE s.kind = TG_TABLE_NAME AND s.id = o.id AND ST_AsBinary(o.geom) IS DISTINCT FROM ST_AsBinary(n.geom);
    END IF;
    RETURN NULL;
END $$;
-- Areas changed: every place is decided again by the next scoring run.
CREATE FUNCTION riskmap_scope_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM scope_site;
    DELETE FROM scope_cell;
    RETURN NULL;
END $$;

-- Place what has no place yet (a new, moved or never placed feature, accident or cell): every scoring run calls it
-- before it commits (geo/risk/scoring.py), so that scoped users see a feature from its first scores on.  What lies
-- in no area gets an empty list (seen by no scoped user, and not looked at again).
CREATE FUNCTION riskmap_scope_refresh() RETURNS void LANGUAGE sql AS $$
    INSERT INTO scope_site (kind, id, codes)
    SELECT p.kind, p.id, coalesce(array_agg(a.admin_code ORDER BY a.admin_code)
                                  FILTER (WHERE a.admin_code IS NOT NULL), '{}')
    FROM (SELECT 'enterprise' AS kind, f.id, ST_PointOnSurface(f.geom) AS geom FROM enterprise f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'enterprise' AND s.id = f.id)
          UNION ALL
          SELECT 'tailings_pond', f.id, ST_PointOnSurface(f.geom) FROM tailings_pond f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'tailings_pond' AND s.id = f.id)
          UNION ALL
          SELECT 'venue', f.id, ST_PointOnSurface(f.geom) FROM venue f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'venue' AND s.id = f.id)
          UNION ALL
          SELECT 'settlement', f.id, ST_PointOnSurface(f.geom) FROM settlement f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'settlement' AND s.id = f.id)
          UNION ALL
          SELECT 'accident', f.id, f.geom FROM accident f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'accident' AND s.id = f.id)
          UNION ALL
          SELECT 'pipeline', f.id, f.geom FROM pipeline f
          WHERE NOT EXISTS (SELECT 1 FROM scope_site s WHERE s.kind = 'pipeline' AND s.id = f.id)) p
    LEFT JOIN area a ON a.geom && p.geom AND ST_Intersects(a.geom, p.geom)
    GROUP BY p.kind, p.id;

    INSERT INTO scope_cell (cell, codes)
    SELECT c.cell, coalesce(array_agg(a.admin_code ORDER BY a.admin_code)
                            FILTER (WHERE a.admin_code IS NOT NULL), '{}')
    FROM (SELECT DISTINCT ON (u.cell) u.cell, u.pt
          FROM (SELECT r.area_id AS cell, ST_Centroid(r.geom) AS pt FROM area_risk r WHERE r.area_type = 'h3'
                UNION ALL
                SELECT e.cell, e.geom FROM exposure_cell e) u
          WHERE NOT EXISTS (SELECT 1 FROM scope_cell s WHERE s.cell = u.cell)) c
    LEFT JOIN area a ON a.geom && c.pt AND ST_Intersects(a.geom, c.pt)
    GROUP BY c.cell;
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['enterprise', 'tailings_pond', 'pipeline', 'venue', 'settlement', 'accident'] LOOP
        EXECUTE format('CREATE TRIGGER riskmap_scope_moved AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION riskmap_scope_forget()', t);
        EXECUTE format('CREATE TRIGGER riskmap_scope_deleted AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_scope_forget()', t);
    END LOOP;
END $$;
CREATE TRIGGER riskmap_scope_areas AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON area
    FOR EACH STATEMENT EXECUTE FUNCTION riskmap_scope_reset();

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'riskmap_scoped') THEN
        CREATE ROLE riskmap_scoped NOLOGIN;
    END IF;
    EXECUTE format('GRANT riskmap_scoped TO %I', current_user);
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO riskmap_scoped', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'riskmap: could not create the role riskmap_scoped (%): users limited to areas will be refused '
                  'until an administrator runs: CREATE ROLE riskmap_scoped NOLOGIN; GRANT riskmap_scoped TO %;',
                  SQLERRM, current_user;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'riskmap_scoped') THEN
        RETURN;
    END IF;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO riskmap_scoped;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO riskmap_scoped;
    REVOKE ALL ON riskmap_user FROM riskmap_scoped;
    REVOKE INSERT, UPDATE, DELETE ON scope_site, scope_cell FROM riskmap_scoped;
    GRANT DELETE ON scope_site TO riskmap_scoped;  -- (the triggers above, as the writer)
    ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO riskmap_scoped;
    ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT ON SEQUENCES TO riskmap_scoped;

    -- sites and accidents: by their place
    FOREACH t IN ARRAY ARRAY['enterprise', 'tailings_pond', 'pipeline', 'venue', 'settlement', 'accident'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY in_scope ON %I TO riskmap_scoped USING (id IN (SELECT s.id FROM scope_site s '
                       'WHERE s.kind = %L AND s.codes && riskmap_scope_codes()))', t, t);
    END LOOP;
    ALTER TABLE settlement_exposed ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON settlement_exposed TO riskmap_scoped
        USING (settlement_id IN (SELECT s.id FROM scope_site s WHERE s.kind = 'settlement'
                                 AND s.codes && riskmap_scope_codes()));
    -- scores, their history and pipeline segments: with their feature
    ALTER TABLE feature_risk ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON feature_risk TO riskmap_scoped
        USING ((kind, feature_id) IN (SELECT s.kind, s.id FROM scope_site s WHERE s.codes && riskmap_scope_codes()));
    ALTER TABLE score_history ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON score_history TO riskmap_scoped
        USING ((kind, feature_id) IN (SELECT s.kind, s.id FROM scope_site s WHERE s.codes && riskmap_scope_codes()));
    ALTER TABLE pipeline_segment ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON pipeline_segment TO riskmap_scoped
        USING (pipeline_id IN (SELECT s.id FROM scope_site s WHERE s.kind = 'pipeline'
                               AND s.codes && riskmap_scope_codes()));
    -- records: with their site
    ALTER TABLE inspection ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON inspection TO riskmap_scoped
        USING ((site_kind, site_id) IN (SELECT s.kind, s.id FROM scope_site s WHERE s.codes && riskmap_scope_codes()));
    ALTER TABLE hidden_danger ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON hidden_danger TO riskmap_scoped
        USING ((site_kind, site_id) IN (SELECT s.kind, s.id FROM scope_site s WHERE s.codes && riskmap_scope_codes()));
    ALTER TABLE enforcement_action ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON enforcement_action TO riskmap_scoped
        USING ((site_kind, site_id) IN (SELECT s.kind, s.id FROM scope_site s WHERE s.codes && riskmap_scope_codes()));
    ALTER TABLE hidden_danger_photo ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON hidden_danger_photo TO riskmap_scoped
        USING (hidden_danger_id IN (SELECT d.id FROM hidden_danger d));
    ALTER TABLE record_history ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON record_history TO riskmap_scoped
        USING (CASE record_table
                   WHEN 'inspection' THEN record_id IN (SELECT r.id FROM inspection r)
                   WHEN 'hidden_danger' THEN record_id IN (SELECT r.id FROM hidden_danger r)
                   WHEN 'enforcement_action' THEN record_id IN (SELECT r.id FROM enforcement_action r)
                   WHEN 'accident' THEN record_id IN (SELECT r.id FROM accident r)
                   ELSE false
               END);
    -- areas, their risk, the exposure grid: by code, and cells by the place of their centre
    ALTER TABLE area ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON area TO riskmap_scoped USING (admin_code = ANY (riskmap_scope_codes()));
    ALTER TABLE area_risk ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON area_risk TO riskmap_scoped
        USING (CASE area_type
                   WHEN 'admin' THEN area_id = ANY (riskmap_scope_codes())
                   ELSE area_id IN (SELECT c.cell FROM scope_cell c WHERE c.codes && riskmap_scope_codes())
               END);
    ALTER TABLE exposure_cell ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON exposure_cell TO riskmap_scoped
        USING (cell IN (SELECT c.cell FROM scope_cell c WHERE c.codes && riskmap_scope_codes()));
    -- plans: by their area
    ALTER TABLE inspection_plan ENABLE ROW LEVEL SECURITY;
    CREATE POLICY in_scope ON inspection_plan TO riskmap_scoped USING (area = ANY (riskmap_scope_codes()));
END $$;

SELECT riskmap_scope_refresh();
