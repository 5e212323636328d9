"""Rule inputs from the campaign's records, with the register as the fallback (issue 14 item 5; domain.md §8).

Where a site has records (an inspection, a hidden danger or an enforcement action dated on or before the scoring
date), its open and overdue hidden dangers, an open major hidden danger, its violations of the last 12 months and
its last inspection come from them; the register's counts (``open_hidden_dangers``, ``major_hidden_danger``,
``violations_12m``, ``last_inspection``) are used only for the sites with none.  The records are summarised per
site in SQL (``geo/risk/sql/record_summary.sql``) and arrive in the rule's frame as these columns (missing
columns, or NaN, mean "no records"):

- ``records``: the site has records;
- ``record_open_dangers``, ``record_rectified_dangers``: hidden dangers open (or reopened), and rectified by the
  enterprise but not yet verified by the supervisor;
- ``record_overdue_dangers``: open dangers past their rectification deadline;
- ``record_open_major``: a major hidden danger (重大事故隐患) not yet verified as rectified;
- ``record_violations_12m``: enforcement actions decided in the 12 months up to the scoring date;
- ``record_last_inspection``: the date of the latest inspection that took place;
- ``record_measure_in_force``: ``closure`` or ``suspension`` when such an enforcement measure is in force (not
  lifted) on the scoring date (read by pipelines, as their operating status).

Everything here is pure: columns in, values and factors out.  The points are each class's parameters
(``[<class>.hidden_dangers]`` and ``[<class>.overdue_hidden_dangers]`` in ``geo/risk/model.toml``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from geo.risk.framework import Factor, FactorDef
from geo.risk.inputs import booleans, column, numbers

OPEN_HIDDEN_DANGERS = FactorDef(
    "open_hidden_dangers", "Open (unrectified) hidden dangers; a rectified one awaiting verification counts part",
    "domain.md §8 (hidden dangers, closed by verification); from the records where the site has any, else the "
    "register's count; points [assumption]", "hidden dangers")
OVERDUE_HIDDEN_DANGERS = FactorDef(
    "overdue_hidden_dangers", "Hidden dangers still open past their rectification deadline",
    "domain.md §8 (rectification deadline); from the records only; points [assumption]", "hidden dangers")


def has_records(frame: pd.DataFrame) -> pd.Series:
    """Does each site have records (as of the scoring date)?  False where the frame says nothing."""
    return booleans(frame, "records").fillna(False).astype(bool)


def open_danger_count(frame: pd.DataFrame, rectified_share: float,
                      register: str | None) -> tuple[pd.Series, pd.Series]:
    """(count, missing): the open hidden dangers of each site, a rectified one awaiting verification counting
    ``rectified_share`` of one; from the records where the site has any, else from the register's column
    ``register`` (missing there: NaN and ``missing`` True; no register column at all: 0, not missing)."""
    from_records = has_records(frame)
    counted = (numbers(frame, "record_open_dangers").fillna(0.0)
               + float(rectified_share) * numbers(frame, "record_rectified_dangers").fillna(0.0))
    fallback = numbers(frame, register) if register else pd.Series(0.0, index=frame.index)
    count = counted.where(from_records, fallback)
    return count, count.isna()


def overdue_danger_count(frame: pd.DataFrame) -> pd.Series:
    """Open hidden dangers past their deadline: from the records; NaN (unknown) where the site has none, since
    a register count carries no deadline."""
    return numbers(frame, "record_overdue_dangers").fillna(0.0).where(has_records(frame), np.nan)


def violation_count(frame: pd.DataFrame, register: str | None) -> pd.Series:
    """Violations of the last 12 months: enforcement actions from the records where the site has any, else the
    register's count (NaN where missing, or without a register column)."""
    return numbers(frame, "record_violations_12m").fillna(0.0).where(has_records(frame), numbers(frame, register))


def _dates(values: pd.Series) -> pd.Series:
    dates = pd.to_datetime(values, errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return dates


def last_inspection(frame: pd.DataFrame, register: str | None) -> pd.Series:
    """The last inspection's date (datetime64, NaT where none): the records' latest inspection where the site
    has records and one of them is an inspection that took place; otherwise the register's date (no register
    column: NaT)."""
    recorded = _dates(column(frame, "record_last_inspection"))
    use = has_records(frame) & recorded.notna()
    return recorded.where(use, _dates(column(frame, register)))


def days_since_inspection(frame: pd.DataFrame, register: str | None, as_of: dt.date) -> pd.Series:
    """Days from the last inspection (``last_inspection``) to ``as_of`` (float; NaN where none is known; a date
    after ``as_of`` counts 0)."""
    days = (pd.Timestamp(as_of) - last_inspection(frame, register)).dt.days.astype("float64")
    return days.clip(lower=0.0)


def open_major_danger(frame: pd.DataFrame, register: str | None) -> pd.Series:
    """An open major hidden danger (重大事故隐患), as a nullable boolean: from the records where the site has any
    (unclosed until verified), else the register's flag (NA where the register does not say; without a register
    column, False)."""
    from_records = has_records(frame)
    recorded = booleans(frame, "record_open_major").fillna(False)
    fallback = booleans(frame, register) if register else pd.Series(False, index=frame.index, dtype="boolean")
    return recorded.astype("boolean").where(from_records, fallback)


def capped_points(count: pd.Series, section: dict) -> pd.Series:
    """``points_each`` per item, at most ``max_points`` (a negative count counts 0)."""
    return (count.clip(lower=0.0) * float(section["points_each"])).clip(upper=float(section["max_points"]))


def danger_factors(frame: pd.DataFrame, params: dict, register: str | None = None) -> list[Factor]:
    """The two hidden-danger factors of a class: ``open_hidden_dangers`` (``params["hidden_dangers"]``: points
    per open danger, capped; a register count missing takes its ``assumed_count``, flagged) and
    ``overdue_hidden_dangers`` (``params["overdue_hidden_dangers"]``: points per overdue danger, capped; 0 for a
    site without records, whose register has no deadlines)."""
    p = params["hidden_dangers"]
    count, missing = open_danger_count(frame, float(p["rectified_share"]), register)
    if register:
        count = count.fillna(float(p["assumed_count"]))
    overdue = overdue_danger_count(frame)
    return [
        Factor(OPEN_HIDDEN_DANGERS, count, capped_points(count, p), missing),
        Factor(OVERDUE_HIDDEN_DANGERS, overdue,
               capped_points(overdue.fillna(0.0), params["overdue_hidden_dangers"]),
               pd.Series(False, index=frame.index)),
    ]


def check_danger_params(params: dict, kind: str) -> None:
    """ValueError naming the parameter when the hidden-danger points would break monotonicity (more or later
    dangers never lower a score) or a rectification could weigh more than the open danger."""
    for name in ("hidden_dangers", "overdue_hidden_dangers"):
        section = params[name]
        if section["points_each"] < 0 or section["max_points"] < 0:
            raise ValueError(f"{kind}.{name}: points_each and max_points must not be negative, got "
                             f"{section['points_each']} and {section['max_points']}")
    share = params["hidden_dangers"]["rectified_share"]
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{kind}.hidden_dangers.rectified_share must lie between 0 and 1, got {share}")
