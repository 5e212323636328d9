"""The monthly report of an area (issue 14 item 7; ``riskmap report``): what a county bureau reports each month,
assembled from the functions the API answers with, so that every number in it is the number the API gives for
the same area and dates (tests/api/test_monthly_report.py checks it):

- the sites per risk level at the month's end and at the end of the month before, and the change (the score
  history: ``geo.risk.history.area_series``, GET /areas/{id}/series);
- hidden dangers: found (and major) in the month, rectified, verified (closed) and reopened in it, open and
  overdue at its end (``geo.records.summary``, GET /records/summary);
- inspections done against those due (``geo.supervision``, GET /supervision): the sites due by the month's end as
  judged on the eve of the month (their next due date on or before the month's last day, or none known), those of
  them inspected in the month, every site inspected in the month, and those overdue at its end; per level;
- look-backs (回头看): look-back inspections done in the month (GET /records/summary) and the sites still waiting
  for one at its end, with why (GET /supervision);
- enforcement: actions decided in the month by measure, fines, liftings, measures in force at its end; accidents;
- the list of major risks and hidden dangers as of the month's end (``geo.lists.major_risk_list``, GET
  /major-risks?as_of=: the red and orange sites and the major hidden dangers open or reopened, overdue judged on
  the month's last day, with the dangers' statuses of that day; the sites' levels and factors are their current
  ones, so that list is exact for the month just ended and approximate for earlier ones).  The inspections
  section takes the sites' levels of the eve and of the month's end from the score history, as section 1 does.

Dates are the month's: nothing here reads the clock.  ``month_report`` returns a dict, JSON-ready but for its
``major_list`` (a geo.lists MajorRiskList, as GET /major-risks builds it); the page is
maps/monthly_report_page.py, the workbook ``report_workbook``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from api.routes import sql_text
from geo.errors import InputError, NotFound
from geo.lists.major_risks import major_risk_list
from geo.records.summary import area_summary
from geo.risk import history
from geo.supervision.config import SupervisionConfig
from geo.supervision.sites import recommendations

LEVELS = ("red", "orange", "yellow", "blue")
MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
LOOK_BACK_REASONS = ("major_danger_rectified", "enforcement_lifted", "danger_overdue")


class MonthError(InputError):
    """A month riskmap cannot report on (the message shows the expected form)."""

    exit_code = 2


@dataclass(frozen=True)
class Month:
    first: dt.date
    last: dt.date

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def before(self) -> Month:
        """The month before."""
        return month_of(self.first - dt.timedelta(days=1))


def month_of(day: dt.date) -> Month:
    first = day.replace(day=1)
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return Month(first, last)


def parse_month(text: str, today: dt.date) -> Month:
    """The month of 'YYYY-MM' (1900-01 … 2999-12) that has begun by ``today`` (the month in progress is reported
    to date); MonthError otherwise."""
    m = MONTH.fullmatch(text.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 2999:
        raise MonthError(f"--month: expected a month as YYYY-MM (e.g. 2026-10), got {text!r}")
    month = month_of(dt.date(int(m.group(1)), int(m.group(2)), 1))
    if month.first > today:
        raise MonthError(f"--month: the month {month.label} has not begun (today is {today.isoformat()}); a report "
                         "covers a month that has begun")
    return month


def report_area(conn, code: str, month: Month) -> dict:
    """The admin area with this code (admin_code, name, level), its features per level now (summed over the
    classes; None without area risk) and whether records are synthetic (api/sql/report_area.sql); NotFound
    naming the code when no admin area has it."""
    with conn.cursor() as cur:
        cur.execute(sql_text("report_area"), {"code": code, "last": month.last})
        row = cur.fetchone()
    if row is None:
        raise NotFound(f"unknown area {code!r}: no administrative area has this code")
    code, name, level, counts, synthetic = row
    now = None
    if counts is not None:
        now = dict.fromkeys(LEVELS, 0)
        for per_level in counts.values():
            for lv, n in per_level.items():
                if lv in now:
                    now[lv] += int(n)
    return {"admin_code": code, "name": name, "level": level, "counts_now": now, "synthetic": bool(synthetic)}


def levels_section(conn, area: dict, month: Month) -> dict:
    """The scored sites per level at the month's end and at the end of the month before, and the change, from
    the score history (``geo.risk.history.area_series``, GET /areas/{id}/series: each site with the level it had
    that day, counted where the areas counted it).  Without any history yet, today's counts and no change."""
    if history.history_extent(conn) is None:
        return {"source": "area_risk", "history": False, "at_end": area["counts_now"], "before": None,
                "change": None, "mean_score": None}
    series = history.area_series(conn, area["admin_code"], month.before.first, month.first)
    counts = {row.month: {lv: int(getattr(row, lv)) for lv in LEVELS} for row in series.itertuples(index=False)}
    mean = {row.month: None if row.mean_score != row.mean_score else round(float(row.mean_score), 2)
            for row in series.itertuples(index=False)}
    at_end, before = counts[month.label], counts[month.before.label]
    return {"source": "score_history", "history": True, "at_end": at_end, "before": before,
            "change": {lv: at_end[lv] - before[lv] for lv in LEVELS},
            "mean_score": {"at_end": mean[month.label], "before": mean[month.before.label]}}


