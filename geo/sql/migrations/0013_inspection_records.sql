-- 0013: the campaign's records (issue 14; design.md "The campaign's loop", domain.md §8): inspections, the hidden
-- dangers (事故隐患) they find, enforcement actions and accidents, beside the features, and the history of every
-- change made to them.
--
-- A record names its site by class and riskmap id (site_kind, site_id); imports may name it by the site's source
-- id instead, and resolve it to the riskmap id.  There is no foreign key to the four feature tables (one column
-- cannot reference four tables): a record outlives its site's deletion, as a record of what was found there.
-- Each record has its own source id (the number on the inspection sheet, the danger's register number...),
-- unique per table, by which a re-import updates it, exactly as for features.
--
-- History: every INSERT, UPDATE and DELETE of a record writes the row before and after into record_history, with
-- when and who (the setting riskmap.actor, which the application sets for each transaction: the CLI's user, the
-- API key's fingerprint...).  The records themselves may be updated (a danger's status moves), the history never:
-- nothing is lost.

CREATE TABLE inspection (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id text COLLATE "C" NOT NULL CHECK (source_id <> ''),
    site_kind text NOT NULL CHECK (site_kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue')),
    site_id bigint NOT NULL,
    inspected_on date NOT NULL,
    team text,
    inspection_type text NOT NULL DEFAULT 'routine'
        CHECK (inspection_type IN ('routine', 'special', 'comprehensive', 'look_back')),
    outcome text CHECK (outcome IN ('no_findings', 'dangers_found', 'enforcement', 'not_inspected')),
    notes text,
    props jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    synthetic boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT inspection_source_id_key UNIQUE (source_id)
);
CREATE INDEX inspection_site_idx ON inspection (site_kind, site_id, inspected_on DESC);
CREATE INDEX inspection_date_idx ON inspection (inspected_on);

CREATE TABLE hidden_danger (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id text COLLATE "C" NOT NULL CHECK (source_id <> ''),
    site_kind text NOT NULL CHECK (site_kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue')),
    site_id bigint NOT NULL,
    inspection_id bigint REFERENCES inspection (id) ON DELETE SET NULL,
    description text NOT NULL CHECK (description <> ''),
    category text,
    grade text NOT NULL CHECK (grade IN ('general', 'major')),
    found_on date NOT NULL,
    deadline date,
    responsible_unit text,
    responsible_person text,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'rectified', 'verified', 'reopened')),
    status_changed_on date NOT NULL,
    rectified_on date,
    verified_on date,
    reopened_on date,
    measures text,                          -- the rectification measures (整改措施)
    props jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    synthetic boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (deadline IS NULL OR deadline >= found_on),
    CHECK (rectified_on IS NULL OR rectified_on >= found_on),
    CHECK (verified_on IS NULL OR (rectified_on IS NOT NULL AND verified_on >= rectified_on)),
    CHECK (reopened_on IS NULL OR reopened_on >= found_on),
    CHECK (status_changed_on >= found_on),
    CHECK (status <> 'verified' OR verified_on IS NOT NULL),
    CHECK (status <> 'rectified' OR rectified_on IS NOT NULL),
    CHECK (status <> 'reopened' OR reopened_on IS NOT NULL),
    CONSTRAINT hidden_danger_source_id_key UNIQUE (source_id)
);
CREATE INDEX hidden_danger_site_idx ON hidden_danger (site_kind, site_id);
CREATE INDEX hidden_danger_open_idx ON hidden_danger (deadline) WHERE status IN ('open', 'reopened');
CREATE INDEX hidden_danger_inspection_idx ON hidden_danger (inspection_id) WHERE inspection_id IS NOT NULL;

-- Photos of a hidden danger, stored with the record (size- and type-checked by the application, whose size limit
-- is a setting, 10 MB by default; the checks here keep out what bypasses it, up to a hard 100 MB).  Photos are
-- only ever added (never changed), so their row itself says who added them and when.
CREATE TABLE hidden_danger_photo (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hidden_danger_id bigint NOT NULL REFERENCES hidden_danger (id) ON DELETE CASCADE,
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    bytes bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 104857600),
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    taken_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    added_by text NOT NULL DEFAULT coalesce(nullif(current_setting('riskmap.actor', true), ''), session_user::text),
    UNIQUE (hidden_danger_id, sha256)
);

