-- 0021: the audit trail (migration 0017) costs a bulk import far less.  Its first triggers built every written
-- row's JSON with to_jsonb of the whole row, which looks PostGIS's geometry-to-jsonb cast up again for every row
-- (about 200 us a row, against 3 us for geom::json), and kept the after image of every row of a million-row
-- import: the import took three times as long (docs/benchmarks.md).  Now the images are built from a select list
-- made once per statement (riskmap_audit_columns: geometries cast to GeoJSON directly, the columns never copied as
-- their size, read without copying them), and a statement of more than 10,000 rows keeps every row's key and
-- before image but not its after image: the row as written stays in its table until its next update or delete,
-- whose event keeps it as its before image, so nothing is lost.  The triggers' second argument (the columns copied
-- only when small) is no longer read: every geometry over 64 kB is kept as its size and MD5.

-- The select list of a row's image for the trail, from the transition table aliased ``alias``: every column as it
-- is (to_jsonb turns it into JSON), but the ``never`` columns (a photo's bytes) as their size, and geometries as
-- GeoJSON (geometry::json: to_jsonb would look PostGIS's cast up again for every row, which costs ten times as
-- much), or as their size and MD5 when over 64 kB (a county's boundary).  Built once per statement, from the
-- catalog, so that a new column is audited without a change here.
CREATE FUNCTION riskmap_audit_columns(tab regclass, alias text, never text[]) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT string_agg(CASE
        WHEN a.attname = ANY(never) THEN
            format('jsonb_build_object(''omitted'', ''not copied to the audit trail'', ''bytes'', '
                   'octet_length(%1$s.%2$I)) AS %2$I', alias, a.attname)
        WHEN format_type(a.atttypid, NULL) = 'geometry' THEN
            format('CASE WHEN ST_MemSize(%1$s.%2$I) > 65536 THEN json_build_object(''omitted'', ''over 64 kB, not '
                   'copied to the audit trail'', ''bytes'', ST_MemSize(%1$s.%2$I), ''md5'', '
                   'md5(ST_AsEWKB(%1$s.%2$I))) ELSE %1$s.%2$I::json END AS %2$I', alias, a.attname)
        ELSE format('%s.%I', alias, a.attname) END, ', ' ORDER BY a.attnum)
    FROM pg_attribute a
    WHERE a.attrelid = tab AND a.attnum > 0 AND NOT a.attisdropped
$$;

-- Row by row: TG_ARGV[0] the columns never copied (comma-separated).  A statement of more than ``bulk`` rows (a
-- bulk import's chunk) keeps each row's key and its before image, not its after image: building a million rows'
-- JSON tripled an import's time (docs/benchmarks.md), and nothing is lost, since the row as written stays in its
-- table until its next update or delete, whose before image keeps it.
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
    IF TG_OP = 'INSERT' THEN
        EXECUTE format('INSERT INTO audit_event (actor, client, request, action, table_name, row_key, after) '
                       'SELECT $1, $2, $3, ''insert'', $4, n.id::text, %s FROM (SELECT %s FROM new_rows n) n',
                       after_image, CASE WHEN n > bulk THEN 'n.id' ELSE riskmap_audit_columns(TG_RELID, 'n', never) END)
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

DROP FUNCTION IF EXISTS riskmap_audit_image(jsonb, text[], text[]);

-- As 0017: the trail found in this schema only (and PostGIS's, for the geometries' functions), pg_temp last; the
-- functions the trail's own role's.
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['riskmap_audit_rows()', 'riskmap_audit_columns(regclass, text, text[])'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %s, pg_temp', f,
                       (SELECT string_agg(DISTINCT quote_ident(n), ', ')
                        FROM unnest(ARRAY[current_schema()::text,
                                          (SELECT extnamespace::regnamespace::text FROM pg_extension
                                           WHERE extname = 'postgis')]) n WHERE n IS NOT NULL));
    END LOOP;
END $$;
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'riskmap_audit')
       AND (SELECT proowner::regrole::text FROM pg_proc WHERE oid = 'riskmap_audit_rows()'::regprocedure)
           = 'riskmap_audit' THEN
        ALTER FUNCTION riskmap_audit_columns(regclass, text, text[]) OWNER TO riskmap_audit;
    END IF;
END $$;
