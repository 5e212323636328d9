"""The crowded-venue rule (domain.md §2, §5, §7): occupant load, exits, fire protection, hazards, direct red."""

from __future__ import annotations

import copy
import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.risk.config import ModelConfigError, load_model
from geo.risk.framework import final_level
from geo.risk.venue import FACTORS, score_venue

AS_OF = dt.date(2025, 6, 30)
MODEL = load_model()
BANDS = MODEL["levels"]

COMPLIANT = {  # a 150 m2 ground-floor shop: 90 people by density, two clear exits, sprinklers, alarm, inspected
    "venue_type": "mall",
    "floor_area_m2": 150.0,
    "storey": 1,
    "occupancy": None,
    "exits": 2,
    "exits_blocked": False,
    "exit_width_ratio": 1.0,
    "sprinklers": True,
    "fire_alarm": True,
    "last_fire_inspection": AS_OF - dt.timedelta(days=100),
    "status": "operating",
    "major_hazards_500m": 0.0,
    "hazardous_sites_500m": 0.0,
    "pipelines_in_impact_radius": 0.0,
}
MISSING = {k: None for k in COMPLIANT}


@pytest.fixture
def params() -> dict:
    """A fresh copy of the shipped [venue] section (tests may change it)."""
    return copy.deepcopy(load_model()["venue"])


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{**COMPLIANT, **r} for r in rows])


def factor(result, name: str):
    return next(f for f in result.factors if f.definition.name == name)


# --- worked examples -----------------------------------------------------------------------------------------


def test_worked_example_mall_third_floor(params):
    """A 2000 m2 mall floor on F3 with narrow exits, no sprinklers, near one major hazard and 4 hazardous sites.

    load = ceil(2000 x 0.54) = 1080 -> band 1000-2999: 20; exits 2 >= 2 required: 0; not blocked: 0;
    width 0.75 < 0.8: 15; no sprinklers: 8; alarm: 0; inspection (730 - 365) / (1095 - 365) x 8 = 4;
    major hazards 1 x 5 = 5; hazardous sites 4 x 2 = 8 capped at 6; pipelines 0.
    20 + 0 + 0 + 15 + 0 + 8 + 0 + 4 + 5 + 6 + 0 = 58: orange.
    """
    r = score_venue(
        frame(
            {
                "floor_area_m2": 2000.0,
                "storey": 3,
                "exit_width_ratio": 0.75,
                "sprinklers": False,
                "last_fire_inspection": AS_OF - dt.timedelta(days=730),
                "major_hazards_500m": 1.0,
                "hazardous_sites_500m": 4.0,
            }
        ),
        params,
        AS_OF,
    )
    assert r.score.iloc[0] == pytest.approx(58.0)
    points = {f.definition.name: f.points.iloc[0] for f in r.factors}
    assert points == pytest.approx(
        {
            "occupant_load": 20.0,
            "vulnerable_occupants": 0.0,
            "exits_blocked": 0.0,
            "exit_width_ratio": 15.0,
            "exit_count": 0.0,
            "sprinklers": 8.0,
            "fire_alarm": 0.0,
            "fire_inspection_age": 4.0,
            "major_hazards_500m": 5.0,
            "hazardous_sites_500m": 6.0,
            "pipelines_in_impact_radius": 0.0,
            "open_hidden_dangers": 0.0,
            "overdue_hidden_dangers": 0.0,
            "status": 0.0,
        }
    )
    assert r.extra["occupant_load"].iloc[0] == 1080.0
    assert not r.extra["vulnerable"].iloc[0]
    assert final_level(r.score, r.direct_red, BANDS).tolist() == ["orange"]
    assert r.direct_red.iloc[0] is None
    assert [f.definition for f in r.factors] == list(FACTORS)


