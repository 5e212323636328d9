"""The backtest (geo/backtest.py): its arithmetic on arrays small enough to check by eye, and a constructed data set
on a real PostGIS, scored twice by the real scorer, whose capture curves are worked out by hand below."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from geo.backtest import (
    BacktestSettings,
    accident_types,
    capture_curve,
    curve_area,
    fitting_classes,
    naive_scores,
    positions_before,
    run_backtest,
    tie_positions,
)
from geo.errors import InvalidSetting
from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.geo.risk.record_rows import add_accident, add_enterprise

MODEL = load_model()


# ----- arithmetic ----------------------------------------------------------------------------------------------

def test_tie_positions_share_the_places_of_equal_scores():
    """Scores 9, 5, 5, 5, 1: the 9 is first (1, 1), the three 5s share places 2 … 4, the 1 is last (5, 5)."""
    scores = np.array([5.0, 9.0, 5.0, 1.0, 5.0])
    a, b = tie_positions(scores, np.array([9.0, 5.0, 1.0]))
    assert a.tolist() == [1, 2, 5] and b.tolist() == [1, 4, 5]


def test_capture_curve_and_area_by_hand():
    """Ten sites; one accident at the top site, one at the 4th, one at a site tied over all ten places.  In the
    top 10 % (one site): 1 + 0 + 1/10, over 3 accidents; in the top 40 %: 1 + 1 + 4/10.  Areas: 1 − (a − 1 +
    b)/(2n) each: 0.95, 0.65, 0.5."""
    a, b = np.array([1, 4, 1]), np.array([1, 4, 10])
    curve = capture_curve(a, b, 10)
    assert curve[9] == pytest.approx((1 + 0 + 0.1) / 3)
    assert curve[39] == pytest.approx((1 + 1 + 0.4) / 3)
    assert curve[34] == pytest.approx((1 + 0.5 + 0.35) / 3)  # k = 3.5: half of the 4th place
    assert curve[99] == pytest.approx(1.0)
    assert curve_area(a, b, 10) == pytest.approx((0.95 + 0.65 + 0.5) / 3)


def test_a_random_order_has_an_area_of_about_one_half():
    """Accidents at sites drawn at random from a random ranking: the area is close to 0.5 and the curve to
    the diagonal."""
    rng = np.random.default_rng(1)
    scores = rng.permutation(1000).astype(float)
    sites = rng.integers(0, 1000, 5000)
    a, b = tie_positions(scores, scores[sites])
    assert curve_area(a, b, 1000) == pytest.approx(0.5, abs=0.02)
    assert capture_curve(a, b, 1000)[19] == pytest.approx(0.2, abs=0.02)


def test_positions_use_the_scores_from_before_each_accident():
    """Three sites; history as of 1 Jan (scores 1, 2, 3), as of 1 Feb (site 0 rises to 5) and site 2 removed as of
    1 Mar.  An accident at site 0 on 1 Jan sees no score (all tied, unscored); on 15 Jan it is last; on 1 Feb still
    last (a score as of that very day is not *before*); on 2 Feb first; at site 1 on 2 Mar second of the two
    scored, the removed site ranking last."""
    day = lambda s: np.datetime64(s, "D")  # noqa: E731
    h_site = np.array([0, 1, 2, 0, 2])
    h_day = np.array([day("2026-01-01")] * 3 + [day("2026-02-01"), day("2026-03-01")])
    h_score = np.array([1.0, 2.0, 3.0, 5.0, np.nan])
    acc_site = np.array([0, 0, 0, 0, 1])
    acc_day = np.array([day(d) for d in ("2026-01-01", "2026-01-15", "2026-02-01", "2026-02-02", "2026-03-02")])
    a, b, own = positions_before(3, h_site, h_day, h_score, acc_site, acc_day)
    assert a.tolist() == [1, 3, 3, 1, 2] and b.tolist() == [3, 3, 3, 1, 2]
    assert np.isneginf(own[0]) and own[3] == 5.0


def test_accident_types_are_recognised_and_fit_their_classes():
    """Chinese and English spellings map to one type; a missing or unknown type is 'other' and fits every class."""
    config = MODEL["backtest"]
    types = accident_types(pd.Series(["火灾", " Explosion ", "溃坝", None, "something else"]), config)
    assert types.tolist() == ["fire", "explosion", "dam_failure", "other", "other"]
    fits = fitting_classes(types, config)
    assert fits.tolist()[2] == "tailings_pond"
    assert fits.tolist()[3] == "enterprise,tailings_pond,pipeline,venue"


def test_settings_refuse_a_window_that_ends_before_it_starts():
    """--to before --from, or a radius of 0, is refused with the option named."""
    with pytest.raises(InvalidSetting, match="--to"):
        BacktestSettings(dt.date(2026, 2, 1), dt.date(2026, 1, 1))
    with pytest.raises(InvalidSetting, match="--radius-m"):
        BacktestSettings(dt.date(2026, 1, 1), dt.date(2026, 2, 1), radius_m=0)


# ----- a constructed data set, end to end ----------------------------------------------------------------------

# Ten machinery works 2 km apart (no people, no chemicals), all inspected on the same day, so that their scores
# differ only by the register's open hidden dangers (2.5 points each) and violations (3 each):
DANGERS = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3]
VIOLATIONS = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
# → extra points 0, 2.5, 5, 7.5, 10, 12.5, 3, 5.5, 8, 10.5: ranked (best first) 5, 9, 4, 8, 3, 7, 2, 6, 1, 0.
EMPLOYEES = [10 * (i + 1) for i in range(10)]  # by size: 9, 8, …, 0
RUN_1, RUN_2 = dt.date(2026, 1, 31), dt.date(2026, 3, 31)


def site_position(i: int) -> tuple[float, float]:
    return 118.0 + 0.025 * i, 39.6


@pytest.fixture
def constructed(db):
    """The ten works scored as of 31 January; site 0 then given 6 open dangers and 5 violations (rising to the
    top) and re-scored as of 31 March; six accidents in January to April."""
    ids = [add_enterprise(db, *site_position(i), open_hidden_dangers=DANGERS[i], violations_12m=VIOLATIONS[i],
                          employees=EMPLOYEES[i]) for i in range(10)]
    score(db, MODEL, RUN_1, full=True)
    with db.cursor() as cur:
        cur.execute("UPDATE enterprise SET open_hidden_dangers = 6, violations_12m = 5 WHERE id = %s", (ids[0],))
    db.commit()
    score(db, MODEL, RUN_2)
    lon5, lat5 = site_position(5)
    lon8, lat8 = site_position(8)
    add_accident(db, *site_position(9), dt.date(2026, 1, 15), site=("enterprise", ids[9]))  # A: before any score
    add_accident(db, lon5, lat5, dt.date(2026, 2, 10), site=("enterprise", ids[5]))  # B: named, first in run 1
    add_accident(db, lon8 + 0.001, lat8, dt.date(2026, 2, 20), accident_type="爆炸")  # C: ~85 m from site 8, 4th
    add_accident(db, *site_position(0), dt.date(2026, 4, 5), site=("enterprise", ids[0]))  # D: first in run 2
    add_accident(db, 118.6, 39.6, dt.date(2026, 3, 1))  # E: a fire 32 km east of site 9, nothing within 500 m
    add_accident(db, lon5, lat5, dt.date(2026, 3, 2), accident_type="溃坝")  # F: a dam failure, no pond near
    add_accident(db, lon5, lat5, dt.date(2026, 3, 3), site=("enterprise", 999_999))  # G: names no such site
    add_accident(db, lon5, lat5, dt.date(2026, 5, 1), site=("enterprise", ids[5]))  # H: after the window
    return db, ids


def test_the_capture_curves_of_a_constructed_data_set_are_those_worked_out_by_hand(constructed):
    """Four accidents attributed (three named, one to the nearest site), three listed as unattributed with their
    reasons, one outside the window ignored.

    Model, n = 10: A at a site not yet scored (tied over places 1 … 10), B at the first, C at the 4th (run 1),
    D at the first (run 2, site 0 having risen).  Top 10 %: (0.1 + 1 + 0 + 1) / 4 = 0.525; top 40 %:
    (0.4 + 1 + 1 + 1) / 4 = 0.85; area: (0.5 + 0.95 + 0.65 + 0.95) / 4 = 0.7625.
    Size (by employees, site 9 first): A 1st, B 5th, C 2nd, D 10th: area (0.95 + 0.55 + 0.85 + 0.05) / 4 = 0.6,
    top 20 %: (1 + 0 + 1 + 0) / 4 = 0.5.  Industry: all works in one sector, tied over all places: the
    diagonal, area 0.5."""
    db, ids = constructed
    report = run_backtest(db, BacktestSettings(dt.date(2026, 1, 1), dt.date(2026, 4, 30)), MODEL)
    assert report["sites"] == 10 and report["accidents"] == 7
    assert report["attributed"] == {"named": 3, "nearest": 1, "total": 4, "not_scored_before": 1}
    model = report["rankings"]["model"]
    assert model["capture"][9] == pytest.approx(0.525)
    assert model["capture"][39] == pytest.approx(0.85)
    assert model["capture"][99] == pytest.approx(1.0)
    assert model["area"] == pytest.approx(0.7625)
    size = report["rankings"]["size"]
    assert size["area"] == pytest.approx(0.6) and size["top_20"] == pytest.approx(0.5)
    industry = report["rankings"]["industry"]
    assert industry["area"] == pytest.approx(0.5)
    assert industry["capture"] == pytest.approx([x / 100 for x in range(1, 101)])
    assert 0 <= report["rankings"]["random"]["area"] <= 1
    assert report["best_naive"] == "size"
    assert report["industry_basis"].startswith("the window's own accidents (hindsight")
    assert report["model_top_20_vs_best_naive"] == pytest.approx(model["top_20"] / 0.5, abs=1e-4)

    missing = report["unattributed"]
    assert missing["count"] == 3
    reasons = {m["occurred_on"]: m["reason"] for m in missing["accidents"]}
    assert reasons["2026-03-01"] == "no scored enterprise, pipeline, venue within 500 m"
    assert reasons["2026-03-02"] == "no scored tailings_pond within 500 m"
    assert reasons["2026-03-03"] == "the site named on it is not in the register"


def test_the_expected_accidents_ranking_of_the_constructed_data_set_by_hand(constructed):
    """Expected accidents: ln rate = ln r + ln(employees / 55) + 0.039 · score (one class, no accident before the
    window: r is common).  Run 1, by 0.039 · extra points + ln(i + 1): 9 (2.71), 8 (2.51), 7 (2.29), 5 (2.28),
    6 (2.06), 4 (2.00), 3, 2, 1, 0.  Run 2: site 0's 30 extra points give it 1.17, between sites 2 (1.29) and 1
    (0.79): 9th.  A tied over 1 … 10 (area 0.5), B (site 5) 4th (0.65), C (site 8) 2nd (0.85), D (site 0) 9th
    (0.15): area 0.5375; top 20 %: (0.2 + 0 + 1 + 0) / 4 = 0.3."""
    db, _ = constructed
    report = run_backtest(db, BacktestSettings(dt.date(2026, 1, 1), dt.date(2026, 4, 30)), MODEL)
    expected = report["rankings"]["expected"]
    assert expected["area"] == pytest.approx(0.5375)
    assert expected["top_20"] == pytest.approx(0.3)
    assert report["expected_basis"]["accidents_before"] == 0
    assert report["expected_basis"]["class_rates_per_site_year"] == {"enterprise": 1.0}
    assert report["expected_top_20_vs_best_naive"] == pytest.approx(0.3 / 0.5, abs=1e-4)


def test_the_expected_ranking_learns_its_class_rate_from_the_accidents_before_the_window(constructed):
    """From 1 February, the accident of 15 January is the one before: ten enterprises over the 17 days before
    the window, 1 / (10 · 17 / 365.25) a site-year (one class, one sector: each prior pulls toward itself)."""
    db, _ = constructed
    report = run_backtest(db, BacktestSettings(dt.date(2026, 2, 1), dt.date(2026, 4, 30)), MODEL)
    basis = report["expected_basis"]
    assert basis["accidents_before"] == 1
    assert basis["class_rates_per_site_year"]["enterprise"] == pytest.approx(365.25 / 170, rel=1e-5)
    assert basis["sector_rates_per_site_year"] == pytest.approx({"enterprise:machinery": 365.25 / 170}, rel=1e-5)


def test_industry_rates_come_from_the_accidents_before_the_window(constructed):
    """A window from 1 February leaves the January accident before it: the sectors' rates are measured on it
    (no hindsight), and the window holds the other six."""
    db, _ = constructed
    report = run_backtest(db, BacktestSettings(dt.date(2026, 2, 1), dt.date(2026, 4, 30)), MODEL)
    assert report["accidents"] == 6
    assert report["industry_basis"] == "1 accident recorded before the window"


def test_naive_rankings_by_size_and_industry():
    """Sizes rank within their class (a pond of 50 and an enterprise of 500 employees are both their class's
    largest), unknown sizes last; each sector scores its accidents per site: mining works and ponds 1 of 2
    (0.5), malls none of 4 (0); the random ranking is a permutation."""
    sites = pd.DataFrame({"kind": ["enterprise", "enterprise", "tailings_pond", "tailings_pond", "venue", "venue"],
                          "size": [500.0, 20.0, 50.0, 10.0, np.nan, 100.0],
                          "sector": ["enterprise:mining", "enterprise:mining", "tailings_pond", "tailings_pond",
                                     "venue:mall", "venue:mall"]})
    sites.loc[len(sites)] = ["venue", 5.0, "venue:mall"]
    sites.loc[len(sites)] = ["venue", 6.0, "venue:mall"]
    scores = naive_scores(sites, np.array([0, 2]), seed=3)
    assert scores["size"][0] == scores["size"][2] == 1.0 and np.isneginf(scores["size"][4])
    assert scores["industry"].tolist() == [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0]
    assert sorted(scores["random"].tolist()) == list(range(8))


def test_a_wider_radius_attributes_more(constructed):
    """With a 40 km radius the fire 32 km away is attributed (to the nearest work), the dam failure still not."""
    db, _ = constructed
    report = run_backtest(db, BacktestSettings(dt.date(2026, 1, 1), dt.date(2026, 4, 30), radius_m=40_000), MODEL)
    assert report["attributed"]["nearest"] == 2 and report["unattributed"]["count"] == 2
