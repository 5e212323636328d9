"""The pipeline-segment rule (geo/risk/pipeline.py; domain.md §2, §4): worked examples, missing values, direct
red, parameters and monotonicity.  Parameters come only from ``load_model()["pipeline"]``."""

from __future__ import annotations

import copy
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from geo.risk.config import ModelConfigError, load_model
from geo.risk.framework import level_from_score
from geo.risk.pipeline import (
    FACTORS,
    LOCATION_CLASSES,
    impact_distance_m,
    location_class,
    potential_impact_radius_m,
    score_pipeline,
)

AS_OF = dt.date(2026, 12, 1)

# A quiet segment: a 1016 mm gas line at 10 MPa (leak volume 1 by definition), built 2016 (age 10, no age points),
# buried 1.524 m (the full 20 cover points), nobody and nothing around.
QUIET = dict(
    medium="natural_gas", diameter_mm=1016.0, pressure_mpa=10.0, year_built=2016, operator="PipeChina",
    depth_of_cover_m=1.524, status="operating", segment_length_m=1000.0,
    households_200m=0, households_2km_unit=0, buildings_4plus_200m=False, villages_50hh_200m=0, population_200m=0,
    specific_sites_1_pir=0, specific_sites_2_pir=0, specific_sites_1_200m=0, specific_sites_2_200m=0,
    fuel_sites_200m=0, flammable_sites_50m=0, enterprises_5m=0, enterprises_50m=0, enterprises_200m=0,
    construction_200m=0, mining_200m=0,
)
CONTEXT = [k for k in QUIET if k not in
           ("medium", "diameter_mm", "pressure_mpa", "year_built", "operator", "depth_of_cover_m", "status")]


def rr_points(rr: float) -> float:
    """The relative-risk points of pipeline.toml by hand: 20 × ln(200 / RR) / ln(200 / 2), within 0..20."""
    return min(20.0, max(0.0, 20.0 * math.log(200.0 / rr) / math.log(100.0)))


@pytest.fixture
def params() -> dict:
    return copy.deepcopy(load_model()["pipeline"])


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{**QUIET, **r} for r in rows])


def score(params: dict, **row):
    return score_pipeline(frame(row), params, AS_OF)


def factor(result, name: str):
    return next(f for f in result.factors if f.definition.name == name)


# --- potential impact radius and impact distance -------------------------------------------------------------

def test_pir_worked_example():
    """PIR for d = 1016 mm, p = 10 MPa: r = 0.099 × 1016 × √10 = 100.584 × 3.16228 ≈ 318.07 m."""
    assert potential_impact_radius_m(1016, 10) == pytest.approx(0.099 * 1016 * math.sqrt(10))
    assert potential_impact_radius_m(1016, 10) == pytest.approx(318.07, abs=0.01)


def test_pir_shapes_and_missing():
    """PIR takes scalars, lists and Series and gives NaN where an input is missing."""
    assert isinstance(potential_impact_radius_m(508.0, 4.0), float)
    r = potential_impact_radius_m([273.0, None], [1.6, 4.0])
    assert r[0] == pytest.approx(0.099 * 273 * math.sqrt(1.6)) and math.isnan(r[1])
    s = potential_impact_radius_m(pd.Series([100.0], index=[7]), pd.Series([4.0], index=[7]))
    assert list(s.index) == [7] and s[7] == pytest.approx(0.099 * 100 * 2)


def test_impact_distance_by_medium(params):
    """Gas: the PIR; oil and chemical lines: 200 m; gas without a diameter at 10 MPa: 0.099 × 1422 × √10 ≈ 445.18 m."""
    f = frame({}, {"medium": "crude_oil"}, {"medium": "hazardous_chemical"}, {"diameter_mm": None},
              {"medium": None, "diameter_mm": 219.0, "pressure_mpa": 1.0})
    got = impact_distance_m(f, params)
    assert got.tolist() == pytest.approx([318.0745, 200.0, 200.0, 445.1791, 200.0], rel=1e-6)


