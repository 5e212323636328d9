"""The hidden dangers (事故隐患, domain.md §8) as lists: filtered, in pages, and counted per area.

A hidden danger is **overdue** on a date when its rectification deadline has passed (the deadline is before that
date: the deadline day itself is still in time) and it is neither rectified nor verified (its status is open or
reopened).  ``is_overdue`` is the rule; geo/lists/sql/dangers.sql applies the same rule in SQL to filter and sort
(tests/geo/lists check that the two agree).  The date is always a parameter (``as_of``), never read from a clock
here, so that a list is the same whenever it is asked for that date.  A list as of a date is the list as it stood
on that day: the dangers found by then, each with its status of that day (migration 0016's
riskmap_danger_status_on: a rectification or reopening made later does not count yet).

The order of the lists is the order of the work: overdue dangers first, then by deadline (soonest first, none
last), then by id.  Pages are keyset pages on that order (``DangerPageKey``): a page after a key holds exactly the
rows that sort after it, so paging is stable while records are added, and a danger that changes meanwhile is
listed once, where it sorts now.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from geo.errors import InputError, NotFound
from geo.lists.store import query_rows, sql_text

SITE_KINDS = ("enterprise", "tailings_pond", "pipeline", "venue")
LEVELS = ("red", "orange", "yellow", "blue")
STATUSES = ("open", "rectified", "verified", "reopened")
OPEN_STATUSES = ("open", "reopened")  # not rectified (nor verified): what can be overdue
GRADES = ("general", "major")
AREA_LEVELS = ("province", "city", "county", "township")


class FilterError(InputError):
    """A filter value riskmap cannot use; ``field`` names the filter (the API answers 422 naming it)."""

    exit_code = 2

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def is_overdue(status: str, deadline: dt.date | None, as_of: dt.date) -> bool:
    """Whether a hidden danger is overdue on ``as_of``: not rectified (open or reopened) and its deadline is
    before ``as_of``.  One without a deadline is never overdue."""
    return status in OPEN_STATUSES and deadline is not None and deadline < as_of


def days_overdue(status: str, deadline: dt.date | None, as_of: dt.date) -> int | None:
    """How many days past its deadline an overdue danger is on ``as_of`` (1 the day after the deadline); None
    when it is not overdue."""
    return (as_of - deadline).days if is_overdue(status, deadline, as_of) else None


def choices(field: str, values, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
    if values is None:
        return None
    values = tuple(values)
    for v in values:
        if v not in allowed:
            raise FilterError(field, f"unknown value {v!r}; expected one or more of: {', '.join(allowed)}")
    return tuple(v for v in allowed if v in values) or None


@dataclass(frozen=True)
class DangerFilter:
    """Which hidden dangers a list holds; None is no filter on that field.

    ``as_of`` is the date overdue is judged on; ``area`` an admin code (the dangers whose site lies in that area:
    geo/lists/sql/dangers.sql says how a site is placed); ``kinds`` and ``levels`` the site's kind and risk level;
    ``found_from`` and ``found_to`` the found dates, both included; ``bbox`` (minx, miny, maxx, maxy) a box the
    site's point lies in; ``site`` (kind, id) one site."""

    as_of: dt.date
    area: str | None = None
    kinds: tuple[str, ...] | None = None
    levels: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    grades: tuple[str, ...] | None = None
    overdue: bool | None = None
    found_from: dt.date | None = None
    found_to: dt.date | None = None
    bbox: tuple[float, float, float, float] | None = None
    site: tuple[str, int] | None = None

    def __post_init__(self):
        set_ = object.__setattr__  # (frozen) the choices in their canonical order
        set_(self, "kinds", choices("kind", self.kinds, SITE_KINDS))
        set_(self, "levels", choices("level", self.levels, LEVELS))
        set_(self, "statuses", choices("status", self.statuses, STATUSES))
        set_(self, "grades", choices("grade", self.grades, GRADES))
        if self.found_from and self.found_to and self.found_from > self.found_to:
            raise FilterError("found_from", f"{self.found_from} is after found_to {self.found_to}")
        if self.site is not None and self.site[0] not in SITE_KINDS:
            raise FilterError("site", f"unknown site kind {self.site[0]!r}; expected one of: {', '.join(SITE_KINDS)}")

    def params(self) -> dict[str, Any]:
        """The query parameters of geo/lists/sql/dangers.sql."""
        x0, y0, x1, y1 = self.bbox or (None, None, None, None)
        return {"as_of": self.as_of, "area": self.area, "kinds": _list(self.kinds), "levels": _list(self.levels),
                "statuses": _list(self.statuses), "grades": _list(self.grades), "overdue": self.overdue,
                "found_from": self.found_from, "found_to": self.found_to, "nobox": self.bbox is None,
                "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                "site_kind": self.site[0] if self.site else None, "site_id": self.site[1] if self.site else None,
                "sited": self.area is not None or self.bbox is not None or self.levels is not None}


