-- Revoke a user that is not revoked yet (no row: no such user).
UPDATE riskmap_user SET revoked_at = now()
WHERE name = %(name)s AND revoked_at IS NULL
RETURNING id, name, role, areas, created_at, created_by, rotated_at, revoked_at
