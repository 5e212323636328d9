"""The list of major risks and hidden dangers (重大风险和隐患清单) every locality keeps (design.md "Who uses it"; the
fifteen measures): every red or orange scored site (a major risk, domain.md §2) and every open major hidden danger
(重大事故隐患, domain.md §8), one row each, with who is responsible, who supervises, the deadline and the measures.

Rows: the sites first, worst first (red before orange, then by score); then the major hidden dangers that are open
or reopened, overdue first and then by deadline (the hidden-danger list's order).  A red site with an open major
danger has two rows: the site as a major risk, and the danger with its own deadline and measures.

Where the columns come from:

- **why**: a site's direct-red rule (if one fired) and the three factors that gave the most points; a danger's
  description (and category).
- **responsible unit and person**: a danger's own ``responsible_unit`` and ``responsible_person``; else (and for a
  site) the site's props under one of ``RESPONSIBLE_UNIT_KEYS`` / ``RESPONSIBLE_PERSON_KEYS`` (the names registers
  use, kept in props by the importer); else, for the unit, a pipeline's operator, and an enterprise itself (the
  enterprise carries the main responsibility for its own safety, 企业主体责任).  Otherwise empty.
- **supervising department**: the site's props under one of ``SUPERVISING_KEYS``; else the emergency-management
  bureau of the county holding the site's point (``<county>应急管理局``, the county bureaus being the ones that
  supervise sites under the territorial principle, 属地管理); empty for a site in no county.  The JSON says which
  rule gave it (``supervising_department_source``: ``site``, ``county_bureau`` or null).
- **deadline** and **measures**: a danger's rectification deadline and measures (整改措施); a site's control
  measures (管控措施) from its props under ``MEASURE_KEYS``, and no deadline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from geo.lists.hidden_dangers import SITE_KINDS, DangerFilter, admin_area, danger_item, danger_rows
from geo.lists.store import query_rows, sql_text

MAJOR_LEVELS = ("red", "orange")
RESPONSIBLE_UNIT_KEYS = ("responsible_unit", "责任单位", "管控责任单位", "主体责任单位")
RESPONSIBLE_PERSON_KEYS = ("responsible_person", "责任人", "管控责任人", "主要负责人")
SUPERVISING_KEYS = ("supervising_department", "监管部门", "负有监管职责的部门", "行业监管部门")
MEASURE_KEYS = ("control_measures", "管控措施", "风险管控措施")
COUNTY_BUREAU = "{county}应急管理局"


def _prop(props: dict | None, keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` that ``props`` holds as non-blank text (numbers as text)."""
    for key in keys:
        value = (props or {}).get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def supervising_department(props: dict | None, county_name: str | None) -> tuple[str | None, str | None]:
    """(department, which rule gave it): the site's own (props), else its county's emergency-management
    bureau, else (None, None)."""
    own = _prop(props, SUPERVISING_KEYS)
    if own:
        return own, "site"
    if county_name:
        return COUNTY_BUREAU.format(county=county_name), "county_bureau"
    return None, None


def responsible_unit(kind: str, name: str | None, props: dict | None, operator: str | None) -> str | None:
    """A site's responsible unit: its props, else a pipeline's operator, else an enterprise itself."""
    return _prop(props, RESPONSIBLE_UNIT_KEYS) or (operator or None) or (name if kind == "enterprise" else None)


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    return str(value)


def why_site(direct_red: str | None, reasons: list[dict]) -> str:
    """Why a site is a major risk, as one line: its direct-red rule, then its top factors with their points."""
    parts = [direct_red] if direct_red else []
    parts += [f"{r.get('title') or r['factor']}: {_number(r.get('value'))} ({_number(r.get('points'))} pts)"
              for r in reasons]
    return " ; ".join(parts)


def why_danger(description: str, category: str | None) -> str:
    return f"{description} ({category})" if category else description


@dataclass
class MajorRiskList:
    """The list as of a date, for an area (None: everywhere)."""

    as_of: dt.date
    area: dict | None
    kinds: tuple[str, ...]
    items: list[dict] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per entry type and per level, and the overdue dangers among them."""
        out = {"major_risk": 0, "major_hidden_danger": 0, "red": 0, "orange": 0, "overdue": 0}
        for it in self.items:
            out[it["entry"]] += 1
            if it["entry"] == "major_risk":
                out[it["site"]["level"]] += 1
            elif it["hidden_danger"]["overdue"]:
                out["overdue"] += 1
        return out


def major_risk_list(conn, as_of: dt.date, area: str | None = None,
                    kinds: tuple[str, ...] | None = None) -> MajorRiskList:
    """The list of major risks and hidden dangers of ``area`` (an admin code; None: everywhere) on ``as_of``
    (the date overdue is judged on), for the site kinds ``kinds`` (None: all)."""
    flt = DangerFilter(as_of=as_of, area=area, kinds=kinds, statuses=("open", "reopened"), grades=("major",))
    found = admin_area(conn, area) if area is not None else None
    kinds = flt.kinds or SITE_KINDS
    sites = query_rows(conn, sql_text("major_risk_sites"), {"kinds": list(kinds), "levels": list(MAJOR_LEVELS),
                                                        "area": area})
    items = [_site_row(s) for s in sites] + [_danger_row(d) for d in danger_rows(conn, flt)]
    for rank, item in enumerate(items, start=1):
        item["rank"] = rank
    return MajorRiskList(as_of=as_of, area=found, kinds=tuple(kinds), items=items)


def _county(code: str | None, name: str | None) -> dict | None:
    return {"admin_code": code, "name": name} if code else None


def _site_row(s: dict) -> dict:
    department, source = supervising_department(s["props"], s["county_name"])
    return {
        "rank": 0, "entry": "major_risk",
        "site": {"kind": s["kind"], "id": s["id"], "source_id": s["source_id"], "name": s["name"],
                 "level": s["level"], "score": s["score"]},
        "county": _county(s["county_code"], s["county_name"]),
        "why": why_site(s["direct_red"], s["reasons"]), "direct_red": s["direct_red"], "reasons": s["reasons"],
        "hidden_danger": None,
        "responsible_unit": responsible_unit(s["kind"], s["name"], s["props"], s["operator"]),
        "responsible_person": _prop(s["props"], RESPONSIBLE_PERSON_KEYS),
        "supervising_department": department, "supervising_department_source": source,
        "deadline": None, "measures": _prop(s["props"], MEASURE_KEYS),
        "synthetic": s["synthetic"], "lon": s["lon"], "lat": s["lat"],
    }


def _danger_row(d: dict) -> dict:
    item = danger_item(d)
    department, source = supervising_department(d["site_props"], d["county_name"])
    unit = d["responsible_unit"] or responsible_unit(d["site_kind"], d["site_name"], d["site_props"],
                                                     d["site_operator"])
    return {
        "rank": 0, "entry": "major_hidden_danger", "site": item["site"], "county": item["county"],
        "why": why_danger(d["description"], d["category"]), "direct_red": None, "reasons": [],
        "hidden_danger": {k: item[k] for k in ("id", "source_id", "description", "category", "status", "found_on",
                                               "overdue", "days_overdue")},
        "responsible_unit": unit,
        "responsible_person": d["responsible_person"] or _prop(d["site_props"], RESPONSIBLE_PERSON_KEYS),
        "supervising_department": department, "supervising_department_source": source,
        "deadline": d["deadline"], "measures": d["measures"],
        "synthetic": d["synthetic"], "lon": d["lon"], "lat": d["lat"],
    }