def _list(values: tuple[str, ...] | None) -> list[str] | None:
    return list(values) if values is not None else None


KEY_PATTERN = re.compile(r"^([01])\.(\d{4}-\d{2}-\d{2}|none)\.(\d{1,19})$")


@dataclass(frozen=True)
class DangerPageKey:
    """Where a page of hidden dangers ends, in the list's order: overdue (0) or not (1), the deadline (None: no
    deadline, last), the id.  As text (the ``after`` of a next link): ``0.2026-03-01.17``, ``1.none.23``."""

    overdue_rank: int
    deadline: dt.date | None
    id: int

    @classmethod
    def parse(cls, text: str) -> DangerPageKey:
        m = KEY_PATTERN.match(text)
        if m is None:
            raise FilterError("after", f"{text!r} is not a page key (take it from the next link of a page)")
        try:
            deadline = None if m.group(2) == "none" else dt.date.fromisoformat(m.group(2))
        except ValueError:
            raise FilterError("after", f"{text!r} is not a page key: {m.group(2)} is not a date") from None
        return cls(int(m.group(1)), deadline, int(m.group(3)))

    def text(self) -> str:
        return f"{self.overdue_rank}.{self.deadline.isoformat() if self.deadline else 'none'}.{self.id}"

    @classmethod
    def of(cls, row: dict) -> DangerPageKey:
        return cls(0 if row["overdue"] else 1, row["deadline"], row["id"])


def admin_area(conn, code: str) -> dict:
    """The admin area with this code (admin_code, name, level); NotFound naming the code otherwise."""
    rows = query_rows(conn, sql_text("admin_area"), {"code": code})
    if not rows:
        raise NotFound(f"unknown area {code!r}: no administrative area has this code")
    return rows[0]


def danger_rows(conn, flt: DangerFilter, limit: int | None = None, after: DangerPageKey | None = None) -> list[dict]:
    """The hidden dangers matching ``flt`` in the list's order, after the key ``after`` (if any), at most
    ``limit`` (None: all), as rows of geo/lists/sql/danger_rows.sql (``danger_item`` shapes one for a client)."""
    if flt.area is not None:
        admin_area(conn, flt.area)
    params = {**flt.params(), "limit": limit, "paged": after is not None,
              "after_rank": after.overdue_rank if after else None,
              "after_deadline": (after.deadline.isoformat() if after.deadline else "infinity") if after else None,
              "after_id": after.id if after else None}
    return query_rows(conn, sql_text("dangers") + sql_text("danger_rows"), params)


def danger_page(conn, flt: DangerFilter, limit: int,
                after: DangerPageKey | None = None) -> tuple[list[dict], DangerPageKey | None]:
    """One page of at most ``limit`` hidden dangers after ``after``, and the key of the next page (None on the
    last one)."""
    rows = danger_rows(conn, flt, limit + 1, after)
    page = rows[:limit]
    return page, (DangerPageKey.of(page[-1]) if len(rows) > limit else None)


def danger_item(row: dict) -> dict:
    """A row of ``danger_rows`` as a client sees it: the danger, its site and county, overdue and the days
    overdue on the list's date, the site's point."""
    county = {"admin_code": row["county_code"], "name": row["county_name"]} if row["county_code"] else None
    site = {"kind": row["site_kind"], "id": row["site_id"], "source_id": row["site_source_id"],
            "name": row["site_name"], "level": row["site_level"], "score": row["site_score"]}
    keys = ("id", "source_id", "inspection_id", "description", "category", "grade", "status", "found_on",
            "deadline", "overdue", "days_overdue", "responsible_unit", "responsible_person", "measures",
            "status_changed_on", "rectified_on", "verified_on", "reopened_on", "synthetic", "lon", "lat")
    item = {k: row[k] for k in keys}
    return {"id": item.pop("id"), "source_id": item.pop("source_id"), "site": site, "county": county, **item}


def danger_summary(conn, flt: DangerFilter, area_level: str = "county") -> list[dict]:
    """The hidden dangers matching ``flt`` counted per admin area of ``area_level`` (the area holding the site's
    point): total, open (open or reopened), overdue and major (open major ones), by area code; the dangers in no
    area of that level last, with a None code."""
    if area_level not in AREA_LEVELS:
        raise FilterError("area_level", f"unknown level {area_level!r}; expected one of: {', '.join(AREA_LEVELS)}")
    if flt.area is not None:
        admin_area(conn, flt.area)
    return query_rows(conn, sql_text("dangers") + sql_text("danger_summary"),
                      {**flt.params(), "area_level": area_level})
