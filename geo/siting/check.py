"""The siting check of a proposed project, start to end: its input checked, the targets around it found in
PostGIS, and the rules applied.  POST /siting-check and ``riskmap siting-check`` both call these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import shapely

from geo.siting.inputs import parse_geometry, parse_project_chemicals, resolve_chemicals
from geo.siting.report import SitingReport
from geo.siting.rules import siting_params, siting_report
from geo.siting.targets import find_targets


@dataclass(frozen=True)
class CheckedProject:
    """A project whose input passed every check: its site (shapely, WGS 84), a polygon's geodesic area and its
    chemicals resolved against GB 18218 (with the S and Σβq/Q sums)."""

    name: str | None
    geometry: dict[str, Any]
    site: shapely.Geometry
    area_m2: float | None
    resolved: pd.DataFrame
    sums: pd.Series


def check_project(geometry: dict[str, Any], chemicals: Any, name: str | None, model: dict) -> CheckedProject:
    """``geometry`` a GeoJSON Point or Polygon (WGS 84), ``chemicals`` a list of {"name", "tonnes",
    "hazard_category"?} or the text form "氯:10;氨:100", checked; SitingInputError names each bad field."""
    g = model["enterprise"]["gb18218"]
    p = siting_params(model)
    site, area_m2 = parse_geometry(geometry, float(p["max_area_km2"]))
    entries, fields = parse_project_chemicals(chemicals)
    resolved, sums = resolve_chemicals(entries, fields, g)
    return CheckedProject(name, geometry, site, area_m2, resolved, sums)


def report_project(conn, project: CheckedProject, model: dict) -> SitingReport:
    """The report of a checked project among the targets stored around it; nothing is written."""
    found = find_targets(conn, project.site, model, siting_params(model)["screening_m"])
    return siting_report(project.name, project.geometry, project.area_m2, project.resolved, project.sums, found,
                         model)


def check_siting(conn, geometry: dict[str, Any], chemicals: Any, name: str | None, model: dict) -> SitingReport:
    """The report of a project (see ``check_project``); bad input raises SitingInputError before the database is
    asked."""
    return report_project(conn, check_project(geometry, chemicals, name, model), model)
