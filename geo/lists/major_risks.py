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
- **deadline**: a danger's rectification deadline (``deadline_source``: ``hidden_danger``); a site's next due
  inspection under precise supervision (geo/supervision: its last inspection plus its level's frequency, which may
  lie before ``as_of`` when the inspection is overdue; ``supervision``); none for a site with no inspection known
  (due at once: the measures say so) or a danger without a deadline.
- **measures**: a danger's rectification measures (整改措施, ``measures_source``: ``hidden_danger``); a site's control
  measures (管控措施) from its props under ``MEASURE_KEYS`` (``site``); else its supervision recommendation, written
  in the list's language (``supervision``): the inspection frequency of its level and when the next inspection is
  due (or that it is overdue), and for a site with an open major hidden danger the measure the rules allow for
  that site alone (rectification by the deadline, suspension, or keeping a suspension in force).  A site row also
  carries the recommendation itself (``supervision``).  The recommendations of all the listed sites are read in one
  query (``geo.supervision.sites.recommendations`` with their keys).
- The **responsible person** is never guessed: empty when neither the danger nor the register names one (the
  page and spreadsheets write "未登记" / "not registered").

Filters (None: no filter): ``levels`` (red, orange) keeps the sites of those levels and the dangers whose site
has one of them; ``statuses`` (open, reopened) and ``found_from`` / ``found_to`` (the found date, both days
included) apply to the danger rows only, the site rows being no danger; ``entries`` (major_risk,
major_hidden_danger) keeps those rows (``entries=("major_hidden_danger",)`` with a found-date range: the major
dangers found in that period).  A bad value is a ``FilterError`` naming the filter and the values allowed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from geo.lists.hidden_dangers import (
    OPEN_STATUSES,
    SITE_KINDS,
    DangerFilter,
    admin_area,
    choices,
    danger_item,
    danger_rows,
)
from geo.lists.store import query_rows, sql_text
from geo.risk.framework import LEVEL_NAMES_ZH
from geo.supervision.config import SupervisionConfig, shipped_supervision
from geo.supervision.rules import KEEP_SUSPENDED, RECTIFY, SUSPEND, Recommendation
from geo.supervision.sites import recommendations

MAJOR_LEVELS = ("red", "orange")
ENTRIES = ("major_risk", "major_hidden_danger")
LANGUAGES = ("zh", "en")
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


MEASURE_TEXT = {
    "zh": {"frequency": "按{level}每 {n} 个月检查一次", "next_due": "下次检查 {date}",
           "overdue": "检查已逾期 {n} 天（应于 {date} 前检查）", "never": "无检查记录，应立即检查",
           RECTIFY: "有未整改重大事故隐患：责令限期整改（期限 {date}）",
           RECTIFY + "_open": "有未整改重大事故隐患：责令限期整改（尚未确定整改期限）",
           SUSPEND: "重大事故隐患逾期未整改或复发：责令本单位停产停业整改，直至整改完成（仅限本单位）",
           KEEP_SUSPENDED: "停产停业措施正在执行：维持至整改验收", "sep": "；"},
    "en": {"frequency": "inspect every {n} month(s) ({level} level)", "next_due": "next inspection due {date}",
           "overdue": "inspection overdue by {n} days (due {date})", "never": "no inspection known: inspect at once",
           RECTIFY: "open major hidden danger: order rectification by {date}",
           RECTIFY + "_open": "open major hidden danger: order rectification (no deadline recorded yet)",
           SUSPEND: "major hidden danger late or reopened: order this site (only) to stop production until it is "
                    "rectified",
           KEEP_SUSPENDED: "suspension in force: keep it until the rectification is verified", "sep": "; "},
}


def supervision_summary(rec: Recommendation) -> dict:
    """What a site row keeps of its supervision recommendation (the JSON's ``supervision``)."""
    m = rec.measure
    return {"frequency_months": rec.frequency_months, "last_inspection": rec.last_inspection,
            "last_inspection_source": rec.last_inspection_source, "next_due": rec.next_due,
            "overdue": rec.overdue, "days_overdue": rec.days_overdue if rec.overdue and rec.next_due else None,
            "measure": {"action": m.action, "deadline": m.deadline} if m else None}