def test_impact_distance_unknown_medium_takes_the_larger(params):
    """A missing medium takes max(PIR, 200 m): 487.67 m for a line of unknown size."""
    got = impact_distance_m(frame({"medium": None, "diameter_mm": None, "pressure_mpa": None}), params)
    assert got[0] == pytest.approx(487.669, abs=0.001)


def test_oil_impact_distance_is_a_parameter(params):
    """Changing oil_impact_distance_m changes the oil lines' impact distance."""
    params["oil_impact_distance_m"] = 250.0
    assert impact_distance_m(frame({"medium": "refined_oil"}), params)[0] == 250.0


# --- location class ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("households, four_plus, expected", [
    (0, False, "1-1"), (1, False, "1-2"), (15, False, "1-2"), (16, False, "2"), (99, False, "2"),
    (100, False, "3"), (5000, False, "3"), (0, True, "4"), (120, True, "4"),
])
def test_location_class_bounds(params, households, four_plus, expected):
    """GB 50251 classes: none 1-1, ≤ 15 1-2, 16-99 2, ≥ 100 3, 4-storey buildings dominant 4."""
    assert location_class([households], [four_plus], params)[0] == expected
    result = score(params, households_2km_unit=households, buildings_4plus_200m=four_plus)
    assert result.extra["location_class"][0] == expected


def test_location_class_uses_the_2km_unit_not_the_segment(params):
    """The class counts households in the 2 km unit: 120 in the unit, 10 along the segment → class 3."""
    result = score(params, households_2km_unit=120, households_200m=10)
    assert result.extra["location_class"][0] == "3"


# --- high-consequence areas (GB 32167) -----------------------------------------------------------------------

def test_gas_segment_with_120_households_is_class_3_hca_2(params):
    """Gas, 120 households in its unit → class 三 (≥ 100) → HCA Ⅱ by gas b) (class-3 area)."""
    result = score(params, households_2km_unit=120)
    assert result.extra["location_class"][0] == "3"
    assert result.extra["hca_grade"][0] == 2
    assert factor(result, "hca_conditions").value[0] == "gas b) class-3 area [Ⅱ]"


def test_gas_class_4_is_hca_3(params):
    """Gas, 4-storey buildings dominant → class 四 → HCA Ⅲ by gas a)."""
    assert score(params, buildings_4plus_200m=True).extra["hca_grade"][0] == 3


@pytest.mark.parametrize("d, p, sites_pir, sites_200, expected", [
    (1016.0, 10.0, 1, 1, 2),   # c) d > 762, p > 6.9, 特定场所 within the PIR → Ⅱ
    (219.0, 1.0, 1, 1, 1),     # d) d < 273, p < 1.6, site within the PIR (21.7 m) → Ⅰ
    (219.0, 1.0, 0, 1, 0),     # d)-size line, site within 200 m, not in its PIR → none (e is for other lines)
    (508.0, 6.3, 0, 1, 2),     # e) other line, site within 200 m → Ⅱ (domain.md; CONFLICT: Ⅰ elsewhere)
    (762.0, 10.0, 0, 1, 2),    # d = 762 is not > 762: an "other" line → e)
])
def test_gas_size_conditions(params, d, p, sites_pir, sites_200, expected):
    """GB 32167 gas c) / d) / e): the line size decides whether sites count within the PIR or within 200 m."""
    result = score(params, diameter_mm=d, pressure_mpa=p, specific_sites_2_pir=sites_pir,
                   specific_sites_2_200m=sites_200)
    assert result.extra["hca_grade"][0] == expected


def test_gas_fuel_station_gives_hca_3(params):
    """Gas, class 2 (40 households), a fuel station within 200 m → gas f) Ⅲ (domain.md §4 grade)."""
    result = score(params, households_2km_unit=40, fuel_sites_200m=1)
    assert result.extra["hca_grade"][0] == 3
    assert "gas f)" in factor(result, "hca_conditions").value[0]


def test_gas_fuel_station_in_class_3_keeps_the_higher_grade(params):
    """Gas f) applies in class 3 too (riskmap's monotone reading): 120 households + a fuel station → Ⅲ, not Ⅱ."""
    assert score(params, households_2km_unit=120, fuel_sites_200m=1).extra["hca_grade"][0] == 3


