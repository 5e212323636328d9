-- 0017: the audit trail (issue 15, part 2): every write to riskmap's data (who, when, from where, what, the row
-- before and after) goes to audit_event, which nobody may change or empty.
--
-- Written by triggers, so that no write path can forget it: the importer, the API's edits and deletes, the
-- records, photos, plans, the CLI, and a hand-typed statement alike.  They are statement-level triggers over
-- transition tables (as 0002's change recording): one INSERT ... SELECT per statement, not one call per row,
-- which keeps a million-row import's cost to building the rows' JSON.  Who, from where and what request come from
-- session settings the application sets (geo/audit.py: riskmap.actor, riskmap.client, riskmap.request); a write
-- without them is still recorded, by 'unknown'.
--
-- What is kept of a row: its JSON (to_jsonb: geometries as GeoJSON).  A photo's bytes are not copied (their size
-- instead; the row has its SHA-256), nor is a geometry whose JSON is over 64 kB (a county's boundary: its size
-- and MD5 instead).  The road network (road_node, road_edge: replaced whole by each `riskmap roads import`, up to
-- millions of rows derived from a map file) is recorded as one event per statement with its row count; the
-- import itself (road_import: the file, when) row by row.  Derived tables (scores, areas' risk, change queues)
-- are not audited: the scorer writes them from the audited data.
--
-- Append-only: the table belongs to riskmap_audit, a role nobody logs in as; the trigger functions run as that
-- role (SECURITY DEFINER), so writers need no privilege on the table, and the application's role may only read it.
-- A trigger refuses UPDATE, DELETE and TRUNCATE even for the owner.  None of this binds a superuser: the
-- application connects as a role that is not one (geo/embedded.py's riskmap_app; api/app.py warns when an
-- external database's role is a superuser).  Creating riskmap_audit needs a role allowed to create roles; a
-- migration run by one that is not leaves the table with the migrating role, unprotected, and says so.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'riskmap_audit') THEN
        CREATE ROLE riskmap_audit NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'riskmap: cannot create the role riskmap_audit (%); the audit trail stays with role %, which '
                  'can change it', SQLERRM, current_user;
END $$;

CREATE TABLE audit_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL,                    -- api:<key fingerprint>, cli:<OS user>, 'unknown'
    client text,                            -- the client's IP address (the CLI: its host)
    request text,                           -- "PATCH /hidden-dangers/12", "riskmap import enterprise f.gpkg"
    action text NOT NULL CHECK (action IN ('insert', 'update', 'delete', 'truncate', 'auth_failed')),
    table_name text,
    row_key text,                           -- the row's id; NULL for a statement's summary and auth_failed
    before jsonb,
    after jsonb
);
-- append-only, in time order: a BRIN index finds a time range for almost nothing per inserted row
CREATE INDEX audit_event_at_idx ON audit_event USING brin (at);

