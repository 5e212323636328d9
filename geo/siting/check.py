"""The siting check of a proposed project, start to end: its input checked, the targets around it found in
PostGIS, and the rules applied.  POST /siting-check and ``riskmap siting-check`` both call ``check_siting``."""

from __future__ import annotations

from typing import Any

from geo.siting.inputs import parse_geometry, parse_project_chemicals, resolve_chemicals
from geo.siting.report import SitingReport
from geo.siting.rules import siting_params, siting_report
from geo.siting.targets import find_targets


def check_siting(conn, geometry: dict[str, Any], chemicals: Any, name: str | None, model: dict) -> SitingReport:
    """The report of a project: ``geometry`` a GeoJSON Point or Polygon (WGS 84), ``chemicals`` a list of
    {"name", "tonnes", "hazard_category"?} or the text form "氯:10;氨:100".  Bad input raises SitingInputError
    (naming each field) before the database is asked; nothing is written."""
    g = model["enterprise"]["gb18218"]
    p = siting_params(model)
    site, area_m2 = parse_geometry(geometry, float(p["max_area_km2"]))
    entries, fields = parse_project_chemicals(chemicals)
    resolved, sums = resolve_chemicals(entries, fields, g)
    found = find_targets(conn, site, model, p["screening_m"])
    return siting_report(name, geometry, area_m2, resolved, sums, found, model)
