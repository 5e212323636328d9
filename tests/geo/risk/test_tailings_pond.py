"""The tailings-pond rule (domain.md §2, §3): grade table, overhead pond, GISTM class, direct red, monotonicity."""

from __future__ import annotations

import copy
import datetime as dt
import doctest
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.risk import tailings_pond
from geo.risk.config import ModelConfigError, load_model
from geo.risk.framework import final_level
from geo.risk.tailings_pond import FACTORS, pond_grade, score_tailings_pond

AS_OF = dt.date(2025, 6, 30)
MODEL = load_model()
BANDS = MODEL["levels"]
AQ = MODEL["tailings_pond"]["grade_tables"]["AQ2006"]
GB = MODEL["tailings_pond"]["grade_tables"]["GB39496"]

COMPLIANT = {  # a small grade-五 pond, normal, nobody downstream, inspected a month ago
    "dam_height_m": 20.0,
    "capacity_10k_m3": 50.0,
    "safety_state": "normal",
    "downstream_direction_deg": 90.0,
    "downstream_population": 0,
    "ore": "iron",
    "status": "operating",
    "major_hidden_danger": False,
    "last_inspection": AS_OF - dt.timedelta(days=30),
    "downstream_people_1km": 0.0,
    "downstream_facilities_1km": 0.0,
    "downstream_area": "sector",
}
MISSING = {k: None for k in COMPLIANT}


@pytest.fixture
def params() -> dict:
    """A fresh copy of the shipped [tailings_pond] section (tests may change it)."""
    return copy.deepcopy(load_model()["tailings_pond"])


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{**COMPLIANT, **r} for r in rows])


def factor(result, name: str):
    return next(f for f in result.factors if f.definition.name == name)


# --- pond_grade ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "capacity", "table", "expected"),
    [
        (20.0, 50.0, AQ, 5),  # 五 / 五
        (30.0, 100.0, AQ, 4),  # lower bounds belong to the grade: 四 / 四
        (29.99, 99.99, AQ, 5),  # just below: 五 / 五
        (45.0, 500.0, AQ, 4),  # 四 / 四
        (70.0, 500.0, AQ, 3),  # H 三, V 四: differ by one, the higher = 三
        (110.0, 2000.0, AQ, 2),  # H 二, V 三: 二
        (110.0, 500.0, AQ, 3),  # H 二, V 四: differ by two, 二 lowered by one = 三
        (110.0, 50.0, AQ, 3),  # H 二, V 五: differ by three, 二 lowered by one = 三
        (100.0, 10000.0, AQ, 2),  # bounds of 二
        (250.0, 60000.0, AQ, 2),  # AQ 2006 never assigns 一 from data
        (250.0, 60000.0, GB, 1),  # GB 39496 (unconfirmed bounds): 一 / 一
        (200.0, 20000.0, GB, 1),  # H 一, V 二: 一
        (250.0, 50.0, GB, 2),  # H 一, V 五: 一 lowered by one = 二
        (59.0, 1000.0, GB, 3),  # grades 三..五 as in AQ 2006: H 四, V 三 -> 三
    ],
)
def test_pond_grade_table(height, capacity, table, expected):
    """pond_grade follows the domain.md §3 grade table and its mismatch rule for both tables."""
    assert pond_grade(height, capacity, table) == expected


def test_pond_grade_docstring_examples():
    """The examples in pond_grade's docstring run and hold."""
    assert doctest.testmod(tailings_pond).failed == 0


def test_pond_grade_one_criterion_missing():
    """With H or V missing the grade comes from the other alone; with both missing it is None."""
    assert pond_grade(None, 20000.0, AQ) == 2
    assert pond_grade(45.0, float("nan"), AQ) == 4
    assert pond_grade(None, None, AQ) is None


def test_pond_grade_arrays():
    """Array inputs give a float array with NaN where both H and V are missing."""
    g = pond_grade(np.array([20.0, np.nan, 110.0]), np.array([50.0, np.nan, np.nan]), AQ)
    assert g[0] == 5 and math.isnan(g[1]) and g[2] == 2


def test_pond_grade_rejects_bad_table():
    """A grade table whose bounds increase is a configuration error naming the key."""
    bad = {"capacity_10k_m3": [100.0, 1000.0, 10000.0, 50000.0], "dam_height_m": [200.0, 100.0, 60.0, 30.0]}
    with pytest.raises(ModelConfigError, match="capacity_10k_m3"):
        pond_grade(10.0, 10.0, bad)


# --- worked examples -----------------------------------------------------------------------------------------