def test_worked_example_kindergarten_blocked_exit(params):
    """A kindergarten of 180 children, one exit (blocked), no alarm, one pipeline PIR reaching it.

    load 180 (stated) -> band 100-299: 10; vulnerable (kindergarten): 15; blocked: 25; width 1.0: 0;
    one exit, two always required for kindergartens: 1 x 10 = 10; sprinklers: 0; no alarm: 8; inspection: 0;
    pipeline 1 x 3 = 3.  10 + 15 + 25 + 0 + 10 + 0 + 8 + 0 + 3 = 71: red, and direct red (180 >= 100).
    Suspended: 71 x 0.5 = 35.5, still direct red.
    """
    row = {
        "venue_type": "kindergarten",
        "occupancy": 180,
        "floor_area_m2": 150.0,
        "exits": 1,
        "exits_blocked": True,
        "fire_alarm": False,
        "pipelines_in_impact_radius": 1.0,
    }
    r = score_venue(frame(row, {**row, "status": "suspended"}), params, AS_OF)
    assert r.score.tolist() == pytest.approx([71.0, 35.5])
    assert factor(r, "status").points.iloc[1] == pytest.approx(-35.5)
    assert r.extra["vulnerable"].tolist() == [True, True]
    assert r.direct_red.tolist() == ["exit blocked or locked in a crowded venue (occupant load 180)"] * 2


def test_compliant_small_shop_is_blue(params):
    """The compliant 150 m2 shop: ceil(150 x 0.60) = 90 people -> band 50-99: 5 points, blue, nothing assumed."""
    r = score_venue(frame({}), params, AS_OF)
    assert r.score.iloc[0] == pytest.approx(5.0)
    assert r.extra["occupant_load"].iloc[0] == 90.0
    assert final_level(r.score, r.direct_red, BANDS).tolist() == ["blue"]
    assert not any(f.assumed.any() for f in r.factors)


def test_worst_case_venue_is_red(params):
    """A nursing home of 12000, no exits, blocked, narrow, unprotected, never inspected, many hazards: 100, red.

    30 + 15 + 25 + 15 + 20 + 8 + 8 + 8 + 10 + 6 + 6 = 151 -> capped at 100.
    """
    r = score_venue(
        frame(
            {
                "venue_type": "nursing_home",
                "occupancy": 12000,
                "exits": 0,
                "exits_blocked": True,
                "exit_width_ratio": 0.5,
                "sprinklers": False,
                "fire_alarm": False,
                "last_fire_inspection": None,
                "major_hazards_500m": 3.0,
                "hazardous_sites_500m": 5.0,
                "pipelines_in_impact_radius": 4.0,
            }
        ),
        params,
        AS_OF,
    )
    assert r.score.iloc[0] == pytest.approx(100.0)
    assert final_level(r.score, r.direct_red, BANDS).tolist() == ["red"]


# --- occupant load -------------------------------------------------------------------------------------------


def test_shop_densities_by_storey(params):
    """1000 m2 of shop floor: B3 560, B2 560, B1 600, F1 600, F2 600, F3 540, F5 420, unknown storey 600 (assumed)."""
    storeys = [-3, -2, -1, 1, 2, 3, 5, None]
    r = score_venue(frame(*[{"floor_area_m2": 1000.0, "storey": s} for s in storeys]), params, AS_OF)
    assert r.extra["occupant_load"].tolist() == [560, 560, 600, 600, 600, 540, 420, 600]
    assert factor(r, "occupant_load").assumed.tolist() == [False] * 7 + [True]


@pytest.mark.parametrize(
    ("venue_type", "load"),
    [
        ("entertainment", 500),
        ("cinema", 1000),
        ("exhibition", 750),
        ("market", 600),
        ("hotel", 50),
        ("kindergarten", 120),
    ],
)
def test_type_densities(params, venue_type, load):
    """1000 m2 on F1: entertainment 0.5, cinema 1.0, exhibition 0.75 (GB 50016), market as a shop, assumed others."""
    r = score_venue(frame({"venue_type": venue_type, "floor_area_m2": 1000.0}), params, AS_OF)
    assert r.extra["occupant_load"].iloc[0] == load


