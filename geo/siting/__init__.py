"""The siting red line of a proposed hazardous-chemicals project (项目审批红线).

For a proposed project (a point or a polygon, and the chemicals it would hold) this reports what the approval
of a new hazardous-chemicals project must weigh:

- GB 18218-2018 (domain.md §1): S = Σq/Q, R = α·Σβq/Q with α from the resident people within 500 m outside
  the site, whether the project would be a major hazard installation (S >= 1) and its level 一级 to 四级.  The
  rules are not re-implemented here: the inventory is resolved by ``geo.risk.chemicals`` (the shipped Q and β
  tables) and α and the level come from ``geo.risk.enterprise`` with the model's ``[enterprise.gb18218]``.
  People are counted as the scoring counts them for an existing enterprise (geo/risk/context.py).
- The targets near the site, nearest first, with geodesic distances (WGS 84): settlements and crowded venues
  within the 500 m ring (vulnerable venues flagged), pipelines within 200 m with the zone of the Oil and Gas
  Pipeline Protection Law each falls in (domain.md §4: 5 m Art. 30, 50 m and 200 m Art. 35), and existing
  major-hazard enterprises within 500 m.
- GB 36894-2018 (domain.md §7 and addendum): the protected-target classes present.  The standard sets
  individual- and societal-risk criteria, not fixed external safety distances; the distance follows from a
  quantitative risk assessment.  The screening radius per target class used here is riskmap's assumption,
  configurable in the ``[siting]`` section of the risk model (geo/risk/model.toml).
- Findings: short sentences in Chinese and English.

Modules: ``inputs`` (the geometry and chemicals, checked; SitingInputError names each bad field), ``targets``
(the PostGIS queries), ``rules`` (pure: the GB 18218 result, the zones, the GB 36894 screening, the findings),
``report`` (the report's schema) and ``check`` (``check_siting``: the input checked, then the targets found and
the rules applied).  POST /siting-check and
``riskmap siting-check PROJECT.geojson`` both run ``check_siting``; nothing is written to the database.
"""

from geo.siting.check import CheckedProject, check_project, check_siting, report_project
from geo.siting.inputs import (
    ProjectFile,
    SitingInputError,
    parse_geometry,
    parse_project_chemicals,
    read_project,
    resolve_chemicals,
)
from geo.siting.report import SitingReport
from geo.siting.rules import gb18218_result, make_findings, pipeline_zone, siting_params, siting_report
from geo.siting.targets import Surroundings, find_targets

__all__ = ["CheckedProject", "ProjectFile", "SitingInputError", "SitingReport", "Surroundings", "check_project",
           "check_siting", "find_targets", "gb18218_result", "make_findings", "parse_geometry",
           "parse_project_chemicals", "pipeline_zone", "read_project", "report_project", "resolve_chemicals",
           "siting_params", "siting_report"]
