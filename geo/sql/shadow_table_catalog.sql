-- What a shadow copy of a table needs besides its columns, CHECK constraints, defaults, identity and comments
-- (which CREATE TABLE ... (LIKE ... INCLUDING ALL) copies), one row per item: (item, name, definition, other).
-- `geo/shadow_table.py` runs it before building a shadow of %(schema)s.%(table)s and swapping it in.
--   index       an index not backing a constraint: pg_get_indexdef, built after the load
--   constraint  a PRIMARY KEY / UNIQUE / EXCLUDE / FOREIGN KEY of the table: pg_get_constraintdef
--   referenced  a FOREIGN KEY of another table (other: that table) pointing at this one: dropped and re-added
--   trigger     a user trigger: pg_get_triggerdef; other: its tgenabled state
--   grant       one privilege on the table: privilege, grantee (other; '' = PUBLIC), grant option ('t'/'f')
--   reloptions  the table's storage parameters, as "a=1, b=2"
--   comment     the table's own comment (LIKE copies column comments only)
--   owner       the table's owner
--   qualified   how pg_get_*def names the table (other: its name alone), to re-target them at the shadow
--   row_security ENABLE or FORCE: the table's row-level security, carried over with its policies
--   policy      CREATE POLICY of each of the table's own policies (a policy of another table naming it blocks)
--   blocker     something a swap cannot carry over (a view, column privileges, a
--               publication, inheritance, a function of the row type...): the importer then loads in place
WITH t AS (
    SELECT c.oid, c.reltype, c.relowner, c.relacl, c.reloptions, c.relrowsecurity, c.relforcerowsecurity, c.relkind,
           c.relispartition,
           format('%%I.%%I', n.nspname, c.relname) AS qualified, format('%%I', c.relname) AS quoted
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %(schema)s AND c.relname = %(table)s
)
SELECT 'index', ic.relname::text, pg_get_indexdef(i.indexrelid), NULL
FROM t JOIN pg_index i ON i.indrelid = t.oid JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = t.oid)
UNION ALL
SELECT 'constraint', k.conname::text, pg_get_constraintdef(k.oid), k.contype::text
FROM t JOIN pg_constraint k ON k.conrelid = t.oid
WHERE k.contype IN ('p', 'u', 'x', 'f')
UNION ALL
SELECT 'referenced', k.conname::text, pg_get_constraintdef(k.oid), k.conrelid::regclass::text
FROM t JOIN pg_constraint k ON k.confrelid = t.oid AND k.conrelid <> t.oid
WHERE k.contype = 'f'
UNION ALL
SELECT 'trigger', g.tgname::text, pg_get_triggerdef(g.oid), g.tgenabled::text
FROM t JOIN pg_trigger g ON g.tgrelid = t.oid
WHERE NOT g.tgisinternal
UNION ALL
SELECT 'grant', a.privilege_type, CASE WHEN a.is_grantable THEN 't' ELSE 'f' END,
       CASE WHEN a.grantee = 0 THEN '' ELSE a.grantee::regrole::text END
FROM t CROSS JOIN LATERAL aclexplode(t.relacl) a
WHERE a.grantee <> t.relowner
UNION ALL
SELECT 'reloptions', NULL, array_to_string(t.reloptions, ', '), NULL FROM t WHERE t.reloptions IS NOT NULL
UNION ALL
SELECT 'comment', NULL, obj_description(t.oid, 'pg_class'), NULL FROM t
WHERE obj_description(t.oid, 'pg_class') IS NOT NULL
UNION ALL
SELECT 'owner', NULL, t.relowner::regrole::text, NULL FROM t
UNION ALL
SELECT 'qualified', NULL, t.qualified, t.quoted FROM t
UNION ALL
SELECT 'blocker', NULL, 'not an ordinary table', NULL FROM t WHERE t.relkind <> 'r' OR t.relispartition
UNION ALL
SELECT 'row_security', NULL, CASE WHEN t.relforcerowsecurity THEN 'FORCE' ELSE 'ENABLE' END, NULL FROM t
WHERE t.relrowsecurity
UNION ALL
SELECT 'policy', p.polname::text,
       format('CREATE POLICY %%I ON %%s AS %%s FOR %%s TO %%s%%s%%s', p.polname, t.qualified,
              CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
              CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE'
                            ELSE 'ALL' END,
              CASE WHEN p.polroles = '{0}' THEN 'PUBLIC'
                   ELSE (SELECT string_agg(quote_ident(r.rolname), ', ') FROM pg_roles r WHERE r.oid = ANY (p.polroles))
              END,
              ' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')',
              ' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')'), NULL
FROM t JOIN pg_policy p ON p.polrelid = t.oid
UNION ALL
SELECT 'blocker', NULL, 'inheritance', NULL FROM t
WHERE EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = t.oid OR h.inhparent = t.oid)
UNION ALL
SELECT 'blocker', NULL, 'column privileges', NULL FROM t
WHERE EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attacl IS NOT NULL)
UNION ALL
-- anything else that depends on the table or its row type: views (pg_rewrite), policies, publications,
-- functions or columns of the row type...
SELECT 'blocker', NULL, pg_describe_object(d.classid, d.objid, d.objsubid), NULL
FROM t JOIN pg_depend d ON d.refobjid IN (t.oid, t.reltype)
    AND d.refclassid IN ('pg_class'::regclass, 'pg_type'::regclass)
WHERE d.deptype <> 'i'
  AND d.classid NOT IN ('pg_constraint'::regclass, 'pg_trigger'::regclass, 'pg_attrdef'::regclass,
                        'pg_statistic_ext'::regclass)
  -- the table's own policies go with it (above); another table's policy naming it blocks
  AND NOT (d.classid = 'pg_policy'::regclass
           AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.oid = d.objid AND p.polrelid = t.oid))
  AND NOT (d.classid = 'pg_class'::regclass
           AND EXISTS (SELECT 1 FROM pg_class o WHERE o.oid = d.objid AND o.relkind IN ('i', 'S', 't')))
  AND NOT (d.classid = 'pg_type'::regclass AND d.refobjid = t.reltype)
