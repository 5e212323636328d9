"""Pipelines (oil, gas and hazardous-chemical lines), scored per segment of about 1 km (domain.md §2, §4).

``score_pipeline`` adds points for the segment's consequence (the GB 50251 location class and the GB 32167
high-consequence-area grade) and its likelihood of damage (enterprise sites in the zones of the Oil and Gas
Pipeline Protection Law, construction and mining within 200 m, the line's age, and a Muhlbauer relative risk);
caps the sum to 0-100; and multiplies it by a status factor (a closed line counts less, not zero).  Every weight
and threshold is in ``[pipeline]`` of the model configuration (``geo/risk/model.toml``).

Direct red (domain.md §2, §4): an enterprise site inside the ±5 m zone of Art. 30 of the Protection Law, where
any building or structure is prohibited, read as a 重大事故隐患 [assumption].  Only an observed count triggers
it.  And an open major hidden danger in the pipeline's records.

The pipeline's records (issue 14 item 5; ``geo/risk/records.py``) reach every segment of it (a record names the
line, not a place on it): its open and overdue hidden dangers and its enforcement actions of the last 12 months
add points (``[pipeline.hidden_dangers]``, ``[pipeline.overdue_hidden_dangers]``, ``[pipeline.violations]``), an
open major one is direct red, a suspension or closure in force sets the status multiplier
(``[pipeline.enforcement]``), and the age of its last inspection sets the patrol item of the third-party index
(``[pipeline.patrol]``).  A line without records scores as before.

The segmentation and the spatial context (households, 特定场所, enterprises in the zones...) come from PostGIS
(``geo/risk/sql/pipeline_segment_context.sql``); a context count that is NaN was not computed and takes the
conservative value of ``[pipeline.assumed]``, flagged assumed.  The caller computes the 特定场所 counts within
the impact distance with :func:`impact_distance_m`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from geo.kinds import OPERATING_STATUS, PIPELINE_MEDIA
from geo.risk.config import ModelConfigError
from geo.risk.framework import Factor, FactorDef, RuleResult
from geo.risk.inputs import column as _column
from geo.risk.inputs import enum as _enum
from geo.risk.inputs import numbers as _numbers
from geo.risk.records import (
    capped_points,
    check_danger_params,
    danger_factors,
    days_since_inspection,
    has_records,
    open_major_danger,
    violation_count,
)

# r = 0.099·d·√p (m; d outside diameter in mm; p MAOP in MPa): GB 32167 / the SI form of ASME B31.8S
# r = 0.69·d·√p in ft, in and psi (0.69 × 0.3048 / 25.4 × √145.04 = 0.0997, rounded to 0.099); domain.md §4.
PIR_COEFFICIENT = 0.099

GAS = "natural_gas"
LOCATION_CLASSES = ("1-1", "1-2", "2", "3", "4")  # GB 50251 一级一类, 一级二类, 二级, 三级, 四级
LOCATION_CLASS_NAMES_ZH = {"1-1": "一级一类", "1-2": "一级二类", "2": "二级", "3": "三级", "4": "四级"}
HCA_GRADE_NAMES = {0: "none", 1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ"}

# GB 32167-2015 conditions (domain.md §4); their grades are in [pipeline.hca.grades].
HCA_CONDITIONS = {
    "oil_a": "oil a) class-4 area",
    "oil_b": "oil b) >= 100 households within ±200 m",
    "oil_c": "oil c) village of >= 50 households within 200 m",
    "oil_d": "oil d) flammable/explosive site within 50 m",
    "gas_a": "gas a) class-4 area",
    "gas_b": "gas b) class-3 area",
    "gas_c": "gas c) large high-pressure line, 特定场所 within the PIR",
    "gas_d": "gas d) small low-pressure line, 特定场所 within the PIR",
    "gas_e": "gas e) other line, 特定场所 within 200 m",
    "gas_f": "gas f) fuel station or oil depot within 200 m",
}
HCA_NOT_ASSESSED = ("oil lines: roads and railways within 50 m (d), wetlands, forests and reserves within 200 m (e), "
                    "water sources, rivers and reservoirs within 200 m (f): no layer in riskmap")

LOCATION_CLASS = FactorDef(
    "location_class", "Location class (地区等级) from households in the 2 km unit",
    "GB 50251-2015 §4.2; domain.md §4", "class 1-1 .. 4")
HCA_GRADE = FactorDef(
    "hca_grade", "High-consequence-area grade (高后果区 0 = none, 1 = Ⅰ, 2 = Ⅱ, 3 = Ⅲ)",
    "GB 32167-2015 Tables 1-2; domain.md §4 (gas e/f grades: CONFLICT, see pipeline.toml)", "grade")
HCA_TRIGGERS = FactorDef(
    "hca_conditions", f"GB 32167 conditions met (not assessed: {HCA_NOT_ASSESSED})",
    "GB 32167-2015 Tables 1-2; domain.md §4", "")
ZONE_ENTERPRISES = FactorDef(
    "protection_zone_enterprises", "Enterprise sites in the pipeline protection zones (5 m / 50 m / 200 m)",
    "Oil and Gas Pipeline Protection Law Art. 30, 35; domain.md §4; points [assumption]", "enterprises")
CONSTRUCTION = FactorDef(
    "construction_200m", "Enterprises under construction within 200 m (Art. 35 permit zone)",
    "Oil and Gas Pipeline Protection Law Art. 35; domain.md §4; points [assumption]", "enterprises")
MINING = FactorDef(
    "mining_200m", "Mining enterprises within 200 m (blasting, excavation: Art. 35 permit zone)",
    "Oil and Gas Pipeline Protection Law Art. 35; domain.md §4; points [assumption]", "enterprises")
AGE = FactorDef("age", "Age of the line (as_of year − year_built)", "[assumption] pipeline.toml", "years")
INDEX_SUM = FactorDef(
    "index_sum", "Muhlbauer index sum (third-party damage + corrosion + design + incorrect operations; "
    "higher = safer; scored through relative_risk)", "Muhlbauer, Pipeline Risk Management Manual; domain.md §4",
    "points 0-400")
LEAK_IMPACT = FactorDef(
    "leak_impact_factor", "Muhlbauer leak impact factor (product hazard × leak volume × dispersion × receptors; "
    "scored through relative_risk)", "Muhlbauer, Pipeline Risk Management Manual; domain.md §4", "")
RELATIVE_RISK = FactorDef(
    "relative_risk", "Muhlbauer relative risk = index sum / leak impact factor (higher = safer)",
    "Muhlbauer, Pipeline Risk Management Manual; domain.md §4; transform [assumption]", "")
STATUS = FactorDef(
    "status", "Operating status: the register's, or a suspension or closure in force in the records where its "
    "multiplier is lower (multiplier on the capped points; points = the change)",
    "[assumption] pipeline.toml; enforcement: domain.md §8", "")
VIOLATIONS = FactorDef(
    "violations_12m", "Enforcement actions on the line in the last 12 months (from its records)",
    "domain.md §8; points [assumption]", "violations")
PATROL = FactorDef(
    "patrol_inspection_age", "Days since the line's last recorded inspection: the patrol item (of 15) of the "
    "third-party index (scored through relative_risk; none recorded: the default)",
    "Muhlbauer patrol frequency, domain.md §4; bands [assumption]", "days")

FACTORS = (LOCATION_CLASS, HCA_GRADE, HCA_TRIGGERS, ZONE_ENTERPRISES, CONSTRUCTION, MINING, AGE, INDEX_SUM,
           LEAK_IMPACT, RELATIVE_RISK, STATUS, VIOLATIONS, PATROL)
DIRECT_RED_MAJOR_HIDDEN_DANGER = "open major hidden danger (重大事故隐患) in the pipeline's records"

_CONTEXT_COUNTS = (
    "households_2km_unit", "households_200m", "villages_50hh_200m", "population_200m",
    "specific_sites_1_pir", "specific_sites_2_pir", "specific_sites_1_200m", "specific_sites_2_200m",
    "fuel_sites_200m", "flammable_sites_50m", "enterprises_5m", "enterprises_50m", "enterprises_200m",
    "construction_200m", "mining_200m",
)


# --- input helpers (vectorised) ------------------------------------------------------------------------------

def _context(frame: pd.DataFrame, params: dict) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """The context counts with NaN (not computed) replaced by ``[pipeline.assumed]``, and where that happened."""
    assumed_values = params["assumed"]
    values, assumed = {}, {}
    for name in _CONTEXT_COUNTS:
        raw = _numbers(frame, name)
        assumed[name] = raw.isna()
        values[name] = raw.fillna(float(assumed_values[name])).clip(lower=0.0)
    raw_flag = _column(frame, "buildings_4plus_200m")
    try:
        flag = raw_flag.astype("boolean")
    except (TypeError, ValueError):  # text spellings: only an explicit true counts
        text = raw_flag.astype("string").str.strip().str.lower()
        flag = text.isin(["true", "t", "yes", "1", "是"]).astype("boolean").where(text.notna(), pd.NA)
    assumed["buildings_4plus_200m"] = flag.isna().astype(bool)
    values["buildings_4plus_200m"] = flag.fillna(bool(assumed_values["buildings_4plus_200m"])).astype(bool)
    return values, assumed


def _medium(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Canonical medium (None where missing or unknown) and whether it was missing."""
    medium = _enum(frame, "medium", PIPELINE_MEDIA)
    return medium, medium.isna()


