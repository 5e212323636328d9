"""The change in level since a date (issue 14 item 5: "the map can show the change in level since a chosen date"),
read from the score history (migration 0014, geo/risk/history.py).

For each scored site (enterprise, tailings pond, pipeline, venue), its level on the date is the level of its last
history row as of that day or before; a site scored only later (or removed then) had none.  Its level now is its
stored one.  The change is ``up`` (a worse level now), ``down`` (a better one), ``same``, or ``new`` (no level on
the date).  geo/risk/sql/level_changes.sql says it in SQL, for a box of sites at once; the sites come in pages
(``level_change_page``) or counted per admin area (``level_change_counts``), each area counted whole and by the
rule that places a site in its area everywhere else (the area risk, the lists).

The date is always a parameter, never read from a clock here: the same question gives the same answer whenever it
is asked (until the next scoring run changes the levels now).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from geo.errors import FieldError, NotFound
from geo.lists.store import query_rows
from geo.risk.history import HISTORY_KINDS
from geo.risk.store import sql_text

CHANGES = ("up", "down", "same", "new")
AREA_LEVELS = ("province", "city", "county", "township")
KEY_PATTERN = re.compile(r"^(enterprise|tailings_pond|pipeline|venue)\.([0-9]{1,19})$")
MAX_ID = 2**63 - 1


def _choices(field: str, values, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
    if values is None:
        return None
    values = tuple(values)
    for v in values:
        if v not in allowed:
            raise FieldError(field, f"unknown value {v!r}; expected one or more of: {', '.join(allowed)}")
    return tuple(v for v in allowed if v in values) or None


@dataclass(frozen=True)
class ChangeFilter:
    """Which sites: ``since`` the date their level is compared with; ``kinds`` their classes; ``area`` an admin
    code (the sites whose point lies in it); ``bbox`` (minx, miny, maxx, maxy) a box their point lies in (for the
    counts per area: the areas that meet it, each counted whole); ``changes`` the changes kept (pages only).
    None: no filter."""

    since: dt.date
    kinds: tuple[str, ...] | None = None
    area: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    changes: tuple[str, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "kinds", _choices("kind", self.kinds, HISTORY_KINDS))
        object.__setattr__(self, "changes", _choices("change", self.changes, CHANGES))

    def params(self, area_level: str | None = None, after: tuple[str, int] | None = None) -> dict[str, Any]:
        """The query parameters of geo/risk/sql/level_changes.sql."""
        x0, y0, x1, y1 = self.bbox or (None, None, None, None)
        return {"since": self.since, "kinds": list(self.kinds) if self.kinds else None, "area": self.area,
                "nobox": self.bbox is None, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "area_level": area_level,
                "after_kind": after[0] if after else None, "after_id": after[1] if after else None,
                "changes": list(self.changes) if self.changes else None}


def parse_page_key(text: str) -> tuple[str, int]:
    """A page key (``kind.id``, the last site of the previous page, e.g. ``enterprise.17``)."""
    m = KEY_PATTERN.fullmatch(text.strip())
    if m is None or int(m.group(2)) > MAX_ID:
        raise FieldError("after", f"expected a page key kind.id (e.g. enterprise.17), got {text!r}")
    return m.group(1), int(m.group(2))


def _check_area(conn, code: str | None) -> None:
    if code is None:
        return
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM area WHERE admin_code = %s", (code,))
        if cur.fetchone() is None:
            raise NotFound(f"no admin area with code {code!r}")


def level_change_page(conn, flt: ChangeFilter, limit: int,
                      after: tuple[str, int] | None = None) -> tuple[list[dict], tuple[str, int] | None]:
    """A page of at most ``limit`` sites in (kind, id) order after the key ``after``, and the key of the next page
    (None: the last page).  Each row: kind, id, name, change, level_then, score_then, then_as_of (the date of the
    history row it was taken from), level_now, score_now, lon, lat (the site's point on surface)."""
    _check_area(conn, flt.area)
    rows = query_rows(conn, sql_text("level_changes") + sql_text("level_change_sites"),
                 {**flt.params(None, after), "limit": limit + 1})
    if len(rows) > limit:
        last = rows[limit - 1]
        return rows[:limit], (last["kind"], int(last["id"]))
    return rows, None


def level_change_counts(conn, flt: ChangeFilter, area_level: str = "county") -> list[dict]:
    """The sites counted per admin area of ``area_level``, by code: admin_code, name, up, down, same, new, and a
    point on the area's surface (lon, lat).  With a box: the areas that meet it, each counted whole."""
    if area_level not in AREA_LEVELS:
        raise FieldError("area_level", f"unknown admin level {area_level!r}; expected one of: "
                                              f"{', '.join(AREA_LEVELS)}")
    if flt.changes is not None:
        raise FieldError("change", "the counts per area count every change: no change filter")
    _check_area(conn, flt.area)
    return query_rows(conn, sql_text("level_changes") + sql_text("level_change_areas"), flt.params(area_level))