def test_gas_fuel_station_grade_is_a_parameter(params):
    """Setting hca.grades.gas_f = 2 (the other transcriptions' Ⅱ) gives a class-2 segment with a fuel station Ⅱ."""
    params["hca"]["grades"]["gas_f"] = 2
    assert score(params, households_2km_unit=40, fuel_sites_200m=1).extra["hca_grade"][0] == 2


@pytest.mark.parametrize("row, expected", [
    ({"households_200m": 100}, 2),                                   # b) ≥ 100 households within ±200 m → Ⅱ
    ({"households_2km_unit": 100, "households_200m": 30}, 2),        # b) counted in the 2 km unit → Ⅱ
    ({"households_200m": 99, "households_2km_unit": 99}, 0),
    ({"villages_50hh_200m": 1}, 2),                                  # c) village of ≥ 50 households → Ⅱ
    ({"flammable_sites_50m": 1}, 1),                                 # d) flammable/explosive site within 50 m → Ⅰ
    ({"buildings_4plus_200m": True}, 3),                             # a) class-4 area → Ⅲ
    ({"fuel_sites_200m": 1, "specific_sites_1_200m": 2}, 0),         # gas-only conditions do not apply to oil
])
def test_oil_conditions(params, row, expected):
    """GB 32167 oil table a)-d) on a crude-oil segment."""
    assert score(params, medium="crude_oil", **row).extra["hca_grade"][0] == expected


def test_hazardous_chemical_line_uses_both_tables(params):
    """A chemical line takes the higher of the oil and gas grades: a fuel depot within 200 m → gas f) Ⅲ."""
    result = score(params, medium="hazardous_chemical", fuel_sites_200m=1, flammable_sites_50m=1)
    assert result.extra["hca_grade"][0] == 3
    text = factor(result, "hca_conditions").value[0]
    assert "oil d)" in text and "gas f)" in text


def test_unassessed_conditions_are_named():
    """The HCA factor says which GB 32167 conditions riskmap cannot assess (no layer)."""
    title = next(f for f in FACTORS if f.name == "hca_conditions").title
    for word in ("roads and railways", "wetlands", "water sources", "not assessed"):
        assert word in title


def test_no_hca_says_none(params):
    """A quiet segment is not an HCA: grade 0, condition text 'none', 0 points."""
    result = score(params)
    assert result.extra["hca_grade"][0] == 0
    assert factor(result, "hca_conditions").value[0] == "none"
    assert factor(result, "hca_grade").points[0] == 0.0


# --- third-party damage, age ---------------------------------------------------------------------------------

def test_protection_zone_points(params):
    """Enterprises 5 m: 1, 50 m: 2, 200 m: 3 (cumulative) → 1 × 25 + 1 × 6 + 1 × 2 = 33, capped at 30."""
    result = score(params, enterprises_5m=1, enterprises_50m=2, enterprises_200m=3)
    zones = factor(result, "protection_zone_enterprises")
    assert zones.points[0] == 30.0
    assert zones.value[0] == "5 m: 1, 50 m: 2, 200 m: 3"


def test_protection_zone_points_below_the_cap(params):
    """Enterprises 50 m: 1, 200 m: 4 → 1 × 6 + 3 × 2 = 12 points."""
    result = score(params, enterprises_50m=1, enterprises_200m=4)
    assert factor(result, "protection_zone_enterprises").points[0] == pytest.approx(12.0)


def test_inconsistent_zone_counts_are_made_cumulative(params):
    """A 50 m count below the 5 m count is read as at least the 5 m count: 5 m: 1, 50 m: 0 → 25 points."""
    result = score(params, enterprises_5m=1, enterprises_50m=0, enterprises_200m=0)
    assert factor(result, "protection_zone_enterprises").points[0] == 25.0


def test_construction_and_mining_points(params):
    """Construction 3 × 5 = 15 → capped 10; mining 1 × 8 = 8."""
    result = score(params, construction_200m=3, mining_200m=1)
    assert factor(result, "construction_200m").points[0] == 10.0
    assert factor(result, "mining_200m").points[0] == 8.0


