"""Tailings ponds (尾矿库): grade, safety state, overhead pond and population at risk (domain.md §2, §3).

``score_tailings_pond`` adds points for the pond's grade (等别, from dam height and capacity), its safety state
(正常/病/险/危, AQ 2006-2005), whether it is an overhead pond (头顶库: residents or important facilities within
1 km downstream), the GISTM consequence class of the population at risk, the facilities downstream, the time
since the last inspection, an open major hidden danger and the open and overdue hidden dangers of its records;
multiplies the sum by a status factor (a closed pond
counts less, but not zero); and caps the result to 0-100.  Every weight is in ``[tailings_pond]`` of the model
configuration (``geo/risk/model.toml``).

Direct red (domain.md §2, §3): a 危 or 险 pond, an overhead pond in state 病 or worse, an open major hidden
danger.  Direct red rests only on stated data: an assumed state or an assumed overhead status raises the score,
never the level by itself.

Where the pond has records (issue 14; domain.md §8), its last inspection and its open major hidden danger come
from them (``geo/risk/records.py``), the register's ``last_inspection`` and ``major_hidden_danger`` being the
fallback; its open and overdue hidden dangers are scored from the records only (the register has no count).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from geo.kinds import OPERATING_STATUS, POND_SAFETY_STATES
from geo.risk.config import ModelConfigError
from geo.risk.framework import Factor, FactorDef, RuleResult
from geo.risk.inputs import age_points as _age_points
from geo.risk.inputs import column as _column
from geo.risk.inputs import enum as _enum
from geo.risk.inputs import numbers as _numbers
from geo.risk.records import (
    OPEN_HIDDEN_DANGERS,
    OVERDUE_HIDDEN_DANGERS,
    check_danger_params,
    danger_factors,
    days_since_inspection,
    open_major_danger,
)

STATE_NAMES_ZH = {"normal": "正常库", "ill": "病库", "dangerous": "险库", "critical": "危库"}

GRADE = FactorDef(
    "grade",
    "Grade (等别) from dam height and capacity",
    "GB 39496-2020 §4.5 / AQ 2006-2005 = GB 50863-2013 Table 3.2.1 and §3.3.1; domain.md §3",
    "grade 1 (一)..5 (五)",
)
SAFETY_STATE = FactorDef("safety_state", "Safety state (安全度 正常/病/险/危)", "AQ 2006-2005 ch. 8; domain.md §3", "")
OVERHEAD = FactorDef(
    "overhead",
    "Overhead pond (头顶库): residents or important facilities within 1 km downstream",
    "安监总管一〔2016〕54号; 应急〔2020〕15号; domain.md §3",
    "",
)
POPULATION_AT_RISK = FactorDef(
    "population_at_risk",
    "Population at risk downstream (GISTM consequence class)",
    "GISTM (2020) Annex 2 (population-at-risk column); domain.md §3 and addendum",
    "people",
)
DOWNSTREAM_FACILITIES = FactorDef(
    "downstream_facilities",
    "Important facilities (crowded venues) within 1 km downstream",
    "domain.md §3 (头顶库 definition); points [assumption]",
    "facilities",
)
INSPECTION = FactorDef(
    "inspection_age", "Time since the last safety inspection", "[assumption] riskmap model.toml", "days"
)
MAJOR_HIDDEN_DANGER = FactorDef(
    "major_hidden_danger",
    "Open major hidden danger (重大事故隐患, one of the 12 tailings criteria)",
    "domain.md §2, §3",
    "",
)
STATUS = FactorDef(
    "status", "Operating status (multiplier on the summed points)", "[assumption] riskmap model.toml", ""
)

FACTORS = (
    GRADE,
    SAFETY_STATE,
    OVERHEAD,
    POPULATION_AT_RISK,
    DOWNSTREAM_FACILITIES,
    INSPECTION,
    MAJOR_HIDDEN_DANGER,
    OPEN_HIDDEN_DANGERS,
    OVERDUE_HIDDEN_DANGERS,
    STATUS,
)



# --- input helpers (vectorised) ------------------------------------------------------------------------------


def _join_reasons(parts, index: pd.Index) -> pd.Series:
    """Join per-row reason texts ('' = none) with '; '; None where a row has no reason."""
    text = pd.Series("", index=index, dtype="object")
    for part in parts:
        part = pd.Series(part, index=index, dtype="object")
        sep = np.where((text != "") & (part != ""), "; ", "")
        text = text + sep + part
    return text.where(text != "", None).rename(None)


# --- grade ---------------------------------------------------------------------------------------------------


def _bounds(table: dict, key: str) -> np.ndarray:
    try:
        b = np.asarray(table[key], dtype="float64")
    except KeyError:
        raise ModelConfigError(f"tailings_pond grade table: missing {key!r}") from None
    if b.shape != (4,) or np.any(np.isnan(b)) or np.any(np.diff(b) > 0):
        raise ModelConfigError(
            f"tailings_pond grade table {key!r}: expected 4 lower bounds for grades 一..四 that do not "
            f"increase, got {table[key]!r}"
        )
    return b


def _grade_from(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Grade 1..5 from one criterion: 5 minus the number of lower bounds reached (NaN where missing)."""
    reached = (values[:, None] >= bounds[None, :]).sum(axis=1).astype("float64")
    return np.where(np.isnan(values), np.nan, 5.0 - reached)


