-- 0032: a statement inserting more than 10,000 rows (a bulk import's chunk) is one audit event instead of one per
-- row (issue 15, and issue 2's import goal): the event names the writer, the table, how many rows and their ids, as
-- ranges of consecutive ids ({"rows": 65536, "ids": [[1, 65536]]}).  Since 0021 such a statement kept each row's
-- key but no after image (the row as written stays in its table until its next change, whose before image keeps
-- it); the keys alone were still a million rows of the trail for a million-row import, written with the WAL
-- (the trail is not created in the import's transaction, as its shadow table is): an import of 1,000,000
-- enterprises took 24 s with them and 16 s without (docs/benchmarks.md).  Nothing is lost: the ids are all there.
-- Updates and deletes keep every row's before image, as before; smaller inserts their after images.
-- (same name, same triggers: 0017's and 0020's keep calling it)
CREATE OR REPLACE FUNCTION riskmap_audit_rows() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    bulk constant bigint := 10000;
    who text := coalesce(nullif(current_setting('riskmap.actor', true), ''), 'unknown');
    client text := nullif(current_setting('riskmap.client', true), '');
    req text := nullif(current_setting('riskmap.request', true), '');
    never text[] := coalesce(string_to_array(nullif(TG_ARGV[0], ''), ','), '{}');
    after_image text := 'to_jsonb(n)';
    n bigint;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT count(*) INTO n FROM new_rows;
        IF n > bulk THEN
            after_image := 'NULL::jsonb';
        END IF;
    END IF;
    IF TG_OP = 'INSERT' AND n > bulk THEN
        -- one event for the statement: how many rows and their ids, as ranges of consecutive ids
        INSERT INTO audit_event (actor, client, request, action, table_name, after)
        SELECT who, client, req, 'insert', TG_TABLE_NAME,
               jsonb_build_object('rows', n, 'ids', jsonb_agg(jsonb_build_array(r.lo, r.hi) ORDER BY r.lo))
        FROM (SELECT min(k.id) AS lo, max(k.id) AS hi
              FROM (SELECT x.id, x.id - row_number() OVER (ORDER BY x.id) AS island FROM new_rows x) k
              GROUP BY k.island) r;
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE format('INSERT INTO audit_event (actor, client, request, action, table_name, row_key, after) '
                       'SELECT $1, $2, $3, ''insert'', $4, n.id::text, to_jsonb(n) FROM (SELECT %s FROM new_rows n) n',
                       riskmap_audit_columns(TG_RELID, 'n', never))
            USING who, client, req, TG_TABLE_NAME;
    ELSIF TG_OP = 'UPDATE' THEN
        EXECUTE format('INSERT INTO audit_event (actor, client, request, action, table_name, row_key, before, after) '
                       'SELECT $1, $2, $3, ''update'', $4, id::text, to_jsonb(o), %s '
                       'FROM (SELECT %s FROM old_rows o) o JOIN (SELECT %s FROM new_rows n) n USING (id)',
                       after_image, riskmap_audit_columns(TG_RELID, 'o', never),
                       CASE WHEN n > bulk THEN 'n.id' ELSE riskmap_audit_columns(TG_RELID, 'n', never) END)
            USING who, client, req, TG_TABLE_NAME;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format('INSERT INTO audit_event (actor, client, request, action, table_name, row_key, before) '
                       'SELECT $1, $2, $3, ''delete'', $4, o.id::text, to_jsonb(o) FROM (SELECT %s FROM old_rows o) o',
                       riskmap_audit_columns(TG_RELID, 'o', never))
            USING who, client, req, TG_TABLE_NAME;
    ELSE
        INSERT INTO audit_event (actor, client, request, action, table_name)
        VALUES (who, client, req, 'truncate', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

-- As 0021: the trail found in this schema only (and PostGIS's, for the geometries' functions), pg_temp last.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION riskmap_audit_rows() SET search_path = %s, pg_temp',
                   (SELECT string_agg(DISTINCT quote_ident(n), ', ')
                    FROM unnest(ARRAY[current_schema()::text,
                                      (SELECT extnamespace::regnamespace::text FROM pg_extension
                                       WHERE extname = 'postgis')]) n WHERE n IS NOT NULL));
END $$;
