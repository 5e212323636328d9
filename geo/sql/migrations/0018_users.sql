-- 0018: the users of the API, their roles and the areas they may see (issue 15).
--
-- A user signs in with a token "rm_<token_id>_<secret>": token_id finds the row (it is random and reveals nothing),
-- the secret is kept only as a slow salted hash (scrypt; geo/users.py), so that a copy of this table does not give
-- anyone access.  A rotation replaces token_id and the hash: the old token finds no row.  A revoked user keeps
-- the row (the audit trail and the records name them) with revoked_at set; it no longer signs in.
-- areas: admin codes (area.admin_code); empty = every area.  role: viewer < inspector < planner < admin, each
-- allowed what the one before is, and more (geo/users.py ROLES).
CREATE TABLE riskmap_user (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (name ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    role text NOT NULL CHECK (role IN ('viewer', 'inspector', 'planner', 'admin')),
    areas text[] NOT NULL DEFAULT '{}',
    token_id text COLLATE "C" NOT NULL,
    secret_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT riskmap_user_name_key UNIQUE (name),
    CONSTRAINT riskmap_user_token_id_key UNIQUE (token_id)
);
