"""Crowded venues (人员密集场所): occupant load, vulnerable occupants, exits, fire protection, nearby hazards.

No national scoring standard exists for crowded places (domain.md §5); ``score_venue`` makes the design
suggestion there additive.  Points for the occupant load (stated occupancy, else floor area x GB 50016 §5.5.21
density), vulnerable occupants (GB 32167 特定场所Ⅰ, the 高敏感 class of domain.md §7), a blocked or locked exit,
exit width below the code (GB 35181: below 80 % is a direct item), too few exits, missing sprinklers or fire
alarm, the time since the last fire inspection, and hazards within reach (GB 18218 major hazards and hazardous
sites within 500 m, pipelines whose impact radius reaches the venue, domain.md §1, §4) are summed, multiplied by
a status factor and capped to 0-100.  Every weight is in ``[venue]`` of the model configuration
(``geo/risk/model.toml``).

GB 35181-2025 《重大火灾隐患判定规则》 is the current standard; the items cited are GB 35181-2017's, the basis
until the 2025 text is checked (domain.md addendum).

Direct red (domain.md §2): a stated blocked or locked exit in a crowded venue, i.e. one whose occupant load from
the stated occupancy or floor area reaches ``occupant_load.crowded_threshold`` (a venue stated closed is exempt).
An assumed load or an unknown exit state raises the score, never the level by itself.  An open major hidden
danger of the venue's records (e.g. a GB 35181 重大火灾隐患), not yet verified as rectified, is direct red too.

Where the venue has records (issue 14; domain.md §8), its latest inspection that took place is its last inspection
(the register's ``last_fire_inspection`` is the fallback), and its open and overdue hidden dangers score
(``geo/risk/records.py``; the register has no count of them).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from geo.kinds import OPERATING_STATUS, VENUE_TYPES
from geo.risk.config import ModelConfigError
from geo.risk.framework import Factor, FactorDef, RuleResult
from geo.risk.inputs import age_points as _age_points
from geo.risk.inputs import booleans as _booleans
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

OCCUPANT_LOAD = FactorDef(
    "occupant_load",
    "Occupant load (stated occupancy, else floor area x density)",
    "GB 50016-2014 (2018 ed.) §5.5.21; domain.md §5; points [assumption]",
    "people",
)
VULNERABILITY = FactorDef(
    "vulnerable_occupants",
    "Vulnerable occupants, hard to evacuate (hospital, nursing home, kindergarten, school)",
    "GB 32167-2015 特定场所Ⅰ; GB 36894-2018 高敏感; domain.md §4, §5, §7; points [assumption]",
    "",
)
EXITS_BLOCKED = FactorDef(
    "exits_blocked",
    "An exit blocked or locked",
    "GB 35181-2025 (basis GB 35181-2017 7.3.3); domain.md §2, §5 and addendum",
    "",
)
EXIT_WIDTH = FactorDef(
    "exit_width_ratio",
    "Total exit width as a share of the code value",
    "GB 35181-2025 (basis GB 35181-2017 6.5: < 80 %); domain.md §5 and addendum",
    "ratio",
)
EXIT_COUNT = FactorDef(
    "exit_count",
    "Safety exits (too few for the occupant load)",
    "GB 35181-2025 (basis GB 35181-2017 6.5); GB 50016-2014 §5.5.8 [R]; domain.md §5",
    "exits",
)
SPRINKLERS = FactorDef(
    "sprinklers",
    "Automatic sprinklers present and working",
    "GB 35181-2025 (basis GB 35181-2017 6.6); domain.md §5 and addendum",
    "",
)
FIRE_ALARM = FactorDef(
    "fire_alarm",
    "Fire alarm present and working",
    "GB 35181-2025 (basis GB 35181-2017 6.6); domain.md §5 and addendum",
    "",
)
INSPECTION = FactorDef(
    "fire_inspection_age", "Time since the last fire inspection", "[assumption] riskmap model.toml", "days"
)
MAJOR_HAZARDS = FactorDef(
    "major_hazards_500m",
    "GB 18218 major-hazard enterprises within 500 m",
    "GB 18218-2018 (500 m exposure ring); domain.md §1; points [assumption]",
    "enterprises",
)
HAZARDOUS_SITES = FactorDef(
    "hazardous_sites_500m",
    "Enterprises in hazardous industries within 500 m",
    "domain.md §1 (500 m ring) [assumption]",
    "enterprises",
)
PIPELINES = FactorDef(
    "pipelines_in_impact_radius",
    "Pipeline segments whose impact radius reaches the venue",
    "GB 32167-2015 PIR; ASME B31.8S; domain.md §4; points [assumption]",
    "segments",
)
STATUS = FactorDef(
    "status", "Operating status (multiplier on the summed points)", "[assumption] riskmap model.toml", ""
)

FACTORS = (
    OCCUPANT_LOAD,
    VULNERABILITY,
    EXITS_BLOCKED,
    EXIT_WIDTH,
    EXIT_COUNT,
    SPRINKLERS,
    FIRE_ALARM,
    INSPECTION,
    MAJOR_HAZARDS,
    HAZARDOUS_SITES,
    PIPELINES,
    OPEN_HIDDEN_DANGERS,
    OVERDUE_HIDDEN_DANGERS,
    STATUS,
)



# --- input helpers (vectorised) ------------------------------------------------------------------------------


def _flag_points(flag: pd.Series, points_if: float, points_if_not: float, points_if_unknown: float) -> pd.Series:
    """Points for a nullable boolean: ``points_if`` where True, ``points_if_not`` where False, else unknown."""
    known = flag.notna().to_numpy(bool)
    value = flag.fillna(False).to_numpy(bool)
    return pd.Series(np.where(known, np.where(value, points_if, points_if_not), points_if_unknown), index=flag.index)


def _nullable_object(flag: pd.Series) -> pd.Series:
    return flag.astype("object").where(flag.notna(), None)


# --- occupant load -------------------------------------------------------------------------------------------


def occupant_density(venue_type: pd.Series, storey: pd.Series, params: dict) -> tuple[pd.Series, pd.Series]:
    """Density (persons/m2) by venue type and storey, and whether it was assumed (shop storey unknown).

    Shops (``density.shop_types``) use the GB 50016 §5.5.21 storey densities (domain.md §5); other types use
    ``density.by_type``.  ``venue_type`` must already be canonical (missing replaced by the assumed type).
    """
    d = params["density"]
    by_storey = d["shop_by_storey"]
    s = storey.to_numpy("float64")
    shop_density = np.select(
        [s <= -2, s == -1, s <= 2, s == 3, s >= 4],
        [by_storey["b2_and_below"], by_storey["b1"], by_storey["f1_f2"], by_storey["f3"], by_storey["f4_and_above"]],
        default=float(d["shop_if_storey_unknown"]),  # NaN storey
    )
    is_shop = venue_type.isin(d["shop_types"]).to_numpy(bool)
    other = venue_type.map(d["by_type"])
    lacking = venue_type.notna() & ~venue_type.isin(d["shop_types"]) & other.isna()
    if lacking.any():
        raise ModelConfigError(f"venue.density.by_type: no density for {sorted(set(venue_type[lacking]))!r}")
    density = pd.Series(np.where(is_shop, shop_density, other.to_numpy("float64")), index=venue_type.index)
    assumed = pd.Series(is_shop & np.isnan(s), index=venue_type.index)
    return density, assumed


def _band_points(values: pd.Series, lower_bounds: list[float], points: list[float]) -> pd.Series:
    """points[i] for values in [lower_bounds[i-1], lower_bounds[i]); points[0] below the first bound."""
    b = np.asarray(lower_bounds, dtype="float64")
    pts = np.asarray(points, dtype="float64")
    if len(pts) != len(b) + 1 or np.any(np.diff(b) <= 0):
        raise ModelConfigError(
            "venue.occupant_load: band_points needs one more entry than band_lower_bounds, and the bounds must increase"
        )
    return pd.Series(pts[np.searchsorted(b, values.to_numpy("float64"), side="right")], index=values.index)


def _count_factor(frame: pd.DataFrame, column: str, p: dict) -> tuple[pd.Series, pd.Series, pd.Series]:
    """A nearby-hazard count: value used (NaN -> assumed), points (each x count, capped) and assumed flag."""
    count = _numbers(frame, column)
    assumed = count.isna()
    used = count.fillna(float(p["assumed"])).clip(lower=0.0)
    points = (used * float(p["points_each"])).clip(upper=float(p["max_points"]))
    return used, points, assumed


# --- the rule ------------------------------------------------------------------------------------------------


def score_venue(frame: pd.DataFrame, params: dict, as_of: dt.date) -> RuleResult:
    """Score crowded venues 0-100 with their factors and direct-red reasons (domain.md §2, §4, §5, §7).

    ``frame``: the VENUE attributes of geo/kinds.py plus the PostGIS context columns ``major_hazards_500m``,
    ``hazardous_sites_500m`` and ``pipelines_in_impact_radius``.  ``params`` is ``load_model()["venue"]``;
    ``as_of`` the date inspection ages are measured to.

    extra: ``occupant_load`` (people, the value scored) and ``vulnerable`` (bool: a type with vulnerability
    points).
    """
    idx = frame.index
    check_danger_params(params, "venue")

    # venue type
    type_stated = _enum(frame, "venue_type", VENUE_TYPES)
    type_assumed = type_stated.isna()
    venue_type = type_stated.where(~type_assumed, params["density"]["assumed_type"])

    # occupant load: stated occupancy, else floor area x density (GB 50016 §5.5.21), else assumed
    lp = params["occupant_load"]
    occupancy = _numbers(frame, "occupancy").clip(lower=0.0)
    area = _numbers(frame, "floor_area_m2").clip(lower=0.0)
    storey = _numbers(frame, "storey")
    density, density_assumed = occupant_density(venue_type, storey, params)
    from_area = np.ceil(area * density - 1e-9)  # whole people, rounded up (the 1e-9 absorbs float noise)
    load_known = occupancy.notna() | area.notna()
    load = occupancy.fillna(from_area).fillna(float(lp["assumed"]))
    load_assumed = ~load_known | (occupancy.isna() & (density_assumed | type_assumed))
    load_points = _band_points(load, lp["band_lower_bounds"], lp["band_points"])

    # vulnerable occupants
    vp = params["vulnerability"]
    vulnerable_points = venue_type.map(vp["points"]).astype("float64").fillna(0.0)
    vulnerable_points = vulnerable_points.where(~type_assumed, float(vp["points_if_unknown"]))
    vulnerable = type_stated.isin([t for t, pts in vp["points"].items() if float(pts) > 0])

    # exits: blocked or locked, width, count
    blocked = _booleans(frame, "exits_blocked")
    bp = params["exits_blocked"]
    blocked_points = _flag_points(blocked, float(bp["points"]), 0.0, float(bp["points_if_unknown"]))

    ratio = _numbers(frame, "exit_width_ratio")
    wp = params["exit_width"]
    width_points = pd.Series(
        np.select(
            [ratio.isna(), ratio < float(wp["threshold_ratio"]), ratio < 1.0],
            [float(wp["points_if_unknown"]), float(wp["points_below_threshold"]), float(wp["points_below_code"])],
            default=0.0,
        ),
        index=idx,
    )

    exits = _numbers(frame, "exits")
    ep = params["exit_count"]
    single_allowed = (
        (load <= float(ep["single_exit_max_load"]))
        & (area <= float(ep["single_exit_max_area_m2"])).fillna(False)
        & ~venue_type.isin(ep["two_exits_always"])
    )
    required = pd.Series(np.where(single_allowed, 1.0, float(ep["required"])), index=idx)
    shortfall = (required - exits).clip(lower=0.0)
    exit_points = (shortfall * float(ep["points_per_missing_exit"])).clip(upper=float(ep["max_points"]))
    exit_points = exit_points.fillna(float(ep["points_if_unknown"]))

    # fire protection
    sprinklers = _booleans(frame, "sprinklers")
    sp = params["sprinklers"]
    sprinkler_points = _flag_points(sprinklers, 0.0, float(sp["points"]), float(sp["points_if_unknown"]))
    alarm = _booleans(frame, "fire_alarm")
    ap = params["fire_alarm"]
    alarm_points = _flag_points(alarm, 0.0, float(ap["points"]), float(ap["points_if_unknown"]))

    days = days_since_inspection(frame, "last_fire_inspection", as_of)  # the records' latest, else the register's
    inspection_points = _age_points(days, params["inspection"])

    # hazards within reach
    hp = params["nearby_hazards"]
    majors, major_points, majors_assumed = _count_factor(frame, "major_hazards_500m", hp["major_hazards"])
    sites, site_points, sites_assumed = _count_factor(frame, "hazardous_sites_500m", hp["hazardous_sites"])
    pipes, pipe_points, pipes_assumed = _count_factor(frame, "pipelines_in_impact_radius", hp["pipelines"])

    # open and overdue hidden dangers, from the records
    dangers = danger_factors(frame, params)

    # status multiplier
    status_stated = _enum(frame, "status", OPERATING_STATUS)
    status_assumed = status_stated.isna()
    status = status_stated.where(~status_assumed, params["status"]["assumed"])
    multiplier = status.map(params["status"]["multipliers"])
    if multiplier.isna().any():
        raise ModelConfigError(f"venue.status.multipliers: no value for {sorted(set(status[multiplier.isna()]))!r}")
    multiplier = multiplier.astype("float64")

    raw = (
        load_points
        + vulnerable_points
        + blocked_points
        + width_points
        + exit_points
        + sprinkler_points
        + alarm_points
        + inspection_points
        + major_points
        + site_points
        + pipe_points
        + dangers[0].points
        + dangers[1].points
    )
    status_points = raw * (multiplier - 1.0)
    score = (raw * multiplier).clip(0.0, 100.0)

    factors = [
        Factor(OCCUPANT_LOAD, load, load_points, load_assumed),
        Factor(VULNERABILITY, venue_type, vulnerable_points, type_assumed),
        Factor(EXITS_BLOCKED, _nullable_object(blocked), blocked_points, blocked.isna()),
        Factor(EXIT_WIDTH, ratio, width_points, ratio.isna()),
        Factor(EXIT_COUNT, exits, exit_points, exits.isna()),
        Factor(SPRINKLERS, _nullable_object(sprinklers), sprinkler_points, sprinklers.isna()),
        Factor(FIRE_ALARM, _nullable_object(alarm), alarm_points, alarm.isna()),
        Factor(INSPECTION, days, inspection_points, days.isna()),
        Factor(MAJOR_HAZARDS, majors, major_points, majors_assumed),
        Factor(HAZARDOUS_SITES, sites, site_points, sites_assumed),
        Factor(PIPELINES, pipes, pipe_points, pipes_assumed),
        *dangers,
        Factor(STATUS, status, status_points, status_assumed),
    ]

    # direct red (domain.md §2): a stated blocked exit where the stated occupancy or floor area makes it crowded
    crowded = load_known & (load >= float(lp["crowded_threshold"]))
    dr = params["direct_red"]
    red = (
        blocked.fillna(False).to_numpy(bool)
        & crowded.to_numpy(bool)
        & ~status_stated.isin(dr["exempt_statuses"]).to_numpy(bool)
    )
    if not dr["exits_blocked_in_crowded_venue"]:
        red[:] = False
    reason = (
        "exit blocked or locked in a crowded venue (occupant load "
        + load.fillna(0).round().astype("int64").astype(str)
        + ")"
    )
    exits_reason = reason.astype("object").where(red, "")
    # an open major hidden danger of the records (unclosed until verified), domain.md §2, §8
    major = open_major_danger(frame, None).fillna(False).to_numpy(bool)
    major_reason = pd.Series(np.where(major, "open major hidden danger (重大事故隐患)", ""), index=idx, dtype=object)
    joined = exits_reason + np.where((exits_reason != "") & (major_reason != ""), "; ", "") + major_reason
    direct_red = joined.where(joined != "", None).rename(None)

    extra = {
        "occupant_load": load.rename("occupant_load"),
        "vulnerable": vulnerable.astype(bool).rename("vulnerable"),
    }
    return RuleResult(score=score.astype("float64"), factors=factors, direct_red=direct_red, extra=extra)