def test_worked_example_overhead_ill_pond(params):
    """Grade-三 overhead 病库 with 40 people downstream, 2 facilities, inspected 730 days ago.

    grade: H 70 -> 三, V 500 -> 四, differ by one -> 三: 18; state ill: 15; overhead: 10;
    PAR = max(40 computed, 25 registered) = 40 -> GISTM High: 10; facilities 2 x 2 = 4;
    inspection (730 - 365) / (1095 - 365) x 10 = 5; no major hidden danger: 0.
    raw = 18 + 15 + 10 + 10 + 4 + 5 + 0 = 62 operating; closed: 62 x 0.6 = 37.2.  Direct red: overhead + 病.
    """
    base = {
        "dam_height_m": 70.0,
        "capacity_10k_m3": 500.0,
        "safety_state": "ill",
        "downstream_population": 25,
        "downstream_people_1km": 40.0,
        "downstream_facilities_1km": 2.0,
        "last_inspection": AS_OF - dt.timedelta(days=730),
    }
    r = score_tailings_pond(frame(base, {**base, "status": "closed"}), params, AS_OF)
    assert r.score.tolist() == pytest.approx([62.0, 37.2])
    points = {f.definition.name: f.points.iloc[0] for f in r.factors}
    assert points == pytest.approx(
        {
            "grade": 18.0,
            "safety_state": 15.0,
            "overhead": 10.0,
            "population_at_risk": 10.0,
            "downstream_facilities": 4.0,
            "inspection_age": 5.0,
            "major_hidden_danger": 0.0,
            "open_hidden_dangers": 0.0,
            "overdue_hidden_dangers": 0.0,
            "status": 0.0,
        }
    )
    assert factor(r, "status").points.iloc[1] == pytest.approx(62.0 * -0.4)
    assert r.extra["grade"].tolist() == [3, 3]
    assert r.extra["overhead"].tolist() == [True, True]
    assert r.extra["population_at_risk"].tolist() == [40.0, 40.0]
    assert r.extra["gistm_class"].tolist() == ["High", "High"]
    assert r.direct_red.iloc[0] == "overhead pond (头顶库), 病库 (safety state ill)"
    assert r.direct_red.iloc[1] is not None  # a closed pond can still fail: direct red stays
    assert [f.definition for f in r.factors] == list(FACTORS)


def test_compliant_small_pond_is_blue(params):
    """A small grade-五 normal pond with nobody downstream scores 4 (grade points only): blue."""
    r = score_tailings_pond(frame({}), params, AS_OF)
    assert r.score.iloc[0] == pytest.approx(4.0)
    assert final_level(r.score, r.direct_red, BANDS).tolist() == ["blue"]
    assert r.direct_red.iloc[0] is None
    assert r.extra["gistm_class"].iloc[0] == "Low" and not r.extra["overhead"].iloc[0]
    assert not any(f.assumed.any() for f in r.factors)


def test_worst_case_pond_is_red(params):
    """A grade-一 危库 with 5000 people and 4 facilities downstream, never inspected, open major danger: 100, red.

    30 + 40 + 10 + 20 + 6 (4 x 2 capped at 6) + 10 + 25 = 141 -> capped at 100.
    """
    r = score_tailings_pond(
        frame(
            {
                "dam_height_m": 210.0,
                "capacity_10k_m3": 60000.0,
                "safety_state": "critical",
                "downstream_people_1km": 5000.0,
                "downstream_facilities_1km": 4.0,
                "last_inspection": None,
                "major_hidden_danger": True,
            }
        ),
        params,
        AS_OF,
    )
    assert r.score.iloc[0] == pytest.approx(100.0)
    assert r.extra["gistm_class"].iloc[0] == "Extreme"
    assert r.direct_red.iloc[0] == (
        "危库 (safety state critical); overhead pond (头顶库), 危库 (safety state critical); "
        "open major hidden danger (重大事故隐患)"
    )


def test_grade_two_ill_pond_overdue_is_orange(params):
    """A grade-二 病库 with nobody downstream, inspected 3+ years ago: 25 + 15 + 10 = 50, orange, not direct red."""
    r = score_tailings_pond(
        frame(
            {
                "dam_height_m": 120.0,
                "capacity_10k_m3": 12000.0,
                "safety_state": "ill",
                "last_inspection": AS_OF - dt.timedelta(days=1200),
            }
        ),
        params,
        AS_OF,
    )
    assert r.score.iloc[0] == pytest.approx(50.0)
    assert final_level(r.score, r.direct_red, BANDS).tolist() == ["orange"]


# --- missing values ------------------------------------------------------------------------------------------


