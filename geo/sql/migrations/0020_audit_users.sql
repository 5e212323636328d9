-- 0020: changes to the users (riskmap users add / rotate / revoke) go to the audit trail (migration 0017) like every
-- other write; a secret's hash is never copied there (its size is).
DO $$
DECLARE
    op text;
BEGIN
    FOREACH op IN ARRAY ARRAY['ins', 'upd', 'del'] LOOP
        EXECUTE format('CREATE TRIGGER riskmap_user_audit_%1$s AFTER %2$s ON riskmap_user %3$s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_audit_rows(''secret_hash'', '''')',
                       op, CASE op WHEN 'ins' THEN 'INSERT' WHEN 'upd' THEN 'UPDATE' ELSE 'DELETE' END,
                       CASE op WHEN 'ins' THEN 'REFERENCING NEW TABLE AS new_rows'
                               WHEN 'upd' THEN 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                               ELSE 'REFERENCING OLD TABLE AS old_rows' END);
    END LOOP;
END $$;

-- The role of users limited to areas (migration 0019) never touches the trail.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'riskmap_scoped') THEN
        REVOKE ALL ON audit_event FROM riskmap_scoped;
    END IF;
END $$;

-- Any change to the users, when it commits, tells the servers to forget the signed-in users they remember
-- (api/signed_in.py): a rotated or revoked token is refused by the next request.
CREATE FUNCTION riskmap_users_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NOTIFY riskmap_users;
    RETURN NULL;
END $$;
CREATE TRIGGER riskmap_user_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON riskmap_user
    FOR EACH STATEMENT EXECUTE FUNCTION riskmap_users_changed();