def _size(frame: pd.DataFrame, params: dict) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Diameter (mm) and pressure (MPa) with missing values replaced by the assumed ones, and where that happened."""
    d_raw, p_raw = _numbers(frame, "diameter_mm"), _numbers(frame, "pressure_mpa")
    d = d_raw.fillna(float(params["assumed_diameter_mm"])).clip(lower=0.0)
    p = p_raw.fillna(float(params["assumed_pressure_mpa"])).clip(lower=0.0)
    return d, p, d_raw.isna() | p_raw.isna()


def _count_text(counts: pd.Series) -> pd.Series:
    """Counts as text for factor values and reasons (they are whole numbers from count(*))."""
    return counts.round().astype("int64").astype(str)


def _check_order(values, what: str, decreasing: bool = False) -> None:
    """ModelConfigError unless ``values`` never decrease (or never increase): the score must stay monotone."""
    v = np.asarray([float(x) for x in values])
    steps = -np.diff(v) if decreasing else np.diff(v)
    if np.any(steps < 0):
        order = "increase" if decreasing else "decrease"
        raise ModelConfigError(f"pipeline.{what}: values must not {order} towards the riskier end, got {list(v)}")


def _check_params(params: dict) -> None:
    """The orderings the monotonicity of the score rests on (pipeline.toml says so next to each table)."""
    tp = params["third_party"]
    _check_order([tp["points_per_enterprise_200m"], tp["points_per_enterprise_50m"], tp["points_per_enterprise_5m"]],
                 "third_party.points_per_enterprise_*")
    _check_order([params["location_class"]["points"][c] for c in LOCATION_CLASSES], "location_class.points")
    _check_order(params["hca"]["points"], "hca.points")
    activity = params["relative_risk"]["third_party"]["activity_points"]
    _check_order([activity[k] for k in ("none", "low", "medium", "high")], "relative_risk.third_party.activity_points",
                 decreasing=True)
    patrol = params["patrol"]
    _check_order(patrol["within_days"], "patrol.within_days")
    _check_order([*patrol["points"], patrol["beyond_points"]], "patrol.points", decreasing=True)
    if len(patrol["points"]) != len(patrol["within_days"]):
        raise ModelConfigError("pipeline.patrol: points and within_days must have the same length")
    try:
        check_danger_params(params, "pipeline")
    except ValueError as e:
        raise ModelConfigError(str(e)) from e


def _table_points(values: pd.Series, table: dict, what: str) -> pd.Series:
    """Map values to numbers from a params table; ModelConfigError names a value without an entry."""
    out = values.map(table)
    missing = values.notna() & out.isna()
    if missing.any():
        raise ModelConfigError(f"pipeline.{what}: no value for {sorted(set(values[missing]))!r}")
    return out.astype("float64")


# --- public helpers ------------------------------------------------------------------------------------------

def potential_impact_radius_m(diameter_mm, pressure_mpa):
    """Potential impact radius r = 0.099·d·√p in metres (GB 32167; ASME B31.8S in SI units; domain.md §4).

    ``diameter_mm`` is the outside diameter d in mm, ``pressure_mpa`` the MAOP p in MPa; scalars give a float,
    arrays and Series the same shape (NaN where an input is missing).

    >>> round(potential_impact_radius_m(1016, 10), 1)
    318.1
    >>> round(potential_impact_radius_m(762, 6.9), 1)
    198.2
    """
    d = np.asarray(diameter_mm, dtype="float64") if not isinstance(diameter_mm, pd.Series) else diameter_mm
    p = np.asarray(pressure_mpa, dtype="float64") if not isinstance(pressure_mpa, pd.Series) else pressure_mpa
    r = PIR_COEFFICIENT * d * np.sqrt(p)
    return float(r) if np.ndim(r) == 0 else r


def _impact_distance(frame: pd.DataFrame, params: dict) -> tuple[pd.Series, pd.Series]:
    medium, medium_missing = _medium(frame)
    d, p, size_assumed = _size(frame, params)
    pir = potential_impact_radius_m(d, p)
    oil = float(params["oil_impact_distance_m"])
    distance = pd.Series(np.where(medium == GAS, pir, np.where(medium_missing, np.fmax(pir, oil), oil)),
                         index=frame.index, dtype="float64")
    assumed = medium_missing | ((medium == GAS) & size_assumed)
    return distance, assumed


def impact_distance_m(frame: pd.DataFrame, params: dict) -> pd.Series:
    """Per-segment impact distance in metres (domain.md §4): the distance within which GB 32167 counts receptors.

    Gas lines: the potential impact radius 0.099·d·√p; a missing diameter or pressure takes
    ``params["assumed_diameter_mm"]`` / ``params["assumed_pressure_mpa"]`` (the largest Chinese trunk lines,
    1422 mm at 12 MPa: 487.7 m).  Oil and hazardous-chemical lines: ``params["oil_impact_distance_m"]`` (200 m).
    A missing or unknown medium: the larger of the two.  ``params`` is ``load_model()["pipeline"]``.
    """
    return _impact_distance(frame, params)[0]


def location_class(households_2km_unit, buildings_4plus_200m, params: dict) -> np.ndarray:
    """GB 50251 location class ("1-1", "1-2", "2", "3", "4") from households in the 2 km unit (domain.md §4).

    四级 "4" where buildings of four or more storeys dominate within 200 m, else by households: none 一级一类,
    up to 15 一级二类, 16-99 二级, 100 or more 三级 (bounds in ``params["location_class"]``).
    """
    hh = np.asarray(households_2km_unit, dtype="float64")
    four = np.asarray(buildings_4plus_200m, dtype=bool)
    lc = params["location_class"]
    return np.select(
        [four, hh >= float(lc["class_3_min_households"]), hh >= float(lc["class_2_min_households"]), hh > 0],
        ["4", "3", "2", "1-2"], "1-1").astype(object)


# --- the rule ------------------------------------------------------------------------------------------------

def _hca(ctx: dict, lclass: np.ndarray, d: pd.Series, p: pd.Series, params: dict, index: pd.Index):
    """GB 32167 conditions met per table: {condition code: bool array} (domain.md §4).

    Gas f) is applied in every location class, not only outside classes 3/4 as the standard words it: with the
    grades of pipeline.toml the higher grade wins either way, and a literal exclusion could let an added
    household lower the grade when f) is set above class 3's grade.
    """
    h = params["hca"]
    sites_pir = (ctx["specific_sites_1_pir"] + ctx["specific_sites_2_pir"]) >= 1
    sites_200 = (ctx["specific_sites_1_200m"] + ctx["specific_sites_2_200m"]) >= 1
    large = (d > float(h["gas_large_diameter_mm"])) & (p > float(h["gas_large_pressure_mpa"]))
    small = (d < float(h["gas_small_diameter_mm"])) & (p < float(h["gas_small_pressure_mpa"]))
    households = np.fmax(ctx["households_2km_unit"], ctx["households_200m"])
    oil = {
        "oil_a": ctx["buildings_4plus_200m"],
        "oil_b": households >= float(h["oil_min_households"]),
        "oil_c": ctx["villages_50hh_200m"] >= 1,
        "oil_d": ctx["flammable_sites_50m"] >= 1,
    }
    gas = {
        "gas_a": pd.Series(lclass == "4", index=index),
        "gas_b": pd.Series(lclass == "3", index=index),
        "gas_c": large & sites_pir,
        "gas_d": small & sites_pir,
        "gas_e": ~large & ~small & sites_200,
        "gas_f": ctx["fuel_sites_200m"] >= 1,
    }
    return ({k: np.asarray(v, dtype=bool) for k, v in oil.items()},
            {k: np.asarray(v, dtype=bool) for k, v in gas.items()})


def patrol_points(days: pd.Series, params: dict) -> pd.Series:
    """The patrol item of the third-party index from the days since the line's last inspection
    (``params["patrol"]``: ``points[i]`` up to ``within_days[i]`` days, ``beyond_points`` after the last band);
    NaN days (no inspection recorded) take the default ``relative_risk.third_party.patrol``."""
    p = params["patrol"]
    banded = np.select([days.to_numpy() <= float(b) for b in p["within_days"]], [float(x) for x in p["points"]],
                       float(p["beyond_points"]))
    default = float(params["relative_risk"]["third_party"]["patrol"])
    return pd.Series(np.where(days.isna().to_numpy(), default, banded), index=days.index, dtype="float64")


def _enforced_status(frame: pd.DataFrame, status: pd.Series, multiplier: pd.Series,
                     params: dict) -> tuple[pd.Series, pd.Series]:
    """(status, multiplier): a suspension or closure in force in the records (``record_measure_in_force``) sets
    the status ``params["enforcement"]["status"]`` gives it where that status's multiplier is lower than the
    register's (a closed line under a suspension order stays closed)."""
    measure = _column(frame, "record_measure_in_force").astype("object").where(has_records(frame))
    measure = measure.where(measure.notna(), None)
    enforced = measure.map(params["enforcement"]["status"])
    unknown = measure.notna() & enforced.isna()
    if unknown.any():
        raise ModelConfigError(f"pipeline.enforcement.status: no status for {sorted(set(measure[unknown]))!r}")
    enforced_multiplier = _table_points(enforced, params["status_multiplier"], "status_multiplier")
    lower = (enforced_multiplier < multiplier).fillna(False).astype(bool)
    return status.where(~lower, enforced), multiplier.where(~lower, enforced_multiplier)


