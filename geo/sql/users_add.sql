-- A new user (no row: the name is taken).
INSERT INTO riskmap_user (name, role, areas, token_id, secret_hash, created_by)
VALUES (%(name)s, %(role)s, %(areas)s, %(token_id)s, %(secret_hash)s, %(created_by)s)
ON CONFLICT (name) DO NOTHING
RETURNING id, name, role, areas, created_at, created_by, rotated_at, revoked_at
