-- Store one plan document; returns its id and creation time.
INSERT INTO inspection_plan (created_by, area, teams, days, risk_share, model_version, document)
VALUES (%(created_by)s, %(area)s, %(teams)s, %(days)s, %(risk_share)s,
        %(model_version)s, %(document)s::jsonb)
RETURNING id, created_at, model_version
