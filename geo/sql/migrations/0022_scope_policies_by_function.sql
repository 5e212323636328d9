-- 0022: the policies of a hidden danger's photos and of the records' history (migration 0019) read the records
-- they follow through functions, so that no other table's policy depends on a record table: a bulk import of
-- records then still builds a shadow of its table and swaps it in (geo/shadow_table.py; a policy of another
-- table naming the table would block the swap).  Each function is one plain SELECT, which PostgreSQL inlines:
-- the policies run as before, a hashed sub-select over the rows the role may see.
CREATE FUNCTION riskmap_seen_inspections() RETURNS SETOF bigint LANGUAGE sql STABLE AS
    $$ SELECT id FROM inspection $$;
CREATE FUNCTION riskmap_seen_hidden_dangers() RETURNS SETOF bigint LANGUAGE sql STABLE AS
    $$ SELECT id FROM hidden_danger $$;
CREATE FUNCTION riskmap_seen_enforcement_actions() RETURNS SETOF bigint LANGUAGE sql STABLE AS
    $$ SELECT id FROM enforcement_action $$;
CREATE FUNCTION riskmap_seen_accidents() RETURNS SETOF bigint LANGUAGE sql STABLE AS
    $$ SELECT id FROM accident $$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_policies WHERE tablename = 'hidden_danger_photo' AND policyname = 'in_scope') THEN
        RETURN;  -- no role riskmap_scoped, no policies (migration 0019)
    END IF;
    DROP POLICY in_scope ON hidden_danger_photo;
    CREATE POLICY in_scope ON hidden_danger_photo TO riskmap_scoped
        USING (hidden_danger_id IN (SELECT d FROM riskmap_seen_hidden_dangers() d));
    DROP POLICY in_scope ON record_history;
    CREATE POLICY in_scope ON record_history TO riskmap_scoped
        USING (CASE record_table
                   WHEN 'inspection' THEN record_id IN (SELECT r FROM riskmap_seen_inspections() r)
                   WHEN 'hidden_danger' THEN record_id IN (SELECT r FROM riskmap_seen_hidden_dangers() r)
                   WHEN 'enforcement_action' THEN record_id IN (SELECT r FROM riskmap_seen_enforcement_actions() r)
                   WHEN 'accident' THEN record_id IN (SELECT r FROM riskmap_seen_accidents() r)
                   ELSE false
               END);
END $$;