-- A row's image for the trail: ``never`` columns (bytes) replaced by their size, ``large`` columns (geometries)
-- whose JSON is over 64 kB by their size and MD5.
CREATE FUNCTION riskmap_audit_image(r jsonb, never text[], large text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT r || coalesce((SELECT jsonb_object_agg(k, jsonb_build_object(
                                 'omitted', 'not copied to the audit trail',
                                 'bytes', (length(r ->> k) - 2) / 2))  -- bytea's JSON: '\x' and two hex digits a byte
                          FROM unnest(never) k WHERE r ? k AND r -> k <> 'null'), '{}')
             || coalesce((SELECT jsonb_object_agg(k, jsonb_build_object(
                                 'omitted', 'over 64 kB, not copied to the audit trail',
                                 'json_bytes', length((r -> k)::text), 'md5', md5((r -> k)::text)))
                          FROM unnest(large) k WHERE pg_column_size(r -> k) > 65536), '{}')
$$;

-- Row by row: TG_ARGV[0] the columns never copied, TG_ARGV[1] the columns copied when small (comma-separated).
CREATE FUNCTION riskmap_audit_rows() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    who text := coalesce(nullif(current_setting('riskmap.actor', true), ''), 'unknown');
    client text := nullif(current_setting('riskmap.client', true), '');
    req text := nullif(current_setting('riskmap.request', true), '');
    never text[] := string_to_array(coalesce(nullif(TG_ARGV[0], ''), NULL), ',');
    large text[] := string_to_array(coalesce(nullif(TG_ARGV[1], ''), NULL), ',');
BEGIN
    never := coalesce(never, '{}');
    large := coalesce(large, '{}');
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_event (actor, client, request, action, table_name, row_key, after)
        SELECT who, client, req, 'insert', TG_TABLE_NAME, r ->> 'id', riskmap_audit_image(r, never, large)
        FROM (SELECT to_jsonb(n) AS r FROM new_rows n) x;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO audit_event (actor, client, request, action, table_name, row_key, before, after)
        SELECT who, client, req, 'update', TG_TABLE_NAME, o.id::text, riskmap_audit_image(to_jsonb(o), never, large),
               riskmap_audit_image(to_jsonb(n), never, large)
        FROM new_rows n JOIN old_rows o USING (id);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audit_event (actor, client, request, action, table_name, row_key, before)
        SELECT who, client, req, 'delete', TG_TABLE_NAME, r ->> 'id', riskmap_audit_image(r, never, large)
        FROM (SELECT to_jsonb(o) AS r FROM old_rows o) x;
    ELSE
        INSERT INTO audit_event (actor, client, request, action, table_name)
        VALUES (who, client, req, 'truncate', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

-- One event per statement, with the rows it wrote: for tables rebuilt whole from a file (the road network).
CREATE FUNCTION riskmap_audit_statement() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    who text := coalesce(nullif(current_setting('riskmap.actor', true), ''), 'unknown');
    client text := nullif(current_setting('riskmap.client', true), '');
    req text := nullif(current_setting('riskmap.request', true), '');
    n bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO n FROM new_rows;
    ELSIF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT count(*) INTO n FROM old_rows;
    END IF;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_event (actor, client, request, action, table_name, after)
    VALUES (who, client, req, lower(TG_OP), TG_TABLE_NAME, CASE WHEN n IS NOT NULL THEN jsonb_build_object('rows', n) END);
    RETURN NULL;
END $$;

-- A refused credential (api/access.py): who it claimed to be (a key's fingerprint, never the key), from where.
CREATE FUNCTION riskmap_audit_auth_failed(claimed text, client text, request text, reason text) RETURNS void
LANGUAGE sql SECURITY DEFINER AS $$
    INSERT INTO audit_event (actor, client, request, action, after)
    VALUES (coalesce(nullif(claimed, ''), 'anonymous'), client, request, 'auth_failed',
            jsonb_build_object('reason', reason))
$$;

CREATE FUNCTION riskmap_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % of audit_event is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_append_only();

DO $$
DECLARE
    t text;
    args text;
BEGIN
    FOREACH t IN ARRAY ARRAY['enterprise', 'tailings_pond', 'pipeline', 'venue', 'settlement', 'area',
                             'inspection', 'hidden_danger', 'hidden_danger_photo', 'enforcement_action',
                             'accident', 'inspection_plan', 'import_log', 'road_import'] LOOP
        args := CASE WHEN t = 'hidden_danger_photo' THEN '''bytes'', '''''
                     WHEN t IN ('inspection_plan', 'import_log', 'road_import') THEN ''''', '''''
                     ELSE ''''', ''geom''' END;
        EXECUTE format('CREATE TRIGGER %1$s_audit_ins AFTER INSERT ON %1$I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_rows(%2$s)', t, args);
        EXECUTE format('CREATE TRIGGER %1$s_audit_upd AFTER UPDATE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_rows(%2$s)', t, args);
        EXECUTE format('CREATE TRIGGER %1$s_audit_del AFTER DELETE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_rows(%2$s)', t, args);
        EXECUTE format('CREATE TRIGGER %1$s_audit_trunc AFTER TRUNCATE ON %1$I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_rows(%2$s)', t, args);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['road_node', 'road_edge'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_audit_ins AFTER INSERT ON %1$I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_statement()', t);
        EXECUTE format('CREATE TRIGGER %1$s_audit_upd AFTER UPDATE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_statement()', t);
        EXECUTE format('CREATE TRIGGER %1$s_audit_del AFTER DELETE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_statement()', t);
        EXECUTE format('CREATE TRIGGER %1$s_audit_trunc AFTER TRUNCATE ON %1$I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_statement()', t);
    END LOOP;
END $$;

-- The functions that write the trail find it, and only it, in this schema (a caller's temporary table of the same
-- name must not take its rows): pg_temp last.
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['riskmap_audit_rows()', 'riskmap_audit_statement()',
                             'riskmap_audit_auth_failed(text, text, text, text)',
                             'riskmap_audit_image(jsonb, text[], text[])'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
    END LOOP;
END $$;

-- Only the trail's own role may write it; the migrating role (the application's, or the one that hands the data to
-- it: geo/embedded.py) may read it.
REVOKE ALL ON audit_event FROM PUBLIC;
GRANT SELECT ON audit_event TO CURRENT_USER;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'riskmap_audit') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO riskmap_audit', current_schema());
        ALTER TABLE audit_event OWNER TO riskmap_audit;
        ALTER FUNCTION riskmap_audit_rows() OWNER TO riskmap_audit;
        ALTER FUNCTION riskmap_audit_statement() OWNER TO riskmap_audit;
        ALTER FUNCTION riskmap_audit_auth_failed(text, text, text, text) OWNER TO riskmap_audit;
        ALTER FUNCTION riskmap_audit_image(jsonb, text[], text[]) OWNER TO riskmap_audit;
        ALTER FUNCTION riskmap_audit_append_only() OWNER TO riskmap_audit;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'riskmap: cannot give the audit trail to the role riskmap_audit (%); it stays with role %, which '
                  'can change it', SQLERRM, current_user;
END $$;