def test_stated_occupancy_wins_over_area(params):
    """A stated occupancy is used as it is, whatever the floor area gives."""
    r = score_venue(frame({"occupancy": 40, "floor_area_m2": 5000.0}), params, AS_OF)
    assert r.extra["occupant_load"].iloc[0] == 40.0


def test_single_exit_allowed_only_for_small_venues(params):
    """One exit is enough only for <= 50 people on <= 200 m2 and not in a kindergarten (GB 50016 §5.5.8 [R]).

    48 people on 80 m2: 0; 60 people: 10; 300 m2: 10; area unknown: 10; kindergarten of 20: 10; no exit: 2 x 10.
    """
    rows = [
        {"floor_area_m2": 80.0, "exits": 1},  # 48 people, 80 m2
        {"occupancy": 60, "floor_area_m2": 100.0, "exits": 1},  # > 50 people
        {"occupancy": 40, "floor_area_m2": 300.0, "exits": 1},  # > 200 m2
        {"occupancy": 40, "floor_area_m2": None, "exits": 1},  # area unknown: no exception
        {"venue_type": "kindergarten", "occupancy": 20, "floor_area_m2": 80.0, "exits": 1},
        {"exits": 0},  # 90 people, no exit: 2 x 10 = 20
    ]
    r = score_venue(frame(*rows), params, AS_OF)
    assert factor(r, "exit_count").points.tolist() == pytest.approx([0.0, 10.0, 10.0, 10.0, 10.0, 20.0])


def test_exit_width_bands(params):
    """Width ratio 1.2 and 1.0: 0; 0.9 and 0.8: 5 (below code); 0.79: 15 (below 80 %, GB 35181); missing: 5."""
    ratios = [1.2, 1.0, 0.9, 0.8, 0.79, None]
    r = score_venue(frame(*[{"exit_width_ratio": x} for x in ratios]), params, AS_OF)
    assert factor(r, "exit_width_ratio").points.tolist() == pytest.approx([0, 0, 5, 5, 15, 5])


# --- missing values ------------------------------------------------------------------------------------------


def test_everything_missing_but_type(params):
    """A mall with nothing else known: assumed load 200 (10) + blocked unknown 8 + width 5 + exits 5 + sprinklers 8
    + alarm 8 + inspection 8 + hazards 5 + 2 + 3 = 62 (orange); all but the type flagged assumed; no direct red."""
    r = score_venue(pd.DataFrame([{**MISSING, "venue_type": "mall"}]), params, AS_OF)
    assert r.score.iloc[0] == pytest.approx(62.0)
    assumed = {f.definition.name: bool(f.assumed.iloc[0]) for f in r.factors}
    # (the hidden-danger counts come from records only: without records they score 0, not assumed)
    record_only = ("vulnerable_occupants", "open_hidden_dangers", "overdue_hidden_dangers")
    assert assumed == {name: name not in record_only for name in assumed}
    assert r.extra["occupant_load"].iloc[0] == 200.0
    assert r.direct_red.iloc[0] is None


def test_unknown_type_uses_assumed_type(params):
    """A missing venue type: density of 'other' (0.5 -> 100 m2 = 50 people) and 5 vulnerability points, flagged."""
    r = score_venue(frame({"venue_type": None, "floor_area_m2": 100.0}), params, AS_OF)
    v = factor(r, "vulnerable_occupants")
    assert v.value.iloc[0] == "other" and v.points.iloc[0] == pytest.approx(5.0) and v.assumed.iloc[0]
    assert r.extra["occupant_load"].iloc[0] == 50.0 and factor(r, "occupant_load").assumed.iloc[0]
    assert not r.extra["vulnerable"].iloc[0]


def test_missing_columns_are_treated_as_missing(params):
    """A frame with only the venue type scores like the all-missing mall."""
    r = score_venue(pd.DataFrame([{"venue_type": "mall"}]), params, AS_OF)
    assert r.score.iloc[0] == pytest.approx(62.0)


