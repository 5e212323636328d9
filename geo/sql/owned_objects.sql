-- What riskmap's data consists of, to hand it to the application's role (geo/store.py ``hand_over``): the
-- tables, views, free-standing sequences and functions of the schemas %(schemas)s that the current role owns,
-- one row each (kind for ALTER ..., the object's name as regclass / regprocedure print it).  Members of an
-- extension (PostGIS's spatial_ref_sys, its functions) stay with the extension's owner; a sequence of an identity
-- or serial column goes with its table; the audit trail stays with its own role (it does not belong to this one).
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                      ELSE 'TABLE' END, c.oid::regclass::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND c.relowner = current_user::regrole
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                            AND d.deptype IN ('e', 'a', 'i'))
UNION ALL
SELECT 'ROUTINE', p.oid::regprocedure::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%(schemas)s) AND p.proowner = current_user::regrole
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                            AND d.deptype = 'e')
