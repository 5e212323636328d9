-- The user a token_id signs in, unless revoked, with the hash its secret must match.
SELECT id, name, role, areas, secret_hash
FROM riskmap_user
WHERE token_id = %(token_id)s AND revoked_at IS NULL