@pytest.mark.parametrize("year, points", [(2016, 0.0), (2006, 4.0), (1986, 12.0), (1970, 15.0), (2030, 0.0)])
def test_age_points(params, year, points):
    """Age points = (age − 10) × 0.4 within 0..15: built 2006 → age 20 → 4; 1986 → 40 → 12; 1970 → 56 → 15."""
    assert factor(score(params, year_built=year), "age").points[0] == pytest.approx(points)


def test_missing_year_assumes_40_years(params):
    """No year_built → assumed age 40 (pipeline.toml), flagged: (40 − 10) × 0.4 = 12 points."""
    age = factor(score(params, year_built=None), "age")
    assert age.value[0] == 40.0 and age.points[0] == pytest.approx(12.0) and bool(age.assumed[0])


# --- Muhlbauer relative risk ---------------------------------------------------------------------------------

def test_relative_risk_worked_example(params):
    """Quiet gas segment with 500 people within 200 m: index sum 247 / LIF 14 = RR 17.64.

    Third-party: cover 1.524 m → 20; activity none (class 1-1, no enterprises) → 20; defaults 5 + 8 + 8 + 3 + 8
    = 32 → 72.  Corrosion: 5 + 10 + (70 − 10 years × 1) = 75.  Design 50, incorrect operations 50.  Sum 247.
    LIF: product hazard 7 (gas) × leak volume 1 (1016 mm, 10 MPa) × dispersion 1 × receptors
    (1 + 500 / 1000 + 0.5 environment = 2.0) = 14.  RR = 247 / 14 = 17.643; points 20 × ln(200 / 17.643) / ln 100.
    """
    result = score(params, population_200m=500)
    assert factor(result, "index_sum").value[0] == pytest.approx(247.0)
    assert factor(result, "leak_impact_factor").value[0] == pytest.approx(14.0)
    assert result.extra["relative_risk"][0] == pytest.approx(247.0 / 14.0)
    assert factor(result, "relative_risk").points[0] == pytest.approx(rr_points(247.0 / 14.0))


def test_relative_risk_transform_bounds(params):
    """RR at or below rr_worst scores the full 20, at or above rr_best 0; RR = 20 scores exactly half (10)."""
    assert rr_points(1.0) == 20.0 and rr_points(500.0) == 0.0 and rr_points(20.0) == pytest.approx(10.0)
    # a tiny line in an empty area is safe: RR far above 200 → 0 points
    tiny = score(params, diameter_mm=60.0, pressure_mpa=0.4, medium="natural_gas")
    assert factor(tiny, "relative_risk").points[0] == pytest.approx(rr_points(tiny.extra["relative_risk"][0]))


def test_shallow_cover_lowers_relative_risk(params):
    """Cover 0.762 m scores 10 of the 20 cover points, so the index sum drops by 10."""
    deep = factor(score(params), "index_sum").value[0]
    shallow = factor(score(params, depth_of_cover_m=0.762), "index_sum").value[0]
    assert deep - shallow == pytest.approx(10.0)


# --- whole scores --------------------------------------------------------------------------------------------

def test_worked_example_gas_class_3(params):
    """Gas 1016 mm / 10 MPa, built 2006, 120 households in the unit, 500 people within 200 m → 46.1 (yellow).

    Location class 三 → 15.  HCA Ⅱ (gas b) → 16.  No enterprises → 0.  Age 20 → (20 − 10) × 0.4 = 4.
    Index: third-party 20 cover + 0 activity (class 3 = high) + 32 defaults = 52; corrosion 5 + 10 + (70 − 20)
    = 65; design 50; operations 50 → 217.  LIF 7 × 1 × 1 × (1 + 0.5 + 0.5) = 14.  RR = 217 / 14 = 15.5 →
    20 × ln(200 / 15.5) / ln 100 = 20 × 2.5575 / 4.6052 = 11.107.  Score = 15 + 16 + 4 + 11.107 = 46.107.
    """
    result = score(params, year_built=2006, households_2km_unit=120, households_200m=60, population_200m=500)
    assert result.extra["relative_risk"][0] == pytest.approx(15.5)
    assert result.score[0] == pytest.approx(15 + 16 + 4 + rr_points(15.5))
    assert result.score[0] == pytest.approx(46.107, abs=0.001)
    assert level_from_score(result.score, load_model()["levels"])[0] == "yellow"
    assert result.extra["impact_distance_m"][0] == pytest.approx(318.0745, abs=1e-4)


