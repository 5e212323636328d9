"""What an area's records say about a period, counted (GET /records/summary, and the monthly report's record
numbers, riskmap report): inspections by type and outcome and the sites inspected, hidden dangers found,
rectified, verified and reopened in the period and those open and overdue at its end, enforcement actions decided
and lifted and those in force at the end, and the accidents.  One query, geo/records/sql/area_summary.sql, whose
comment defines each number."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources

from geo.errors import InputError, NotFound

FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
SECTIONS = ("inspections", "hidden_dangers", "enforcement", "accidents")


class PeriodError(InputError):
    """A period riskmap cannot count over (the message names the bound)."""

    exit_code = 2

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@cache
def _sql(name: str) -> str:
    return resources.files("geo.records").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def check_period(first: dt.date, last: dt.date) -> None:
    """PeriodError unless FIRST_DAY <= first <= last <= LAST_DAY."""
    for field, day in (("from", first), ("to", last)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise PeriodError(field, f"expected a date from {FIRST_DAY} to {LAST_DAY}, got {day}")
    if last < first:
        raise PeriodError("to", f"the period ends ({last}) before it begins ({first})")


def area_summary(conn, first: dt.date, last: dt.date, area: str | None = None) -> dict:
    """The counts of the records of ``area`` (an admin code; None: everywhere) from ``first`` to ``last``
    (inclusive): {"inspections": {...}, "hidden_dangers": {...}, "enforcement": {...}, "accidents": {...}}.
    NotFound naming the code when no admin area has it."""
    check_period(first, last)
    with conn.cursor() as cur:
        if area is not None:
            cur.execute("SELECT 1 FROM area WHERE admin_code = %s", (area,))
            if cur.fetchone() is None:
                raise NotFound(f"unknown area {area!r}: no administrative area has this code")
        cur.execute(_sql("area_summary"), {"area": area, "first": first, "last": last})
        row = cur.fetchone()
    out = dict(zip(SECTIONS, row, strict=True))
    out["enforcement"]["fines_yuan"] = float(out["enforcement"]["fines_yuan"])
    return out