CREATE TABLE enforcement_action (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id text COLLATE "C" NOT NULL CHECK (source_id <> ''),
    site_kind text NOT NULL CHECK (site_kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue')),
    site_id bigint NOT NULL,
    decided_on date NOT NULL,
    measure text NOT NULL CHECK (measure IN ('rectify_order', 'suspension', 'closure', 'fine')),
    fine_yuan numeric(14, 2) CHECK (fine_yuan >= 0),
    lifted_on date,
    notes text,
    props jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    synthetic boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (lifted_on IS NULL OR lifted_on >= decided_on),
    CHECK (measure <> 'fine' OR fine_yuan IS NOT NULL),
    CONSTRAINT enforcement_action_source_id_key UNIQUE (source_id)
);
CREATE INDEX enforcement_action_site_idx ON enforcement_action (site_kind, site_id, decided_on DESC);

-- Accident classes of State Council Decree No. 493 (domain.md §8), by the worst of deaths, serious injuries and
-- direct loss: especially_serious 特别重大, serious 重大, relatively_serious 较大, general 一般.
CREATE TABLE accident (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id text COLLATE "C" NOT NULL CHECK (source_id <> ''),
    occurred_on date NOT NULL,
    accident_type text,
    accident_class text NOT NULL
        CHECK (accident_class IN ('especially_serious', 'serious', 'relatively_serious', 'general')),
    deaths integer NOT NULL DEFAULT 0 CHECK (deaths BETWEEN 0 AND 100000),
    serious_injuries integer NOT NULL DEFAULT 0 CHECK (serious_injuries BETWEEN 0 AND 100000),
    direct_loss_10k_yuan double precision CHECK (direct_loss_10k_yuan >= 0),
    site_kind text CHECK (site_kind IN ('enterprise', 'tailings_pond', 'pipeline', 'venue')),
    site_id bigint,
    source text,
    props jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(props) = 'object'),
    synthetic boolean NOT NULL DEFAULT false,
    geom geometry(Point, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((site_kind IS NULL) = (site_id IS NULL)),
    CONSTRAINT accident_geom_valid CHECK (NOT ST_IsEmpty(geom)),
    CONSTRAINT accident_source_id_key UNIQUE (source_id)
);
CREATE INDEX accident_geom_idx ON accident USING gist (geom);
CREATE INDEX accident_date_idx ON accident (occurred_on);

-- The history of every record: append-only (no UPDATE or DELETE of it is ever issued by riskmap).
CREATE TABLE record_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_table text NOT NULL,
    record_id bigint NOT NULL,
    operation text NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by text NOT NULL,
    row_before jsonb,
    row_after jsonb
);
CREATE INDEX record_history_record_idx ON record_history (record_table, record_id, id);

CREATE FUNCTION riskmap_record_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor text := coalesce(nullif(current_setting('riskmap.actor', true), ''), session_user::text);
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO record_history (record_table, record_id, operation, changed_by, row_after)
        SELECT TG_TABLE_NAME, n.id, 'insert', actor, to_jsonb(n) FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO record_history (record_table, record_id, operation, changed_by, row_before, row_after)
        SELECT TG_TABLE_NAME, n.id, 'update', actor, to_jsonb(o), to_jsonb(n)
        FROM new_rows n JOIN old_rows o USING (id)
        WHERE to_jsonb(o) IS DISTINCT FROM to_jsonb(n);
    ELSE
        INSERT INTO record_history (record_table, record_id, operation, changed_by, row_before)
        SELECT TG_TABLE_NAME, o.id, 'delete', actor, to_jsonb(o) FROM old_rows o;
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['inspection', 'hidden_danger', 'enforcement_action', 'accident'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_history_ins AFTER INSERT ON %1$I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_record_history()', t);
        EXECUTE format('CREATE TRIGGER %1$s_history_upd AFTER UPDATE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION riskmap_record_history()', t);
        EXECUTE format('CREATE TRIGGER %1$s_history_del AFTER DELETE ON %1$I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_record_history()', t);
    END LOOP;
END $$;