def test_worked_example_oil_segment_with_fuel_depot(params):
    """Refined-oil 508 mm / 10 MPa, built 1996, cover 0.762 m, class 2, a fuel depot 30 m away → 39.36 (yellow).

    The depot is a flammable/explosive site within 50 m → oil d) HCA Ⅰ → 8; and an enterprise in the 5-50 m
    zone → 6.  Location class 二 (40 households) → 8.  Age 30 → (30 − 10) × 0.4 = 8.
    Index: third-party 10 cover + 0 activity (enterprise within 50 m = high) + 32 = 42; corrosion 5 + 10 +
    (70 − 30) = 55; design 50; operations 50 → 197.  LIF 10 (oil) × 0.5 (508 √10 / 1016 √10) × 1 ×
    (1 + 200 / 1000 + 0.5 = 1.7) = 8.5.  RR = 197 / 8.5 = 23.176 → 20 × ln(8.6294) / ln 100 = 9.360.
    Score = 8 + 8 + 6 + 8 + 9.360 = 39.360.  Impact distance 200 m (oil).
    """
    result = score(params, medium="refined_oil", diameter_mm=508.0, pressure_mpa=10.0, year_built=1996,
                   depth_of_cover_m=0.762, households_2km_unit=40, households_200m=20, population_200m=200,
                   fuel_sites_200m=1, flammable_sites_50m=1, enterprises_50m=1, enterprises_200m=1)
    assert result.extra["hca_grade"][0] == 1
    assert result.extra["relative_risk"][0] == pytest.approx(197.0 / 8.5)
    assert result.score[0] == pytest.approx(8 + 8 + 6 + 8 + rr_points(197.0 / 8.5))
    assert result.score[0] == pytest.approx(39.36, abs=0.01)
    assert result.extra["impact_distance_m"][0] == 200.0
    assert result.direct_red[0] is None


def test_quiet_segment_is_blue(params):
    """A compliant line in empty country is blue: only RR points, 247 / (7 × 1.5) = 23.52 → 9.29 points.

    Class 1-1 → 0; no HCA → 0; age 10 → 0; index 247 (as in the RR worked example); LIF 7 × 1 × 1 × (1 + 0 + 0.5)
    = 10.5; RR 23.524 → 20 × ln(200 / 23.524) / ln 100 = 20 × 2.1403 / 4.6052 = 9.295.
    """
    result = score(params)
    assert result.score[0] == pytest.approx(rr_points(247.0 / 10.5))
    assert result.score[0] == pytest.approx(9.295, abs=0.001)
    assert level_from_score(result.score, load_model()["levels"])[0] == "blue"


def test_worst_case_is_red(params):
    """An old chemical line in a class-4 area with enterprises, construction and mining around scores 100."""
    result = score(params, medium="hazardous_chemical", year_built=1965, depth_of_cover_m=0.3,
                   households_2km_unit=900, buildings_4plus_200m=True, population_200m=4000,
                   specific_sites_1_200m=3, enterprises_50m=3, enterprises_200m=9, construction_200m=2,
                   mining_200m=2)
    assert result.score[0] == 100.0
    assert level_from_score(result.score, load_model()["levels"])[0] == "red"


def test_closed_line_scores_less(params):
    """Status closed multiplies the capped points by 0.3; the status factor records the change (negative)."""
    row = dict(households_2km_unit=120, year_built=2006, population_200m=500)
    open_score = score(params, **row).score[0]
    closed = score(params, status="closed", **row)
    assert closed.score[0] == pytest.approx(0.3 * open_score)
    assert factor(closed, "status").points[0] == pytest.approx(-0.7 * open_score)