def inspections_section(conn, code: str, month: Month, config: SupervisionConfig, done_records: dict) -> tuple:
    """Inspections due and done per level (see the module docstring), and the look-back sites at the month's
    end; returns (inspections, look_backs)."""
    eve = recommendations(conn, month.first - dt.timedelta(days=1), config, area=code, levels_then=True)
    end = recommendations(conn, month.last, config, area=code, levels_then=True)
    due = {r.key for r in eve if r.next_due is None or r.next_due <= month.last}
    inspected = {r.key for r in end if r.last_inspection_source == "records" and r.last_inspection is not None
                 and month.first <= r.last_inspection <= month.last}
    by_level = {}
    for level in LEVELS:
        keys = {r.key for r in end if r.site.level == level}
        by_level[level] = {"sites": len(keys), "due": len(due & keys), "due_done": len(due & inspected & keys),
                           "inspected": len(inspected & keys),
                           "overdue_at_end": sum(1 for r in end if r.site.level == level and r.overdue)}
    total = {k: sum(v[k] for v in by_level.values()) for k in ("sites", "due", "due_done", "inspected",
                                                              "overdue_at_end")}
    total["done_share"] = round(total["due_done"] / total["due"], 4) if total["due"] else None
    inspections = {"by_level": by_level, "total": total, "records": done_records}
    waiting = [r for r in end if r.look_back]
    reasons = {reason: sum(1 for r in waiting for lb in r.look_back if lb.reason == reason)
               for reason in LOOK_BACK_REASONS}
    look_backs = {
        "done": done_records["by_type"]["look_back"], "waiting_at_end": len(waiting), "reasons": reasons,
        "sites": [{"kind": r.site.kind, "id": r.site.id, "source_id": r.site.source_id, "name": r.site.name,
                   "level": r.site.level, "reasons": [lb.as_dict() for lb in r.look_back]} for r in waiting],
    }
    return inspections, look_backs


def month_report(conn, code: str, month: Month, config: SupervisionConfig) -> dict:
    """The report of admin area ``code`` for ``month`` (module docstring), as a JSON-ready dict."""
    area = report_area(conn, code, month)
    records = area_summary(conn, month.first, month.last, code)
    inspections, look_backs = inspections_section(conn, code, month, config, records["inspections"])
    return {
        "area": area,
        "month": month.label,
        "period": {"from": month.first.isoformat(), "to": month.last.isoformat()},
        "levels": levels_section(conn, area, month),
        "hidden_dangers": records["hidden_dangers"],
        "inspections": inspections,
        "look_backs": look_backs,
        "enforcement": records["enforcement"],
        "accidents": records["accidents"],
        "major_list": major_risk_list(conn, month.last, code, supervision=config),
        "synthetic": area.pop("synthetic"),
    }



# ----- the workbook --------------------------------------------------------------------------------------------

def summary_rows(report: dict) -> list[list]:
    """The report's numbers as (section, item, value) rows: every count of the page, by its key."""
    rows: list[list] = [["area", "admin_code", report["area"]["admin_code"]], ["area", "name", report["area"]["name"]],
                        ["period", "month", report["month"]], ["period", "from", report["period"]["from"]],
                        ["period", "to", report["period"]["to"]]]
    levels = report["levels"]
    for when in ("at_end", "before", "change"):
        for level, n in (levels[when] or {}).items():
            rows.append(["levels", f"{when}.{level}", n])
    for when, value in (levels.get("mean_score") or {}).items():
        rows.append(["levels", f"mean_score.{when}", value])
    for section in ("hidden_dangers", "enforcement", "accidents"):
        for key, value in report[section].items():
            if isinstance(value, dict):
                rows += [[section, f"{key}.{k}", v] for k, v in value.items()]
            else:
                rows.append([section, key, value])
    ins = report["inspections"]
    rows += [["inspections", f"due.{k}", v] for k, v in ins["total"].items()]
    for key, value in ins["records"].items():
        if isinstance(value, dict):
            rows += [["inspections", f"records.{key}.{k}", v] for k, v in value.items()]
        else:
            rows.append(["inspections", f"records.{key}", value])
    lb = report["look_backs"]
    rows += [["look_backs", "done", lb["done"]], ["look_backs", "waiting_at_end", lb["waiting_at_end"]]]
    rows += [["major_list", k, v] for k, v in report["major_list"].counts.items()]
    rows += [["look_backs", f"reasons.{k}", v] for k, v in lb["reasons"].items()]
    return rows


def report_workbook(report: dict, language: str = "zh") -> bytes:
    """The report as an XLSX workbook through the one formula-safe writer: the numbers (summary), inspections
    per level, every look-back site with each reason, and the list of major risks and hidden dangers (the
    columns of its own spreadsheet, in ``language``: maps/major_risks_page.py list_table)."""
    from api.routes.risk_list import Sheet, xlsx_book
    from maps.major_risks_page import list_table

    ins = report["inspections"]["by_level"]
    sheets = [
        Sheet("summary", ("section", "item", "value"), summary_rows(report)),
        Sheet("inspections", ("level", "sites", "due", "due_done", "inspected", "overdue_at_end"),
              [[level, *(v[c] for c in ("sites", "due", "due_done", "inspected", "overdue_at_end"))]
               for level, v in ins.items()]),
        Sheet("look_backs", ("kind", "id", "source_id", "name", "level", "reason", "date", "record",
                             "record_source_id", "detail"),
              [[s["kind"], s["id"], s["source_id"], s["name"], s["level"], r["reason"], r["date"], r["record"],
                r["source_id"], r["detail"]] for s in report["look_backs"]["sites"] for r in s["reasons"]]),
    ]
    columns, rows = list_table(report["major_list"], language)
    sheets.append(Sheet("major_list", columns, rows, {columns[11]: "yyyy-mm-dd"}))  # the deadline
    return xlsx_book(sheets)