def supervision_measures(sup: dict, level: str, language: str = "zh") -> str:
    """A site's measures from its supervision recommendation (``supervision_summary``), in ``language``: the
    inspection frequency of its level, when the next inspection is due (or how late it is), and the measure the
    rules allow for a site with an open major hidden danger."""
    t = MEASURE_TEXT[language]
    level_name = LEVEL_NAMES_ZH[level] if language == "zh" else level
    parts = [t["frequency"].format(level=level_name, n=sup["frequency_months"])]
    due = sup["next_due"]
    if due is None:
        parts.append(t["never"])
    elif sup["overdue"]:
        parts.append(t["overdue"].format(n=sup["days_overdue"], date=due.isoformat()))
    else:
        parts.append(t["next_due"].format(date=due.isoformat()))
    m = sup["measure"]
    if m is not None:
        if m["action"] == RECTIFY and m["deadline"] is None:
            parts.append(t[RECTIFY + "_open"])
        else:
            parts.append(t[m["action"]].format(date=m["deadline"].isoformat() if m["deadline"] else ""))
    return t["sep"].join(parts)


@dataclass
class MajorRiskList:
    """The list as of a date, for an area (None: everywhere)."""

    as_of: dt.date
    area: dict | None
    kinds: tuple[str, ...]
    items: list[dict] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)  # the filters given (kind, level, status, entry, found_*)

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


def major_risk_list(conn, as_of: dt.date, area: str | None = None, kinds: tuple[str, ...] | None = None, *,
                    levels: tuple[str, ...] | None = None, statuses: tuple[str, ...] | None = None,
                    entries: tuple[str, ...] | None = None, found_from: dt.date | None = None,
                    found_to: dt.date | None = None, supervision: SupervisionConfig | None = None,
                    language: str = "zh") -> MajorRiskList:
    """The list of major risks and hidden dangers of ``area`` (an admin code; None: everywhere) on ``as_of``
    (the date overdue is judged on), for the site kinds ``kinds`` (None: all), filtered as the module says;
    ``supervision``: the supervision settings the sites' deadlines and measures come from (None: the shipped
    ones); ``language``: of the measures written from them."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    levels = choices("level", levels, MAJOR_LEVELS)
    statuses = choices("status", statuses, OPEN_STATUSES)
    entries = choices("entry", entries, ENTRIES) or ENTRIES
    flt = DangerFilter(as_of=as_of, area=area, kinds=kinds, levels=levels, statuses=statuses or OPEN_STATUSES,
                       grades=("major",), found_from=found_from, found_to=found_to)
    found = admin_area(conn, area) if area is not None else None
    kinds = flt.kinds or SITE_KINDS
    items = []
    if "major_risk" in entries:
        sites = query_rows(conn, sql_text("major_risk_sites"), {"kinds": list(kinds),
                                                                "levels": list(levels or MAJOR_LEVELS), "area": area})
        recs = _recommendations(conn, as_of, supervision or shipped_supervision(), kinds, sites)
        items += [_site_row(s, recs.get(f"{s['kind']}.{s['id']}"), language) for s in sites]
    if "major_hidden_danger" in entries:
        items += [_danger_row(d) for d in danger_rows(conn, flt)]
    for rank, item in enumerate(items, start=1):
        item["rank"] = rank
    given = {"kind": flt.kinds, "level": levels, "status": statuses,
             "entry": entries if entries != ENTRIES else None, "found_from": found_from, "found_to": found_to}
    return MajorRiskList(as_of=as_of, area=found, kinds=tuple(kinds), items=items,
                         filters={k: v for k, v in given.items() if v is not None})


def _recommendations(conn, as_of: dt.date, config: SupervisionConfig, kinds: tuple[str, ...],
                     sites: list[dict]) -> dict[str, Recommendation]:
    """The supervision recommendations of the listed sites, by 'kind.id', in one query."""
    if not sites:
        return {}
    keys = [f"{s['kind']}.{s['id']}" for s in sites]
    return {r.key: r for r in recommendations(conn, as_of, config, kinds=kinds, keys=keys)}


def _county(code: str | None, name: str | None) -> dict | None:
    return {"admin_code": code, "name": name} if code else None


def _site_row(s: dict, rec: Recommendation | None, language: str) -> dict:
    department, source = supervising_department(s["props"], s["county_name"])
    sup = supervision_summary(rec) if rec is not None else None
    measures, measures_source = _prop(s["props"], MEASURE_KEYS), "site"
    if measures is None and sup is not None:
        measures, measures_source = supervision_measures(sup, s["level"], language), "supervision"
    deadline = sup["next_due"] if sup else None
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
        "deadline": deadline, "deadline_source": "supervision" if deadline else None,
        "measures": measures, "measures_source": measures_source if measures else None,
        "supervision": sup,
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
        "deadline": d["deadline"], "deadline_source": "hidden_danger" if d["deadline"] else None,
        "measures": d["measures"], "measures_source": "hidden_danger" if d["measures"] else None,
        "supervision": None,
        "synthetic": d["synthetic"], "lon": d["lon"], "lat": d["lat"],
    }