def test_output_contract(params):
    """Scores are 0-100 on the frame's index; every factor has one value per row; the four extras are there."""
    f = frame({}, {"medium": "crude_oil"}, {"households_2km_unit": None}).set_index(pd.Index([10, 20, 30]))
    result = score_pipeline(f, params, AS_OF)
    assert list(result.score.index) == [10, 20, 30]
    assert result.score.between(0, 100).all()
    assert set(result.extra) == {"location_class", "hca_grade", "impact_distance_m", "relative_risk"}
    for fac in result.factors:
        assert list(fac.value.index) == [10, 20, 30] and list(fac.points.index) == [10, 20, 30]
    assert result.direct_red.dtype == object


def test_empty_frame(params):
    """An empty frame gives empty results."""
    result = score_pipeline(pd.DataFrame(columns=list(QUIET)), params, AS_OF)
    assert len(result.score) == 0 and len(result.extra["hca_grade"]) == 0


# --- direct red ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("medium", ["natural_gas", "crude_oil", "refined_oil", "hazardous_chemical"])
def test_structure_in_5m_zone_is_direct_red(params, medium):
    """An enterprise site within 5 m of any line is a direct red (Art. 30 read as a 重大事故隐患)."""
    result = score(params, medium=medium, enterprises_5m=1, enterprises_50m=1, enterprises_200m=1)
    assert "5 m pipeline protection zone" in result.direct_red[0]
    assert "1 enterprise site" in result.direct_red[0]
    assert ("Art. 21" if medium == "hazardous_chemical" else "Protection Law Art. 30") in result.direct_red[0]


def test_no_direct_red_for_closed_line_or_assumed_count(params):
    """A closed line, and a 5 m count that was not computed (NaN), give no direct red."""
    f = frame({"enterprises_5m": 2, "status": "closed"}, {"enterprises_5m": None}, {"enterprises_50m": 4})
    assert score_pipeline(f, params, AS_OF).direct_red.isna().all()


def test_direct_red_can_be_switched_off(params):
    """direct_red_5m_zone = false turns the rule off."""
    params["direct_red_5m_zone"] = False
    assert score(params, enterprises_5m=1).direct_red[0] is None


# --- missing values ------------------------------------------------------------------------------------------

def test_missing_context_is_assumed_and_conservative(params):
    """Context not computed (NaN) takes [pipeline.assumed]: class 4, HCA Ⅲ, 18 zone points; all flagged."""
    missing = score(params, **{c: None for c in CONTEXT if c != "segment_length_m"})
    computed = score(params)
    assert missing.extra["location_class"][0] == "4"
    assert missing.extra["hca_grade"][0] == 3
    assert factor(missing, "protection_zone_enterprises").points[0] == pytest.approx(2 * 6 + 3 * 2)
    for name in ("location_class", "hca_grade", "hca_conditions", "protection_zone_enterprises",
                 "construction_200m", "mining_200m", "index_sum", "leak_impact_factor", "relative_risk"):
        assert bool(factor(missing, name).assumed[0]), name
        assert not bool(factor(computed, name).assumed[0]), name
    assert missing.score[0] > computed.score[0]
    assert missing.direct_red[0] is None


def test_missing_columns_count_as_not_computed(params):
    """A frame without the context columns is scored as if every count were NaN."""
    bare = pd.DataFrame([{k: QUIET[k] for k in ("medium", "diameter_mm", "pressure_mpa", "year_built",
                                                  "depth_of_cover_m", "status")}])
    nan = frame({c: None for c in CONTEXT})
    assert score_pipeline(bare, params, AS_OF).score[0] == pytest.approx(score_pipeline(nan, params, AS_OF).score[0])


def test_missing_size_gas_is_assumed_large(params):
    """Gas with no diameter or pressure is taken as 1422 mm / 12 MPa: a 特定场所 in its PIR makes it gas c) Ⅱ."""
    result = score(params, diameter_mm=None, pressure_mpa=None, specific_sites_1_pir=1, specific_sites_1_200m=0)
    assert result.extra["hca_grade"][0] == 2
    assert bool(factor(result, "hca_grade").assumed[0])
    assert result.extra["impact_distance_m"][0] == pytest.approx(0.099 * 1422 * math.sqrt(12))