def test_everything_missing_is_conservative_but_not_direct_red(params):
    """With every input missing: assumed grade 三 18 + ill 15 + overhead 10 + PAR 100 (High) 10 + 1 facility 2
    + inspection 10 + unknown major danger 3 = 68 (orange), every factor of the register flagged assumed, no
    direct red (the hidden-danger counts come from records only: 0 points without records, not assumed)."""
    r = score_tailings_pond(pd.DataFrame([MISSING]), params, AS_OF)
    assert r.score.iloc[0] == pytest.approx(68.0)
    record_only = ("open_hidden_dangers", "overdue_hidden_dangers")
    assert all(bool(f.assumed.iloc[0]) for f in r.factors if f.definition.name not in record_only)
    assert all(f.points.iloc[0] == 0 and not f.assumed.iloc[0] for f in r.factors
               if f.definition.name in record_only)
    assert r.direct_red.iloc[0] is None
    assert r.extra["grade"].iloc[0] == 3
    assert r.extra["population_at_risk"].iloc[0] == 100.0
    assert r.extra["gistm_class"].iloc[0] == "High"
    assert bool(r.extra["overhead"].iloc[0])


def test_missing_columns_are_treated_as_missing(params):
    """A frame without the context columns scores like one whose context values are all missing."""
    bare = pd.DataFrame([{"dam_height_m": 20.0, "capacity_10k_m3": 50.0}])
    r = score_tailings_pond(bare, params, AS_OF)
    assert factor(r, "population_at_risk").assumed.iloc[0]
    assert factor(r, "safety_state").value.iloc[0] == "ill"


def test_missing_height_grades_from_capacity_and_is_flagged(params):
    """A missing dam height: the grade comes from V alone (V 2000 -> 三, 18 points), flagged assumed."""
    r = score_tailings_pond(frame({"dam_height_m": None, "capacity_10k_m3": 2000.0}), params, AS_OF)
    g = factor(r, "grade")
    assert g.value.iloc[0] == 3 and g.points.iloc[0] == pytest.approx(18.0) and g.assumed.iloc[0]


def test_assumed_state_does_not_trigger_direct_red(params):
    """An overhead pond (30 registered people) with no safety state: assumed 病 scores 15 but is not direct red."""
    r = score_tailings_pond(frame({"safety_state": None, "downstream_population": 30}), params, AS_OF)
    s = factor(r, "safety_state")
    assert s.value.iloc[0] == "ill" and s.points.iloc[0] == pytest.approx(15.0) and s.assumed.iloc[0]
    assert r.direct_red.iloc[0] is None


def test_registered_population_used_when_not_computed(params):
    """downstream_people_1km not computed: PAR is the registered 500 (Very High), not flagged assumed."""
    r = score_tailings_pond(frame({"downstream_people_1km": None, "downstream_population": 500}), params, AS_OF)
    par = factor(r, "population_at_risk")
    assert par.value.iloc[0] == 500.0 and not par.assumed.iloc[0]
    assert r.extra["gistm_class"].iloc[0] == "Very High"


def test_circle_count_scores_but_does_not_establish_overhead(params):
    """A circle count (direction unknown) of 50 people raises the score, flagged assumed, but a 病 pond is not
    direct red unless circle_establishes_overhead is true."""
    row = {
        "safety_state": "ill",
        "downstream_direction_deg": None,
        "downstream_area": "circle",
        "downstream_people_1km": 50.0,
        "downstream_population": None,
    }
    r = score_tailings_pond(frame(row), params, AS_OF)
    assert r.score.iloc[0] == pytest.approx(4.0 + 15.0 + 10.0 + 10.0)
    assert factor(r, "overhead").assumed.iloc[0] and factor(r, "population_at_risk").assumed.iloc[0]
    assert r.direct_red.iloc[0] is None
    params["overhead"]["circle_establishes_overhead"] = True
    r2 = score_tailings_pond(frame(row), params, AS_OF)
    assert r2.direct_red.iloc[0] == "overhead pond (头顶库), 病库 (safety state ill)"
    assert r2.score.iloc[0] == pytest.approx(r.score.iloc[0])


def test_unknown_major_hidden_danger_scores_a_little(params):
    """major_hidden_danger missing: points_if_unknown (3), flagged assumed, no direct red."""
    r = score_tailings_pond(frame({"major_hidden_danger": None}), params, AS_OF)
    m = factor(r, "major_hidden_danger")
    assert m.points.iloc[0] == pytest.approx(3.0) and m.assumed.iloc[0] and r.direct_red.iloc[0] is None


