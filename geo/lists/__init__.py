"""The lists the inspection campaign asks for (issue 14, item 2; design.md "The campaign's loop", domain.md §8),
read from the records tables (migration 0013) and the scores:

- ``hidden_dangers``: the hidden dangers (事故隐患) by area, site kind and level, status, grade, overdue and found
  date, in pages (overdue first, then by deadline), and their counts per area;
- ``major_risks``: the list of major risks and hidden dangers (重大风险和隐患清单): every red or orange site and
  every open major hidden danger, with who is responsible, who supervises, the deadline and the measures;
- ``timeline``: a site's inspections, hidden dangers (with their status history), enforcement actions and
  accidents, newest first.

Nothing here writes: the records are written through the importer and the record routes.
"""

from geo.lists.hidden_dangers import (
    DangerFilter,
    DangerPageKey,
    danger_page,
    danger_summary,
    days_overdue,
    is_overdue,
)
from geo.lists.major_risks import MajorRiskList, major_risk_list, supervising_department
from geo.lists.timeline import site_timeline

__all__ = ["DangerFilter", "DangerPageKey", "MajorRiskList", "danger_page", "danger_summary", "days_overdue",
           "is_overdue", "major_risk_list", "site_timeline", "supervising_department"]