def test_text_booleans(params):
    """Boolean columns given as text ('是', 'no', 'TRUE') are read as booleans."""
    r = score_venue(frame({"exits_blocked": "是", "sprinklers": "no", "fire_alarm": "TRUE"}), params, AS_OF)
    assert factor(r, "exits_blocked").points.iloc[0] == pytest.approx(25.0)
    assert factor(r, "sprinklers").points.iloc[0] == pytest.approx(8.0)
    assert factor(r, "fire_alarm").points.iloc[0] == pytest.approx(0.0)


# --- direct red ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "red"),
    [
        ({"exits_blocked": True, "occupancy": 100}, True),  # at the threshold
        ({"exits_blocked": True, "occupancy": 99}, False),  # below
        ({"exits_blocked": True, "floor_area_m2": 200.0}, True),  # ceil(200 x 0.6) = 120 by density
        ({"exits_blocked": True, "floor_area_m2": None}, False),  # load assumed (200): not established
        ({"exits_blocked": True, "occupancy": 500, "status": "closed"}, False),  # closed: exempt
        ({"exits_blocked": True, "occupancy": 500, "status": None}, True),  # missing status: not exempt
        ({"exits_blocked": None, "occupancy": 500}, False),  # unknown exit state
        ({"exits_blocked": False, "occupancy": 5000}, False),
    ],
)
def test_direct_red_blocked_exit_in_crowded_venue(params, row, red):
    """A stated blocked exit is direct red when the stated occupancy or floor area gives >= 100 people."""
    r = score_venue(frame(row), params, AS_OF)
    assert (r.direct_red.iloc[0] is not None) == red


# --- parameters ----------------------------------------------------------------------------------------------


def test_crowded_threshold_parameter(params):
    """Raising occupant_load.crowded_threshold to 150 clears the direct red of a blocked venue of 120 people."""
    row = {"exits_blocked": True, "occupancy": 120}
    assert score_venue(frame(row), params, AS_OF).direct_red.iloc[0] is not None
    params["occupant_load"]["crowded_threshold"] = 150.0
    assert score_venue(frame(row), params, AS_OF).direct_red.iloc[0] is None


def test_point_parameters_change_the_score(params):
    """Raising sprinklers.points from 8 to 12 raises the score of a venue without sprinklers by exactly 4."""
    before = score_venue(frame({"sprinklers": False}), params, AS_OF).score.iloc[0]
    params["sprinklers"]["points"] = 12.0
    after = score_venue(frame({"sprinklers": False}), params, AS_OF).score.iloc[0]
    assert after - before == pytest.approx(4.0)


def test_missing_density_is_a_config_error(params):
    """A venue type without a density in venue.density.by_type raises ModelConfigError naming it."""
    del params["density"]["by_type"]["hotel"]
    with pytest.raises(ModelConfigError, match="hotel"):
        score_venue(frame({"venue_type": "hotel"}), params, AS_OF)


def test_empty_frame(params):
    """An empty frame gives empty results."""
    r = score_venue(frame().iloc[0:0], params, AS_OF)
    assert len(r.score) == 0 and len(r.direct_red) == 0


# --- monotonicity (hypothesis) -------------------------------------------------------------------------------

TYPES = list(MODEL["venue"]["density"]["by_type"]) + ["mall", "market"]
counts = st.none() | st.integers(0, 20).map(float)
venues = st.fixed_dictionaries(
    {
        "venue_type": st.none() | st.sampled_from(TYPES),
        "floor_area_m2": st.none() | st.floats(0, 200_000, allow_nan=False),
        "storey": st.none() | st.integers(-5, 60),
        "occupancy": st.none() | st.integers(0, 100_000),
        "exits": st.none() | st.integers(0, 10),
        "exits_blocked": st.none() | st.booleans(),
        "exit_width_ratio": st.none() | st.floats(0, 3, allow_nan=False),
        "sprinklers": st.none() | st.booleans(),
        "fire_alarm": st.none() | st.booleans(),
        "last_fire_inspection": st.none() | st.integers(0, 4000).map(lambda d: AS_OF - dt.timedelta(days=d)),
        "status": st.none() | st.sampled_from(["operating", "suspended", "closed", "under_construction"]),
        "major_hazards_500m": counts,
        "hazardous_sites_500m": counts,
        "pipelines_in_impact_radius": counts,
    }
)