def test_inspection_dates_in_any_form(params):
    """Inspection dates as date, Timestamp, text or in the future all work; future dates count as 0 days."""
    rows = [
        {"last_inspection": AS_OF - dt.timedelta(days=1095)},
        {"last_inspection": pd.Timestamp(AS_OF) - pd.Timedelta(days=730)},
        {"last_inspection": "2020-01-01"},
        {"last_inspection": AS_OF + dt.timedelta(days=10)},
    ]
    r = score_tailings_pond(frame(*rows), params, AS_OF)
    insp = factor(r, "inspection_age")
    assert insp.points.tolist() == pytest.approx([10.0, 5.0, 10.0, 0.0])
    assert insp.value.iloc[3] == 0.0


# --- GISTM class ---------------------------------------------------------------------------------------------


def test_gistm_class_boundaries_fall_in_the_lower_class(params):
    """PAR 0 Low; 1 and 10 Significant; 11 and 100 High; 101 and 1000 Very High; 1001 Extreme."""
    pars = [0, 1, 10, 11, 100, 101, 1000, 1001]
    r = score_tailings_pond(frame(*[{"downstream_people_1km": float(p)} for p in pars]), params, AS_OF)
    assert r.extra["gistm_class"].tolist() == [
        "Low",
        "Significant",
        "Significant",
        "High",
        "High",
        "Very High",
        "Very High",
        "Extreme",
    ]
    assert factor(r, "population_at_risk").points.tolist() == [0, 5, 5, 10, 10, 15, 15, 20]
    assert r.extra["overhead"].tolist() == [False] + [True] * 7


def test_facility_alone_makes_an_overhead_pond(params):
    """One important facility downstream and nobody living there: overhead (10) + 2, GISTM Low."""
    r = score_tailings_pond(frame({"downstream_facilities_1km": 1.0}), params, AS_OF)
    assert r.score.iloc[0] == pytest.approx(4.0 + 10.0 + 2.0)
    assert bool(r.extra["overhead"].iloc[0]) and r.extra["gistm_class"].iloc[0] == "Low"


# --- direct red ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"safety_state": "critical"}, "危库 (safety state critical)"),
        ({"safety_state": "dangerous"}, "险库 (safety state dangerous)"),
        ({"safety_state": "危库"}, "危库 (safety state critical)"),
        ({"safety_state": "ill", "downstream_population": 3}, "overhead pond (头顶库), 病库 (safety state ill)"),
        ({"safety_state": "ill", "downstream_facilities_1km": 1.0}, "overhead pond (头顶库), 病库 (safety state ill)"),
        ({"major_hidden_danger": True}, "open major hidden danger (重大事故隐患)"),
        ({"safety_state": "ill"}, None),  # not overhead
        ({"safety_state": "normal", "downstream_people_1km": 500.0}, None),  # overhead but normal
    ],
)
def test_direct_red_rules(params, row, reason):
    """危/险 ponds, overhead ponds in state 病 or worse and open major hidden dangers are direct red."""
    r = score_tailings_pond(frame(row), params, AS_OF)
    assert r.direct_red.iloc[0] == reason


# --- parameters ----------------------------------------------------------------------------------------------


def test_grade_table_parameter_changes_the_grade(params):
    """H 250 m, V 60000: GB39496 (default) grade 一 = 30 points; AQ2006 grade 二 = 25 points, 5 fewer."""
    row = {"dam_height_m": 250.0, "capacity_10k_m3": 60000.0}
    gb = score_tailings_pond(frame(row), params, AS_OF)
    params["grade_table"] = "AQ2006"
    aq = score_tailings_pond(frame(row), params, AS_OF)
    assert (gb.extra["grade"].iloc[0], aq.extra["grade"].iloc[0]) == (1, 2)
    assert gb.score.iloc[0] - aq.score.iloc[0] == pytest.approx(5.0)


def test_point_parameters_change_the_score(params):
    """Raising safety_state.points.ill from 15 to 25 raises a 病 pond's score by exactly 10."""
    before = score_tailings_pond(frame({"safety_state": "ill"}), params, AS_OF).score.iloc[0]
    params["safety_state"]["points"]["ill"] = 25.0
    after = score_tailings_pond(frame({"safety_state": "ill"}), params, AS_OF).score.iloc[0]
    assert after - before == pytest.approx(10.0)


def test_unknown_grade_table_is_a_config_error(params):
    """A grade_table that names no table raises ModelConfigError naming the parameter."""
    params["grade_table"] = "GB9999"
    with pytest.raises(ModelConfigError, match="grade_table"):
        score_tailings_pond(frame({}), params, AS_OF)


def test_empty_frame(params):
    """An empty frame gives empty results."""
    r = score_tailings_pond(frame().iloc[0:0], params, AS_OF)
    assert len(r.score) == 0 and len(r.direct_red) == 0


