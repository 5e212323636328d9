-- Every user, by name (the revoked ones too when %(include_revoked)s).
SELECT id, name, role, areas, created_at, created_by, rotated_at, revoked_at
FROM riskmap_user
WHERE %(include_revoked)s OR revoked_at IS NULL
ORDER BY name
