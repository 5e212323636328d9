"""Risk rule for enterprises (production and storage sites): GB 18218 major hazards plus management factors.

Sources: domain.md §1 (GB 18218-2018: S = Σq/Q, R = α·Σβq/Q, α from the people within 500 m, levels 一级 to
四级) and domain.md §2 (four-colour levels; an open 重大事故隐患 is red directly).  Every weight and threshold is
in ``[enterprise]`` of the risk-model configuration (``geo/risk/model.toml``).  Every GB 18218 Q
and β is in ``geo/risk/tables/``.

The score is additive points, times a status multiplier, capped to 0-100:

- ``gb18218_hazard``: a major hazard (S >= 1) scores by its level.  Below the line, points grow with R.
- ``industry``: points per industry sector.
- ``violations_12m`` and ``open_hidden_dangers``: points per item, capped; ``overdue_hidden_dangers``: points
  per danger past its rectification deadline, capped.
- ``inspection_age``: points per year since the last inspection, capped.  No inspection on record means never
  inspected.

Where the site has records (issue 14; domain.md §8), its hidden dangers, violations (enforcement actions of the
last 12 months), open major danger and last inspection come from them (``geo/risk/records.py``); the register's
``open_hidden_dangers``, ``violations_12m``, ``major_hidden_danger`` and ``last_inspection`` are the fallback.
- ``flexible_workers``: points in proportion to the share of dispatched and flexible workers.
- ``operating_status``: the effect of the status multiplier (suspended, closed, under construction), shown as
  negative points.

A missing value is replaced by a conservative one and the factor is flagged *assumed*.  Unknown people within
500 m gives the highest α.  A missing inventory at a chemical-type site is assumed to hold part of a critical
quantity.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from geo.risk.chemicals import inventory_sums
from geo.risk.framework import Factor, FactorDef, RuleResult
from geo.risk.records import check_danger_params, danger_factors, last_inspection, open_major_danger, violation_count

GB18218_HAZARD = FactorDef(
    "gb18218_hazard", "GB 18218 major hazard (R = α·Σβq/Q)",
    "GB 18218-2018 identification (S = Σq/Q >= 1) and grading (R, α, β, levels 一-四级); domain.md §1. "
    "Points per level and below the line: [assumption]", "R")
INDUSTRY = FactorDef("industry", "Industry sector hazard", "[assumption] high-risk sectors first", "")
VIOLATIONS = FactorDef("violations_12m", "Violations in the last 12 months",
                       "[assumption]; from the records' enforcement actions where the site has records (domain.md §8)",
                       "violations")
INSPECTION_AGE = FactorDef("inspection_age", "Time since the last safety inspection",
                           "[assumption]; never inspected scores the maximum", "years")
FLEXIBLE_WORKERS = FactorDef("flexible_workers", "Share of dispatched and flexible workers", "[assumption]",
                             "share")
OPERATING_STATUS = FactorDef("operating_status", "Operating status (multiplier on the points)",
                             "[assumption]; see enterprise.toml [enterprise.status]", "")

DIRECT_RED_MAJOR_HIDDEN_DANGER = "重大事故隐患未整改 (open major hidden danger, domain.md §2)"
DAYS_PER_YEAR = 365.0


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name``, or all-missing when the frame lacks it."""
    if name in frame:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _numbers(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def _check(params: dict) -> None:
    """ValueError naming the parameter when the configuration would break monotonicity."""
    h = params["hazard"]
    level_points = [h[f"level_{k}_points"] for k in (4, 3, 2, 1)]
    if any(b < a for a, b in zip(level_points, level_points[1:], strict=False)):
        raise ValueError(f"enterprise.hazard: level points must not decrease from level 4 to 1, got {level_points}")
    if h["below_major_points_max"] > h["level_4_points"]:
        raise ValueError("enterprise.hazard.below_major_points_max must not exceed level_4_points "
                         f"({h['below_major_points_max']} > {h['level_4_points']})")
    check_danger_params(params, "enterprise")
    if not h["below_major_r_full"] > 0:
        raise ValueError(f"enterprise.hazard.below_major_r_full must be positive, got {h['below_major_r_full']}")
    g = params["gb18218"]
    bounds = list(g["level_min_r"])
    if len(bounds) != 3 or any(b >= a for a, b in zip(bounds, bounds[1:], strict=False)):
        raise ValueError(f"enterprise.gb18218.level_min_r must be three decreasing bounds, got {bounds}")
    bands = [tuple(b) for b in g["alpha_bands"]]
    if any(b[0] >= a[0] or b[1] > a[1] for a, b in zip(bands, bands[1:], strict=False)):
        raise ValueError(f"enterprise.gb18218.alpha_bands must run from the highest band down, got {bands}")


def alpha_from_people(people: np.ndarray, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """α per domain.md §1 from the resident people within 500 m; unknown → ``alpha_unknown``, flagged."""
    unknown = np.isnan(people)
    p = np.ceil(np.clip(np.nan_to_num(people, nan=0.0), 0.0, None))
    bands = params["alpha_bands"]
    alpha = np.full(len(p), float(bands[-1][1]))
    for min_people, value in reversed(bands):  # lowest band first; higher bands overwrite
        alpha = np.where(p >= float(min_people), float(value), alpha)
    return np.where(unknown, float(params["alpha_unknown"]), alpha), unknown


def major_hazard_level(r_value: np.ndarray, params: dict) -> np.ndarray:
    """GB 18218 level 1 (一级) to 4 (四级) from R (domain.md §1): 4 minus the number of bounds reached."""
    bounds = np.asarray(params["level_min_r"], dtype=float)
    return 4 - (r_value[:, None] >= bounds[None, :]).sum(axis=1)


def _capped(count: np.ndarray, section: dict) -> np.ndarray:
    return np.minimum(float(section["max_points"]), float(section["points_each"]) * np.clip(count, 0.0, None))


def score_enterprise(frame: pd.DataFrame, params: dict, as_of: dt.date) -> RuleResult:
    """Score enterprises; ``params`` is ``load_model()["enterprise"]``, ``as_of`` the date inspections age to.

    ``frame`` holds the ENTERPRISE attributes of geo/kinds.py and the context column ``people_500m``: the
    resident population within 500 m outside the site, where NaN means not computed.  ``chemicals`` may be a
    list of {chemical, quantity_t, hazard_category?} dicts, its JSON text, or None.
    """
    _check(params)
    index = frame.index
    g = params["gb18218"]

    # --- GB 18218 (domain.md §1) ---------------------------------------------------------------------------
    industry = _column(frame, "industry").astype(object)
    industry_points_table = params["industry"]["points"]
    industry_known = industry.isin(list(industry_points_table)).to_numpy()
    sums = inventory_sums(_column(frame, "chemicals"), g)
    missing_inventory = ~sums["recorded"].to_numpy() & (
        sums["unreadable"].to_numpy()
        | ~industry_known
        | industry.isin(list(g["missing_inventory_industries"])).to_numpy())
    s_value = np.where(missing_inventory, float(g["missing_inventory_s"]), sums["s_value"].to_numpy())
    beta_sum = np.where(missing_inventory, float(g["missing_inventory_s"]) * float(g["unknown_chemical_beta"]),
                        sums["beta_sum"].to_numpy())
    inventory_assumed = missing_inventory | sums["assumed"].to_numpy()
    alpha, people_unknown = alpha_from_people(_numbers(_column(frame, "people_500m")), g)
    r_value = alpha * beta_sum
    major = s_value >= float(g["major_hazard_min_s"])
    level = major_hazard_level(r_value, g)

    h = params["hazard"]
    level_points = np.array([0.0] + [float(h[f"level_{k}_points"]) for k in (1, 2, 3, 4)])
    below = float(h["below_major_points_max"]) * np.minimum(1.0, r_value / float(h["below_major_r_full"]))
    hazard_points = np.where(major, level_points[level], below)
    hazard_assumed = inventory_assumed | (people_unknown & (beta_sum > 0))

    # --- industry ------------------------------------------------------------------------------------------
    industry_points = np.where(industry_known, industry.map(industry_points_table).to_numpy(dtype=float),
                               float(params["industry"]["unknown"]))

    # --- violations (the records' enforcement actions, else the register's count) ---------------------------
    violations = violation_count(frame, "violations_12m").to_numpy(dtype="float64")
    violations_missing = np.isnan(violations)
    violations = np.where(violations_missing, float(params["violations"]["assumed_count"]), violations)

    # --- time since the last inspection (the records' latest, else the register's date) -----------------------
    last = last_inspection(frame, "last_inspection")
    days = (pd.Timestamp(as_of) - last).dt.days.astype("float64").to_numpy()
    years = np.clip(days, 0.0, None) / DAYS_PER_YEAR
    never_inspected = np.isnan(years)
    insp = params["inspection"]
    inspection_points = np.where(never_inspected, float(insp["max_points"]),
                                 np.minimum(float(insp["max_points"]), float(insp["points_per_year"]) * years))

    # --- dispatched and flexible workers ---------------------------------------------------------------
    share = _numbers(_column(frame, "flexible_worker_share"))
    share_missing = np.isnan(share)
    share = np.clip(np.where(share_missing, float(params["flexible_workers"]["assumed_share"]), share), 0.0, 1.0)
    flexible_points = share * float(params["flexible_workers"]["points_at_full_share"])

    # --- operating status: a multiplier on the points ------------------------------------------------------
    multipliers = params["status"]["multipliers"]
    status = _column(frame, "status").astype(object)
    status_known = status.isin(list(multipliers)).to_numpy()
    status_used = np.where(status_known, status.to_numpy(dtype=object), "operating")
    multiplier = np.where(status_known, status.map(multipliers).to_numpy(dtype=float), float(multipliers["operating"]))

    factors = [
        Factor(GB18218_HAZARD, pd.Series(r_value, index=index), pd.Series(hazard_points, index=index),
               pd.Series(hazard_assumed, index=index)),
        Factor(INDUSTRY, industry.where(industry_known, None), pd.Series(industry_points, index=index),
               pd.Series(~industry_known, index=index)),
        Factor(VIOLATIONS, pd.Series(violations, index=index),
               pd.Series(_capped(violations, params["violations"]), index=index),
               pd.Series(violations_missing, index=index)),
        *danger_factors(frame, params, "open_hidden_dangers"),
        Factor(INSPECTION_AGE, pd.Series(years, index=index), pd.Series(inspection_points, index=index),
               pd.Series(never_inspected, index=index)),
        Factor(FLEXIBLE_WORKERS, pd.Series(share, index=index), pd.Series(flexible_points, index=index),
               pd.Series(share_missing, index=index)),
    ]
    subtotal = np.sum([f.points.to_numpy() for f in factors], axis=0) if len(index) else np.zeros(0)
    scaled = subtotal * multiplier
    factors.append(Factor(OPERATING_STATUS, pd.Series(status_used, index=index, dtype=object),
                          pd.Series(scaled - subtotal, index=index), pd.Series(~status_known, index=index)))

    # --- direct red: an open 重大事故隐患 (domain.md §2), from the records (until verified) or the register ----
    major_danger = open_major_danger(frame, "major_hidden_danger").fillna(False).to_numpy(dtype=bool)
    direct_red = pd.Series(np.where(major_danger, DIRECT_RED_MAJOR_HIDDEN_DANGER, None), index=index, dtype=object)

    return RuleResult(
        score=pd.Series(np.clip(scaled, 0.0, 100.0), index=index, dtype="float64"),
        factors=factors,
        direct_red=direct_red,
        extra={
            "s_value": pd.Series(s_value, index=index, dtype="float64"),
            "r_value": pd.Series(r_value, index=index, dtype="float64"),
            "alpha": pd.Series(alpha, index=index, dtype="float64"),
            "major_hazard": pd.Series(major, index=index, dtype=bool),
            "major_hazard_level": pd.Series(level, index=index, dtype="Int64").where(major, pd.NA),
            "inventory_assumed": pd.Series(inventory_assumed, index=index, dtype=bool),
        },
    )