# --- monotonicity (hypothesis) -------------------------------------------------------------------------------

STATES = ["normal", "ill", "dangerous", "critical"]
heights = st.floats(0, 400, allow_nan=False)
capacities = st.floats(0, 1_000_000, allow_nan=False)
people = st.floats(0, 100_000, allow_nan=False)

ponds = st.fixed_dictionaries(
    {
        "dam_height_m": st.none() | heights,
        "capacity_10k_m3": st.none() | capacities,
        "safety_state": st.none() | st.sampled_from(STATES),
        "downstream_population": st.none() | st.integers(0, 100_000),
        "status": st.none() | st.sampled_from(["operating", "suspended", "closed", "under_construction"]),
        "major_hidden_danger": st.none() | st.booleans(),
        "last_inspection": st.none() | st.integers(0, 4000).map(lambda d: AS_OF - dt.timedelta(days=d)),
        "downstream_people_1km": st.none() | people,
        "downstream_facilities_1km": st.none() | st.integers(0, 10).map(float),
        "downstream_area": st.sampled_from(["sector", "circle"]),
        "grade_table": st.sampled_from(["AQ2006", "GB39496"]),
    }
)


def _pair(params: dict, pond: dict, change: dict):
    p = copy.deepcopy(params)
    p["grade_table"] = pond.pop("grade_table")
    return score_tailings_pond(frame(pond, {**pond, **change}), p, AS_OF)


def _no_less(r) -> None:
    assert r.score.iloc[1] >= r.score.iloc[0] - 1e-9
    assert r.direct_red.iloc[1] is not None or r.direct_red.iloc[0] is None


@settings(max_examples=150, deadline=None)
@given(pond=ponds, h=heights, dh=st.floats(0, 200, allow_nan=False))
def test_higher_dam_never_lowers_grade_or_score(pond, h, dh):
    """A higher dam never lowers the grade (a smaller number) nor the score."""
    pond["dam_height_m"] = h
    r = _pair(MODEL["tailings_pond"], pond, {"dam_height_m": h + dh})
    assert r.extra["grade"].iloc[1] <= r.extra["grade"].iloc[0]
    _no_less(r)


@settings(max_examples=150, deadline=None)
@given(pond=ponds, v=capacities, dv=st.floats(0, 100_000, allow_nan=False))
def test_more_capacity_never_lowers_grade_or_score(pond, v, dv):
    """More storage capacity never lowers the grade nor the score."""
    pond["capacity_10k_m3"] = v
    r = _pair(MODEL["tailings_pond"], pond, {"capacity_10k_m3": v + dv})
    assert r.extra["grade"].iloc[1] <= r.extra["grade"].iloc[0]
    _no_less(r)


@settings(max_examples=150, deadline=None)
@given(pond=ponds, n=people, dn=people, reg=st.integers(0, 1000), dreg=st.integers(0, 1000))
def test_more_people_downstream_never_lowers_score(pond, n, dn, reg, dreg):
    """More people downstream (computed or registered) never lowers the score nor removes a direct red."""
    pond["downstream_people_1km"], pond["downstream_population"] = n, reg
    _no_less(_pair(MODEL["tailings_pond"], dict(pond), {"downstream_people_1km": n + dn}))
    _no_less(_pair(MODEL["tailings_pond"], dict(pond), {"downstream_population": reg + dreg}))


@settings(max_examples=150, deadline=None)
@given(pond=ponds, i=st.integers(0, 3), j=st.integers(0, 3))
def test_worse_state_never_lowers_score(pond, i, j):
    """A worse stated safety state (正常 < 病 < 险 < 危) never lowers the score nor removes a direct red."""
    lo, hi = sorted((i, j))
    pond["safety_state"] = STATES[lo]
    _no_less(_pair(MODEL["tailings_pond"], pond, {"safety_state": STATES[hi]}))


@settings(max_examples=100, deadline=None)
@given(pond=ponds)
def test_open_major_hidden_danger_never_lowers_score(pond):
    """An open major hidden danger never scores less than a stated absence or an unknown."""
    for before in (False, None):
        pond2 = dict(pond, major_hidden_danger=before)
        _no_less(_pair(MODEL["tailings_pond"], pond2, {"major_hidden_danger": True}))


@settings(max_examples=100, deadline=None)
@given(pond=ponds)
def test_score_is_bounded(pond):
    """Scores stay within 0-100 for any input."""
    r = _pair(MODEL["tailings_pond"], pond, {})
    assert ((r.score >= 0) & (r.score <= 100)).all()