def _pair(venue: dict, change: dict):
    return score_venue(frame(venue, {**venue, **change}), MODEL["venue"], AS_OF)


def _no_less(r) -> None:
    assert r.score.iloc[1] >= r.score.iloc[0] - 1e-9
    assert r.direct_red.iloc[1] is not None or r.direct_red.iloc[0] is None


def _no_more(r) -> None:
    assert r.score.iloc[1] <= r.score.iloc[0] + 1e-9
    assert r.direct_red.iloc[0] is not None or r.direct_red.iloc[1] is None


@settings(max_examples=150, deadline=None)
@given(venue=venues)
def test_clearing_a_blocked_exit_never_raises_score(venue):
    """Clearing a blocked exit (true -> false, or unknown -> false) never raises the score nor adds a direct red."""
    for before in (True, None):
        _no_more(_pair(dict(venue, exits_blocked=before), {"exits_blocked": False}))


@settings(max_examples=150, deadline=None)
@given(
    venue=venues,
    n=st.integers(0, 50_000),
    dn=st.integers(0, 50_000),
    a=st.floats(0, 50_000, allow_nan=False),
    da=st.floats(0, 50_000, allow_nan=False),
)
def test_more_occupants_never_lower_score(venue, n, dn, a, da):
    """More occupants (a larger stated occupancy, or a larger floor area without one) never lower the score."""
    _no_less(_pair(dict(venue, occupancy=n), {"occupancy": n + dn}))
    _no_less(_pair(dict(venue, occupancy=None, floor_area_m2=a), {"floor_area_m2": a + da}))


@settings(max_examples=150, deadline=None)
@given(
    venue=venues,
    column=st.sampled_from(["major_hazards_500m", "hazardous_sites_500m", "pipelines_in_impact_radius"]),
    k=st.integers(0, 20),
    dk=st.integers(0, 20),
)
def test_more_hazards_nearby_never_lower_score(venue, column, k, dk):
    """More major hazards, hazardous sites or pipelines within reach never lower the score."""
    _no_less(_pair(dict(venue, **{column: float(k)}), {column: float(k + dk)}))


@settings(max_examples=150, deadline=None)
@given(venue=venues)
def test_adding_sprinklers_or_alarm_never_raises_score(venue):
    """Adding sprinklers (or a fire alarm), from absent or unknown, never raises the score."""
    for column in ("sprinklers", "fire_alarm"):
        for before in (False, None):
            _no_more(_pair(dict(venue, **{column: before}), {column: True}))


@settings(max_examples=100, deadline=None)
@given(
    venue=venues,
    w=st.floats(0, 3, allow_nan=False),
    dw=st.floats(0, 3, allow_nan=False),
    e=st.integers(0, 5),
    de=st.integers(0, 5),
)
def test_wider_or_more_exits_never_raise_score(venue, w, dw, e, de):
    """A wider total exit width or more exits never raise the score."""
    _no_more(_pair(dict(venue, exit_width_ratio=w), {"exit_width_ratio": w + dw}))
    _no_more(_pair(dict(venue, exits=e), {"exits": e + de}))


@settings(max_examples=100, deadline=None)
@given(venue=venues)
def test_score_is_bounded(venue):
    """Scores stay within 0-100 for any input."""
    r = _pair(venue, {})
    assert ((r.score >= 0) & (r.score <= 100)).all()
