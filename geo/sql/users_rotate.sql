-- A new token for a user that is not revoked (no row: no such user): the old token_id finds no row any more.
UPDATE riskmap_user SET token_id = %(token_id)s, secret_hash = %(secret_hash)s, rotated_at = now()
WHERE name = %(name)s AND revoked_at IS NULL
RETURNING id, name, role, areas, created_at, created_by, rotated_at, revoked_at