def pond_grade(height, capacity, table: dict):
    """Grade (等别) 1 (一, highest) .. 5 (五) from dam height H (m) and capacity V (10^4 m3); domain.md §3.

    ``table`` is one entry of ``[tailings_pond.grade_tables]``: lower bounds for grades 一..四 of
    ``capacity_10k_m3`` and ``dam_height_m``.  The grades from V and from H are combined by the mismatch rule of
    AQ 2006-2005 / GB 50863-2013 §3.3.1: if they differ by one grade the higher applies; if by more, the higher
    lowered by one.  If H or V is missing, the grade comes from the other alone; if both are missing the result
    is missing (NaN for arrays, None for scalars): the caller substitutes its assumed grade.

    Scalars give an int (or None); array-likes give a float ndarray (NaN where both inputs are missing).

    >>> table = {"capacity_10k_m3": [float("inf"), 10000, 1000, 100], "dam_height_m": [float("inf"), 100, 60, 30]}
    >>> pond_grade(45.0, 500.0, table)   # 四 from V and 四 from H
    4
    >>> pond_grade(110.0, 50.0, table)   # 二 from H, 五 from V: differ by 3, so 二 lowered by one = 三
    3
    >>> pond_grade(None, 20000.0, table)  # H missing: 二 from V alone (AQ 2006 never gives 一)
    2
    """
    scalar = np.ndim(height) == 0 and np.ndim(capacity) == 0
    h = pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(height, dtype=object))), errors="coerce").to_numpy("float64")
    v = pd.to_numeric(pd.Series(np.atleast_1d(np.asarray(capacity, dtype=object))), errors="coerce").to_numpy("float64")
    h, v = np.broadcast_arrays(h, v)
    g_h = _grade_from(h, _bounds(table, "dam_height_m"))
    g_v = _grade_from(v, _bounds(table, "capacity_10k_m3"))
    higher = np.fmin(g_h, g_v)  # fmin: the other criterion alone where one is missing
    mismatch = np.abs(g_h - g_v) > 1  # False where either is missing (NaN comparisons are False)
    grade = np.where(mismatch, higher + 1.0, higher)
    if scalar:
        return None if math.isnan(grade[0]) else int(grade[0])
    return grade


# --- the rule ------------------------------------------------------------------------------------------------


def _lookup(values: pd.Series, table: dict, what: str) -> pd.Series:
    """Map canonical enum values to numbers from a params table; ModelConfigError if a value has no entry."""
    out = values.map(table)
    missing = values.notna() & out.isna()
    if missing.any():
        raise ModelConfigError(f"tailings_pond.{what}: no value for {sorted(set(values[missing]))!r}")
    return out.astype("float64")


