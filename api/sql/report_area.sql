-- The monthly report (api/monthly_report.py): the admin area reported on, with its risk counts now (area_risk's
-- counts per class and level, as GET /areas/{id} serves them; NULL when the area has no area risk), and whether
-- any record up to the month's end %(last)s is flagged synthetic (the demo's: the report then says so).
SELECT a.admin_code, a.name, a.level,
       (SELECT r.counts FROM area_risk r WHERE r.area_type = 'admin' AND r.area_id = a.admin_code) AS counts,
       EXISTS (SELECT 1 FROM inspection WHERE synthetic AND inspected_on <= %(last)s)
           OR EXISTS (SELECT 1 FROM hidden_danger WHERE synthetic AND found_on <= %(last)s) AS synthetic
FROM area a
WHERE a.admin_code = %(code)s