def test_missing_medium_and_status(params):
    """Unknown medium: both HCA tables and the highest product hazard (16); unknown status: operating; flagged."""
    result = score(params, medium=None, status=None, fuel_sites_200m=1)
    assert result.extra["hca_grade"][0] == 3
    assert bool(factor(result, "hca_grade").assumed[0])
    status = factor(result, "status")
    assert status.value[0] == "operating" and bool(status.assumed[0]) and status.points[0] == 0.0
    gas = score(params, fuel_sites_200m=1)
    assert factor(result, "leak_impact_factor").value[0] == pytest.approx(
        factor(gas, "leak_impact_factor").value[0] * 16 / 7)


def test_missing_depth_is_assumed(params):
    """No depth of cover → 0.5 m assumed: 0.5 / 1.524 × 20 = 6.56 cover points, flagged on the index sum."""
    deep = factor(score(params), "index_sum").value[0]
    result = score(params, depth_of_cover_m=None)
    assert factor(result, "index_sum").value[0] == pytest.approx(deep - 20 + 0.5 / 1.524 * 20)
    assert bool(factor(result, "index_sum").assumed[0])


def test_chinese_spellings_and_object_booleans(params):
    """Register spellings (天然气, 关闭) and object booleans with None are read like canonical values."""
    f = frame({"medium": "天然气", "status": "关闭", "buildings_4plus_200m": None},
              {"medium": "natural_gas", "status": "closed", "buildings_4plus_200m": None})
    f["buildings_4plus_200m"] = f["buildings_4plus_200m"].astype(object)
    result = score_pipeline(f, params, AS_OF)
    assert result.score[0] == pytest.approx(result.score[1])
    assert result.extra["location_class"].tolist() == ["4", "4"]


# --- parameters ----------------------------------------------------------------------------------------------

def test_changing_a_weight_changes_the_score(params):
    """Doubling points_per_enterprise_50m (6 → 12) adds 6 points for one enterprise in the 5-50 m zone."""
    row = dict(enterprises_50m=1, enterprises_200m=1)
    before = score(params, **row).score[0]
    params["third_party"]["points_per_enterprise_50m"] = 12.0
    assert score(params, **row).score[0] == pytest.approx(before + 6.0)


def test_changing_the_location_class_bound_changes_the_class(params):
    """With class_3_min_households = 150, 120 households are class 2, not 3."""
    params["location_class"]["class_3_min_households"] = 150.0
    assert score(params, households_2km_unit=120).extra["location_class"][0] == "2"


def test_non_monotone_weights_are_refused(params):
    """Zone weights that grow outwards would break monotonicity: ModelConfigError."""
    params["third_party"]["points_per_enterprise_200m"] = 10.0
    with pytest.raises(ModelConfigError, match="points_per_enterprise"):
        score(params)


def test_unknown_hca_table_is_refused(params):
    """A table_by_medium entry that is not gas / oil / both: ModelConfigError."""
    params["hca"]["table_by_medium"]["crude_oil"] = "liquid"
    with pytest.raises(ModelConfigError, match="table_by_medium"):
        score(params, medium="crude_oil")


# --- monotonicity (hypothesis) -------------------------------------------------------------------------------

def _maybe(strategy):
    return st.one_of(st.none(), strategy)


counts = _maybe(st.integers(0, 300))
segments = st.fixed_dictionaries({
    "medium": _maybe(st.sampled_from(["natural_gas", "crude_oil", "refined_oil", "hazardous_chemical"])),
    "diameter_mm": _maybe(st.floats(50, 1500)),
    "pressure_mpa": _maybe(st.floats(0, 15)),
    "year_built": _maybe(st.integers(1950, 2026)),
    "depth_of_cover_m": _maybe(st.floats(0, 3)),
    "status": _maybe(st.sampled_from(["operating", "suspended", "closed", "under_construction"])),
    "households_200m": counts, "households_2km_unit": counts,
    "buildings_4plus_200m": _maybe(st.booleans()),
    "villages_50hh_200m": _maybe(st.integers(0, 3)), "population_200m": _maybe(st.integers(0, 5000)),
    "specific_sites_1_pir": _maybe(st.integers(0, 3)), "specific_sites_2_pir": _maybe(st.integers(0, 3)),
    "specific_sites_1_200m": _maybe(st.integers(0, 3)), "specific_sites_2_200m": _maybe(st.integers(0, 3)),
    "fuel_sites_200m": _maybe(st.integers(0, 3)), "flammable_sites_50m": _maybe(st.integers(0, 3)),
    "enterprises_5m": _maybe(st.integers(0, 3)), "enterprises_50m": _maybe(st.integers(0, 6)),
    "enterprises_200m": _maybe(st.integers(0, 12)),
    "construction_200m": _maybe(st.integers(0, 3)), "mining_200m": _maybe(st.integers(0, 3)),
})
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _pair(params: dict, before: dict, after: dict):
    result = score_pipeline(frame(before, after), params, AS_OF)
    return result