def score_tailings_pond(frame: pd.DataFrame, params: dict, as_of: dt.date) -> RuleResult:
    """Score tailings ponds 0-100 with their factors and direct-red reasons (domain.md §2, §3).

    ``frame``: the TAILINGS_POND attributes of geo/kinds.py plus the PostGIS context columns
    ``downstream_people_1km``, ``downstream_facilities_1km`` and ``downstream_area`` ('sector' along
    downstream_direction_deg, or 'circle' when the direction is unknown).  ``params`` is
    ``load_model()["tailings_pond"]``; ``as_of`` the date inspection ages are measured to.

    extra: ``grade`` (1..5, 1 = 一), ``overhead`` (bool, the value scored), ``population_at_risk`` (people) and
    ``gistm_class`` (text).
    """
    idx = frame.index
    n = len(frame)
    check_danger_params(params, "tailings_pond")

    # grade (等别), domain.md §3
    table_name = params["grade_table"]
    tables = params["grade_tables"]
    if table_name not in tables:
        raise ModelConfigError(f"tailings_pond.grade_table: {table_name!r} is not one of {sorted(tables)}")
    height = _numbers(frame, "dam_height_m")
    capacity = _numbers(frame, "capacity_10k_m3")
    grade_raw = pd.Series(
        pond_grade(height.to_numpy(), capacity.to_numpy(), tables[table_name]) if n else np.empty(0),
        index=idx,
        dtype="float64",
    )
    grade_assumed = height.isna() | capacity.isna()
    grade = grade_raw.fillna(float(params["grade"]["assumed"])).astype("int64")
    grade_points_table = dict(enumerate(params["grade"]["points"], start=1))
    grade_points = grade.map(grade_points_table).astype("float64")

    # safety state (安全度)
    state_stated = _enum(frame, "safety_state", POND_SAFETY_STATES)
    state_assumed = state_stated.isna()
    state = state_stated.where(~state_assumed, params["safety_state"]["assumed"])
    state_points = _lookup(state, params["safety_state"]["points"], "safety_state.points")

    # downstream: people, facilities, overhead (头顶库), population at risk (GISTM class)
    people = _numbers(frame, "downstream_people_1km")
    registered = _numbers(frame, "downstream_population")
    facilities = _numbers(frame, "downstream_facilities_1km")
    direction = _numbers(frame, "downstream_direction_deg")
    area = _column(frame, "downstream_area").astype("string").str.strip().str.lower()
    circle = (area == "circle").fillna(False) | (area.isna() & direction.isna())
    par_p = params["population_at_risk"]
    known_par = pd.concat([people, registered], axis=1).max(axis=1, skipna=True)
    par_assumed = known_par.isna() | (people.notna() & circle & ~(registered >= people))
    par = known_par.fillna(float(par_p["assumed"]))
    bounds = np.asarray(par_p["class_upper_bounds"], dtype="float64")
    class_index = np.searchsorted(bounds, par.to_numpy(), side="left")  # boundary values fall in the lower class
    gistm_class = pd.Series(np.asarray(par_p["class_names"], dtype=object)[class_index], index=idx, dtype="object")
    par_points = pd.Series(np.asarray(par_p["class_points"], dtype="float64")[class_index], index=idx)

    fac_p = params["downstream_facilities"]
    facilities_assumed = facilities.isna()
    facilities_used = facilities.fillna(float(fac_p["assumed"])).clip(lower=0.0)
    facility_points = (facilities_used * float(fac_p["points_per_facility"])).clip(upper=float(fac_p["max_points"]))

    circle_ok = bool(params["overhead"]["circle_establishes_overhead"])
    counted = (people.fillna(0) > 0) & (circle_ok | ~circle)
    fac_counted = (facilities.fillna(0) > 0) & (circle_ok | ~circle)
    overhead_by_data = counted | fac_counted | (registered.fillna(0) > 0)
    overhead = (par > 0) | (facilities_used > 0)
    overhead_assumed = overhead & ~overhead_by_data
    overhead_points = overhead.astype("float64") * float(params["overhead"]["points"])

    # time since the last inspection (the records' latest, else the register's date)
    days = days_since_inspection(frame, "last_inspection", as_of)
    inspection_points = _age_points(days, params["inspection"])

    # major hidden danger (重大事故隐患): the records' (unclosed until verified), else the register's flag
    mhd = open_major_danger(frame, "major_hidden_danger")
    mhd_p = params["major_hidden_danger"]
    mhd_points = pd.Series(
        np.where(
            mhd.isna(), float(mhd_p["points_if_unknown"]), np.where(mhd.fillna(False), float(mhd_p["points"]), 0.0)
        ),
        index=idx,
    )

    # status multiplier
    status_stated = _enum(frame, "status", OPERATING_STATUS)
    status_assumed = status_stated.isna()
    status = status_stated.where(~status_assumed, params["status"]["assumed"])
    multiplier = _lookup(status, params["status"]["multipliers"], "status.multipliers")

    # open and overdue hidden dangers, from the records
    dangers = danger_factors(frame, params)

    raw = (grade_points + state_points + overhead_points + par_points + facility_points + inspection_points
           + mhd_points + dangers[0].points + dangers[1].points)
    status_points = raw * (multiplier - 1.0)
    score = (raw * multiplier).clip(0.0, 100.0)

    factors = [
        Factor(GRADE, grade, grade_points, grade_assumed),
        Factor(SAFETY_STATE, state, state_points, state_assumed),
        Factor(OVERHEAD, overhead, overhead_points, overhead_assumed),
        Factor(POPULATION_AT_RISK, par, par_points, par_assumed),
        Factor(DOWNSTREAM_FACILITIES, facilities_used, facility_points, facilities_assumed),
        Factor(INSPECTION, days, inspection_points, days.isna()),
        Factor(MAJOR_HIDDEN_DANGER, mhd.astype("object").where(mhd.notna(), None), mhd_points, mhd.isna()),
        *dangers,
        Factor(STATUS, status, status_points, status_assumed),
    ]

    # direct red (domain.md §2, §3): stated data only
    dr = params["direct_red"]
    state_text = (
        state_stated.map(STATE_NAMES_ZH).fillna("").astype(str)
        + " (safety state "
        + state_stated.fillna("").astype(str)
        + ")"
    )
    parts = (
        np.where(state_stated.isin(dr["states"]), state_text, ""),
        np.where(
            overhead_by_data & state_stated.isin(dr["overhead_states"]), "overhead pond (头顶库), " + state_text, ""
        ),
        np.where(mhd.fillna(False).to_numpy(bool), "open major hidden danger (重大事故隐患)", ""),
    )
    direct_red = _join_reasons(parts, idx)

    extra = {
        "grade": grade.astype("Int64").rename("grade"),
        "overhead": overhead.astype(bool).rename("overhead"),
        "population_at_risk": par.rename("population_at_risk"),
        "gistm_class": gistm_class.rename("gistm_class"),
    }
    return RuleResult(score=score.astype("float64"), factors=factors, direct_red=direct_red, extra=extra)
