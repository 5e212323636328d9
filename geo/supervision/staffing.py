"""Staffing (issue 14 item 4; design.md "Who uses it"): the inspector-days each county needs in a year to inspect
every scored site at its level's frequency, against the inspectors it has where the settings give them.  The
fifteen measures ask localities to size their law-enforcement teams by how many enterprises sit at each risk
level; this is that sizing made a number.

For one county, with n(kind, level) scored sites:

    inspections a year = sum n x 12 / frequency_months[level]
    inspector-hours    = sum n x 12 / frequency_months[level] x (inspection_hours[kind] + travel_hours)
                         x inspectors_per_inspection
    inspector-days     = inspector-hours / hours_per_day
    inspectors needed  = inspector-days / field_days_per_inspector

and, where its staff is given, the inspector-days its staff has (staff x field days), the shortfall in
inspectors (needed - staff; negative: spare) and the share of the need its staff covers.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources

from geo.risk.framework import LEVELS
from geo.supervision.config import SITE_KINDS, SupervisionConfig

ADMIN_LEVELS = ("province", "city", "county", "township")


def need(counts: Mapping[tuple[str, str], int], config: SupervisionConfig) -> dict:
    """The yearly need of one area from its scored sites per (kind, level)."""
    st = config.staffing
    inspections = hours = 0.0
    for (kind, level), n in counts.items():
        per_year = n * 12 / config.frequency(level)
        inspections += per_year
        hours += per_year * (st.inspection_hours[kind] + st.travel_hours_per_inspection) * st.inspectors_per_inspection
    days = hours / st.hours_per_day
    return {"inspections_per_year": inspections, "inspector_hours": hours, "inspector_days": days,
            "inspectors_needed": days / st.field_days_per_inspector}


def against_staff(row: dict, staff: int | None, config: SupervisionConfig) -> dict:
    """The need of ``row`` (from ``need``) against a staff of ``staff`` inspectors (None: unknown)."""
    if staff is None:
        return {**row, "staff": None, "staff_days": None, "shortfall_inspectors": None, "coverage": None}
    days = staff * config.staffing.field_days_per_inspector
    return {**row, "staff": staff, "staff_days": days, "shortfall_inspectors": row["inspectors_needed"] - staff,
            "coverage": days / row["inspector_days"] if row["inspector_days"] > 0 else None}


def staffing_table(areas: list[tuple[str, str, float | None, float | None]],
                   counts: Mapping[str | None, Mapping[tuple[str, str], int]], config: SupervisionConfig) -> dict:
    """Per area (admin code, name, label lon, lat), its sites per level, need and staff; the totals; the sites in
    no area.  Pure: ``counts`` maps an admin code (None: no area) to its sites per (kind, level)."""
    rows = []
    for code, name, x, y in areas:
        c = counts.get(code, {})
        by_level = {lv: sum(n for (_, level), n in c.items() if level == lv) for lv in reversed(LEVELS)}
        by_kind = {k: sum(n for (kind, _), n in c.items() if kind == k) for k in SITE_KINDS}
        row = {"admin_code": code, "name": name, "sites": sum(by_level.values()), "by_level": by_level,
               "by_kind": by_kind, **need(c, config), "label_point": [x, y] if x is not None else None}
        rows.append(against_staff(row, config.staff.get(code), config))
    everywhere: dict[tuple[str, str], int] = {}
    for c in counts.values():
        for k, n in c.items():
            everywhere[k] = everywhere.get(k, 0) + n
    total = need(everywhere, config)
    outside = counts.get(None, {})
    listed = {code for code, *_ in areas}
    unknown_staff = sorted(code for code in config.staff if code not in listed)
    return {"areas": rows, "total": {**total, "sites": sum(n for c in counts.values() for n in c.values())},
            "outside_areas": {"sites": sum(outside.values()), **need(outside, config)},
            "staff_for_unknown_areas": unknown_staff, "parameters": parameters(config)}


def parameters(config: SupervisionConfig) -> dict:
    st = config.staffing
    return {"frequency_months": dict(config.frequency_months), "inspection_hours": dict(st.inspection_hours),
            "travel_hours_per_inspection": st.travel_hours_per_inspection,
            "inspectors_per_inspection": st.inspectors_per_inspection, "hours_per_day": st.hours_per_day,
            "field_days_per_inspector": st.field_days_per_inspector, "settings": config.path,
            "version": config.version}


@cache
def _sql(name: str) -> str:
    return resources.files("geo.supervision").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def county_staffing(conn, config: SupervisionConfig, level: str = "county") -> dict:
    """The staffing table of the stored admin areas of ``level`` (county by default)."""
    if level not in ADMIN_LEVELS:
        raise ValueError(f"level: expected one of {', '.join(ADMIN_LEVELS)}, got {level!r}")
    with conn.cursor() as cur:
        cur.execute(_sql("staffing_areas"), {"level": level})
        areas = cur.fetchall()
        cur.execute(_sql("staffing_counts"), {"level": level})
        rows = cur.fetchall()
    counts: dict[str | None, dict[tuple[str, str], int]] = {}
    for code, kind, lv, n in rows:
        counts.setdefault(code, {})[(kind, lv)] = int(n)
    return {"level": level, **staffing_table(areas, counts, config)}