@PROPERTY
@given(row=segments, extra_unit=st.integers(0, 500), extra_segment=st.integers(0, 500), set_4plus=st.booleans())
def test_more_households_never_lowers_class_or_score(params, row, extra_unit, extra_segment, set_4plus):
    """More households (in the unit or along the segment), or 4-storey dominance, never lower class or score."""
    after = dict(row)
    for key, extra in (("households_2km_unit", extra_unit), ("households_200m", extra_segment)):
        if row[key] is not None:
            after[key] = row[key] + extra
    if set_4plus and row["buildings_4plus_200m"] is False:
        after["buildings_4plus_200m"] = True
    result = _pair(params, row, after)
    rank = [LOCATION_CLASSES.index(c) for c in result.extra["location_class"]]
    assert rank[1] >= rank[0]
    assert result.extra["hca_grade"][1] >= result.extra["hca_grade"][0]
    assert result.score[1] >= result.score[0] - 1e-9


@PROPERTY
@given(row=segments, zone=st.sampled_from(["enterprises_5m", "enterprises_50m", "enterprises_200m",
                                           "construction_200m", "mining_200m"]), extra=st.integers(1, 5))
def test_a_new_enterprise_in_a_zone_never_lowers_the_score(params, row, zone, extra):
    """A new enterprise in a zone (counted in that zone and every wider one) never lowers the score."""
    wider = {"enterprises_5m": ["enterprises_5m", "enterprises_50m", "enterprises_200m"],
             "enterprises_50m": ["enterprises_50m", "enterprises_200m"]}.get(zone, [zone])
    assume(all(row[c] is not None for c in wider))
    after = {**row, **{c: row[c] + extra for c in wider}}
    result = _pair(params, row, after)
    assert result.score[1] >= result.score[0] - 1e-9
    assert result.direct_red.notna()[1] or not result.direct_red.notna()[0]


@PROPERTY
@given(row=segments, zone=st.sampled_from(["enterprises_5m", "enterprises_50m", "enterprises_200m"]),
       extra=st.integers(1, 5))
def test_any_zone_count_up_never_lowers_the_score(params, row, zone, extra):
    """Raising one zone count alone (even making the counts inconsistent) never lowers the score."""
    assume(row[zone] is not None)
    result = _pair(params, row, {**row, zone: row[zone] + extra})
    assert result.score[1] >= result.score[0] - 1e-9


@PROPERTY
@given(row=segments, years=st.integers(1, 60))
def test_an_older_line_never_scores_lower(params, row, years):
    """An earlier year_built never lowers the score."""
    assume(row["year_built"] is not None)
    result = _pair(params, row, {**row, "year_built": row["year_built"] - years})
    assert result.score[1] >= result.score[0] - 1e-9


@settings(max_examples=200, deadline=None)
@given(d=st.floats(1, 3000), p=st.floats(0, 40), dd=st.floats(0, 1000), dp=st.floats(0, 20))
def test_larger_diameter_or_pressure_never_lowers_the_pir(d, p, dd, dp):
    """A larger diameter or pressure never lowers the potential impact radius."""
    assert potential_impact_radius_m(d + dd, p) >= potential_impact_radius_m(d, p)
    assert potential_impact_radius_m(d, p + dp) >= potential_impact_radius_m(d, p)
    assert np.isfinite(potential_impact_radius_m(d + dd, p + dp))