def _grade_and_text(conditions: dict[str, np.ndarray], grades: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    grade = np.zeros(n, dtype="int64")
    text = np.full(n, "", dtype=object)
    for code, met in conditions.items():
        g = int(grades[code])
        grade = np.where(met, np.maximum(grade, g), grade)
        label = f"{HCA_CONDITIONS[code]} [{HCA_GRADE_NAMES[g]}]"
        text = np.where(met, np.where(text == "", label, text + "; " + label), text)
    return grade, text


def score_pipeline(frame: pd.DataFrame, params: dict, as_of: dt.date) -> RuleResult:
    """Score pipeline segments 0-100 with their factors and direct-red reasons (domain.md §2, §4).

    ``frame``: one row per segment with the PIPELINE attributes of geo/kinds.py and the PostGIS context columns
    (households_200m, households_2km_unit, buildings_4plus_200m, villages_50hh_200m, population_200m,
    specific_sites_{1,2}_{pir,200m}, fuel_sites_200m, flammable_sites_50m, enterprises_{5m,50m,200m},
    construction_200m, mining_200m).  ``params`` is ``load_model()["pipeline"]``; ``as_of`` the date ages are
    measured to.

    extra: ``location_class`` ("1-1" .. "4"), ``hca_grade`` (0 = none, 1 = Ⅰ, 2 = Ⅱ, 3 = Ⅲ),
    ``impact_distance_m`` and ``relative_risk`` (Muhlbauer, higher = safer).
    """
    _check_params(params)
    idx = frame.index
    n = len(frame)
    ctx, ctx_assumed = _context(frame, params)
    medium, medium_missing = _medium(frame)
    d, p, size_assumed = _size(frame, params)
    impact = impact_distance_m(frame, params)

    # location class (地区等级), GB 50251
    lclass = location_class(ctx["households_2km_unit"], ctx["buildings_4plus_200m"], params)
    lclass_s = pd.Series(lclass, index=idx, dtype="object")
    lclass_assumed = ctx_assumed["households_2km_unit"] | ctx_assumed["buildings_4plus_200m"]
    lclass_points = _table_points(lclass_s, params["location_class"]["points"], "location_class.points")

    # high-consequence area (高后果区), GB 32167
    oil_conditions, gas_conditions = _hca(ctx, lclass, d, p, params, idx)
    grades = params["hca"]["grades"]
    oil_grade, oil_text = _grade_and_text(oil_conditions, grades, n)
    gas_grade, gas_text = _grade_and_text(gas_conditions, grades, n)
    tables = pd.Series(medium.map(params["hca"]["table_by_medium"]), index=idx, dtype="object").fillna("both")
    unknown_tables = set(tables) - {"gas", "oil", "both"}
    if unknown_tables:
        raise ModelConfigError(f"pipeline.hca.table_by_medium: {sorted(unknown_tables)!r} is not gas, oil or both")
    use_oil = tables.isin(["oil", "both"]).to_numpy()
    use_gas = tables.isin(["gas", "both"]).to_numpy()
    hca_grade = pd.Series(np.maximum(np.where(use_oil, oil_grade, 0), np.where(use_gas, gas_grade, 0)), index=idx)
    both_text = np.where(oil_text == "", gas_text, np.where(gas_text == "", oil_text, oil_text + "; " + gas_text))
    hca_text = pd.Series(np.where(use_oil & use_gas, both_text, np.where(use_oil, oil_text, gas_text)), index=idx,
                         dtype="object").replace("", "none")
    oil_inputs = ("households_2km_unit", "households_200m", "buildings_4plus_200m", "villages_50hh_200m",
                  "flammable_sites_50m")
    gas_inputs = ("households_2km_unit", "buildings_4plus_200m", "specific_sites_1_pir", "specific_sites_2_pir",
                  "specific_sites_1_200m", "specific_sites_2_200m", "fuel_sites_200m")
    oil_assumed = np.logical_or.reduce([ctx_assumed[c].to_numpy() for c in oil_inputs])
    gas_assumed = np.logical_or.reduce([ctx_assumed[c].to_numpy() for c in gas_inputs]) | size_assumed.to_numpy()
    hca_assumed = pd.Series((use_oil & oil_assumed) | (use_gas & gas_assumed), index=idx) | medium_missing
    hca_points_table = np.asarray(params["hca"]["points"], dtype="float64")
    hca_points = pd.Series(hca_points_table[hca_grade.to_numpy()], index=idx)

    # third-party damage: enterprises in the Protection Law zones (cumulative counts; innermost zone scores)
    tp = params["third_party"]
    in_5 = ctx["enterprises_5m"]
    in_50 = np.fmax(ctx["enterprises_50m"], in_5)
    in_200 = np.fmax(ctx["enterprises_200m"], in_50)
    zone_raw = (in_5 * float(tp["points_per_enterprise_5m"]) + (in_50 - in_5) * float(tp["points_per_enterprise_50m"])
                + (in_200 - in_50) * float(tp["points_per_enterprise_200m"]))
    zone_points = zone_raw.clip(upper=float(tp["cap"]))
    zone_value = ("5 m: " + _count_text(in_5) + ", 50 m: " + _count_text(in_50) + ", 200 m: "
                  + _count_text(in_200)).astype("object")
    zone_assumed = ctx_assumed["enterprises_5m"] | ctx_assumed["enterprises_50m"] | ctx_assumed["enterprises_200m"]
    construction = ctx["construction_200m"]
    construction_points = (construction * float(tp["points_per_construction_200m"])).clip(
        upper=float(tp["construction_cap"]))
    mining = ctx["mining_200m"]
    mining_points = (mining * float(tp["points_per_mining_200m"])).clip(upper=float(tp["mining_cap"]))

    # age
    year_built = _numbers(frame, "year_built")
    age_assumed = year_built.isna()
    age = (float(as_of.year) - year_built).fillna(float(params["assumed_age_years"])).clip(lower=0.0)
    ag = params["age"]
    age_points = ((age - float(ag["free_years"])) * float(ag["points_per_year"])).clip(0.0, float(ag["cap"]))

    # Muhlbauer relative risk = index sum / leak impact factor (higher = safer)
    rr = params["relative_risk"]
    t3 = rr["third_party"]
    depth_raw = _numbers(frame, "depth_of_cover_m")
    depth = depth_raw.fillna(float(params["assumed_depth_of_cover_m"])).clip(lower=0.0)
    depth_points = (depth / float(t3["depth_full_cover_m"]) * float(t3["depth_max_points"])).clip(
        upper=float(t3["depth_max_points"]))
    high = (in_50 >= 1) | (construction >= 1) | (mining >= 1) | np.isin(lclass, ["3", "4"])
    medium_activity = (in_200 >= 1) | (lclass == "2")
    low = lclass == "1-2"
    activity = np.select([high, medium_activity, low], ["high", "medium", "low"], "none")
    activity_points = pd.Series(activity, index=idx).map(t3["activity_points"]).astype("float64")
    # patrol (of 15): from the age of the last recorded inspection, else the default
    inspection_days = days_since_inspection(frame, None, as_of)
    patrol = patrol_points(inspection_days, params)
    third_party_index = (depth_points + activity_points + float(t3["aboveground_facilities"])
                         + float(t3["line_locating"]) + float(t3["public_education"]) + float(t3["right_of_way"])
                         + patrol)
    co = rr["corrosion"]
    subsurface = (float(co["subsurface_max"]) - float(co["subsurface_loss_per_year"]) * age).clip(
        lower=float(co["subsurface_min"]))
    corrosion_index = float(co["atmospheric"]) + float(co["internal"]) + subsurface
    design_index = float(sum(float(v) for v in rr["design"].values()))
    operations_index = float(sum(float(v) for v in rr["incorrect_operations"].values()))
    index_sum = third_party_index + corrosion_index + design_index + operations_index
    index_assumed = (depth_raw.isna() | age_assumed | lclass_assumed | zone_assumed
                     | ctx_assumed["construction_200m"] | ctx_assumed["mining_200m"])

    li = rr["leak_impact"]
    ph_table = {k: float(v) for k, v in li["product_hazard"].items()}
    product_hazard = medium.map(ph_table).astype("float64").fillna(max(ph_table.values()))
    disp_table = {k: float(v) for k, v in li["dispersion"].items()}
    dispersion = medium.map(disp_table).astype("float64").fillna(max(disp_table.values()))
    leak_volume = (d * np.sqrt(p) / (float(li["reference_diameter_mm"]) * np.sqrt(float(li["reference_pressure_mpa"])))
                   ).clip(float(li["leak_volume_min"]), float(li["leak_volume_max"]))
    # 特定场所 within the impact distance: the PIR counts for gas, the 200 m counts otherwise, the larger if unknown
    by_pir, by_200m = (medium == GAS) | medium_missing, medium != GAS
    sites_1 = np.fmax(ctx["specific_sites_1_pir"].where(by_pir, 0.0), ctx["specific_sites_1_200m"].where(by_200m, 0.0))
    sites_2 = np.fmax(ctx["specific_sites_2_pir"].where(by_pir, 0.0), ctx["specific_sites_2_200m"].where(by_200m, 0.0))
    receptors = (float(li["receptor_base"]) + ctx["population_200m"] / float(li["population_per_unit"])
                 + sites_1 * float(li["specific_site_1_each"]) + sites_2 * float(li["specific_site_2_each"])
                 + float(li["environment"])).clip(upper=float(li["receptors_max"]))
    leak_impact = product_hazard * leak_volume * dispersion * receptors
    leak_assumed = (medium_missing | size_assumed | ctx_assumed["population_200m"]
                    | ctx_assumed["specific_sites_1_pir"] | ctx_assumed["specific_sites_2_pir"]
                    | ctx_assumed["specific_sites_1_200m"] | ctx_assumed["specific_sites_2_200m"])
    relative_risk = index_sum / leak_impact
    worst, best = float(rr["rr_worst"]), float(rr["rr_best"])
    share = np.log(best / relative_risk.clip(lower=1e-12)) / np.log(best / worst)
    rr_points = share.clip(0.0, 1.0) * float(rr["points"])

    # status multiplier
    status_stated = _enum(frame, "status", OPERATING_STATUS)
    status_assumed = status_stated.isna()
    status = status_stated.where(~status_assumed, "operating")
    multiplier = _table_points(status, params["status_multiplier"], "status_multiplier")
    status, multiplier = _enforced_status(frame, status, multiplier, params)

    # the line's records: open and overdue hidden dangers, enforcement actions of the last 12 months
    danger = danger_factors(frame, params)
    violations = violation_count(frame, None).fillna(0.0)
    violation_points = capped_points(violations, params["violations"])

    raw = (lclass_points + hca_points + zone_points + construction_points + mining_points + age_points + rr_points
           + sum(f.points for f in danger) + violation_points).clip(0.0, 100.0)
    score = raw * multiplier
    status_points = score - raw

    factors = [
        Factor(LOCATION_CLASS, lclass_s, lclass_points, lclass_assumed),
        Factor(HCA_GRADE, hca_grade, hca_points, hca_assumed),
        Factor(HCA_TRIGGERS, hca_text, pd.Series(0.0, index=idx), hca_assumed),
        Factor(ZONE_ENTERPRISES, zone_value, zone_points, zone_assumed),
        Factor(CONSTRUCTION, construction, construction_points, ctx_assumed["construction_200m"]),
        Factor(MINING, mining, mining_points, ctx_assumed["mining_200m"]),
        Factor(AGE, age, age_points, age_assumed),
        Factor(INDEX_SUM, index_sum, pd.Series(0.0, index=idx), index_assumed),
        Factor(LEAK_IMPACT, leak_impact, pd.Series(0.0, index=idx), leak_assumed),
        Factor(RELATIVE_RISK, relative_risk, rr_points, index_assumed | leak_assumed),
        Factor(STATUS, status, status_points, status_assumed),
        *danger,
        Factor(VIOLATIONS, violations, violation_points, pd.Series(False, index=idx)),
        Factor(PATROL, inspection_days, pd.Series(0.0, index=idx), pd.Series(False, index=idx)),
    ]

    # direct red (domain.md §2, §4): an observed structure in the Art. 30 5 m zone
    observed_5m = _numbers(frame, "enterprises_5m")
    exempt = status_stated.isin(list(params["direct_red_exempt_statuses"]))
    red = (observed_5m >= 1) & ~exempt & bool(params["direct_red_5m_zone"])
    law = pd.Series(np.where(medium == "hazardous_chemical", "危险化学品输送管道安全管理规定 Art. 21",
                             "Oil and Gas Pipeline Protection Law Art. 30"), index=idx)
    reason = ("structure inside the 5 m pipeline protection zone: " + _count_text(observed_5m.fillna(0.0))
              + " enterprise site(s) (" + law + "; treated as 重大事故隐患)")
    major = open_major_danger(frame, None).fillna(False).to_numpy(dtype=bool)
    zone_reason = reason.astype("object").to_numpy()
    both = np.where(red.to_numpy() & major, zone_reason + "; " + DIRECT_RED_MAJOR_HIDDEN_DANGER, None)
    direct_red = pd.Series(np.where(red.to_numpy() & ~major, zone_reason,
                                    np.where(major & ~red.to_numpy(), DIRECT_RED_MAJOR_HIDDEN_DANGER, both)),
                           index=idx, dtype="object")

    extra = {
        "location_class": lclass_s,
        "hca_grade": hca_grade.astype("int64"),
        "impact_distance_m": impact,
        "relative_risk": relative_risk,
    }
    return RuleResult(score=score.astype("float64"), factors=factors, direct_red=direct_red, extra=extra)
