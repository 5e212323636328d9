"""Expected accidents (geo/risk/likelihood.py): class rates learned from accident records with a prior, the
exposure term and the score as a likelihood, on numbers small enough to check by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geo.errors import InvalidSetting
from geo.risk.config import load_model
from geo.risk.likelihood import class_rates, likelihood_params, log_expected, log_exposure, sector_rates


def test_class_rates_are_pulled_toward_the_rate_over_all_classes():
    """10 sites of class a with 3 accidents and 40 of class b with 1, over 2 years, prior 50 site-years: the rate
    over all is 4 / (50 · 2) = 0.04; a: (3 + 50 · 0.04) / (10 · 2 + 50) = 5 / 70; b: (1 + 2) / (80 + 50) = 3 / 130."""
    kinds = np.array(["a"] * 10 + ["b"] * 40, dtype=object)
    rates = class_rates(kinds, np.array(["a", "a", "a", "b"], dtype=object), years=2.0, prior_site_years=50.0)
    assert rates["a"] == pytest.approx(5 / 70)
    assert rates["b"] == pytest.approx(3 / 130)


def test_sector_rates_are_pulled_toward_their_class_rate():
    """Class a: sectors a1 and a2 of 5 sites each, 3 accidents in a1; class b: 40 sites of b1, 1 accident; 2 years,
    w = 50.  Classes as above: a 1/14, b 3/130.  a1: (3 + 50/14) / (5 · 2 + 50); a2: (50/14) / 60 (none of its
    own, but its class has some); b1: (1 + 50 · 3/130) / (80 + 50)."""
    kinds = np.array(["a"] * 10 + ["b"] * 40, dtype=object)
    sectors = np.array(["a1"] * 5 + ["a2"] * 5 + ["b1"] * 40, dtype=object)
    classes, rates = sector_rates(kinds, sectors, np.array([0, 1, 2, 10]), years=2.0, prior_site_years=50.0)
    assert classes == pytest.approx({"a": 1 / 14, "b": 3 / 130})
    assert rates["a1"] == pytest.approx((3 + 50 / 14) / 60)
    assert rates["a2"] == pytest.approx((50 / 14) / 60)
    assert rates["b1"] == pytest.approx((1 + 50 * 3 / 130) / 130)
    assert rates["a1"] > classes["a"] > rates["a2"]


def test_without_accidents_every_class_has_the_same_rate():
    kinds = np.array(["a", "b", "b"], dtype=object)
    assert class_rates(kinds, np.array([], dtype=object), years=3.0, prior_site_years=50.0) == {"a": 1.0, "b": 1.0}
    assert class_rates(kinds, np.array(["a"], dtype=object), years=0.0, prior_site_years=50.0) == {"a": 1.0, "b": 1.0}
    assert sector_rates(kinds, np.array(["a1", "b1", "b2"], dtype=object), np.array([], dtype=int), years=1.0,
                        prior_site_years=50.0)[1] == {"a1": 1.0, "b1": 1.0, "b2": 1.0}


def test_exposure_counts_against_the_class_median_with_its_elasticity():
    """Enterprises of 50, 100 and 200 employees (median 100): ln ½, 0, ln 2 with e = 1; a missing one counts at
    the median; ponds (e = 0) count per pond whatever their capacity."""
    kinds = np.array(["enterprise", "enterprise", "enterprise", "enterprise", "tailings_pond", "tailings_pond"],
                     dtype=object)
    exposure = np.array([50.0, 100.0, 200.0, np.nan, 10.0, 1000.0])
    term = log_exposure(kinds, exposure, {"enterprise": 1.0, "tailings_pond": 0.0})
    assert term == pytest.approx([math.log(0.5), 0.0, math.log(2.0), 0.0, 0.0, 0.0])
    half = log_exposure(kinds, exposure, {"enterprise": 0.5, "tailings_pond": 0.0})
    assert half[2] == pytest.approx(0.5 * math.log(2.0))


def test_the_score_multiplies_the_rate_and_an_unscored_site_ranks_last():
    """ln rate = ln r_k + exposure term + β · score: 10 points more is e^(10 β) times the rate."""
    out = log_expected(np.array([20.0, 30.0, np.nan, -np.inf]), np.log([0.04, 0.04, 0.04, 0.04]),
                       np.zeros(4), score_weight=0.039)
    assert out[1] - out[0] == pytest.approx(0.39)
    assert out[0] == pytest.approx(math.log(0.04) + 0.78)
    assert np.isneginf(out[2]) and np.isneginf(out[3])


def test_the_shipped_parameters_make_the_score_range_the_span_of_the_lec_likelihood_scale():
    """β = ln 50 / 100 (rounded): 100 points are about 50 times the rate, LEC's L from 10 down to 0.2."""
    p = likelihood_params(load_model())
    assert math.exp(100 * p["score_weight"]) == pytest.approx(50, rel=0.02)
    assert p["exposure_elasticity"] == {"enterprise": 1.0, "venue": 1.0, "pipeline": 1.0, "tailings_pond": 0.0}


@pytest.mark.parametrize(("change", "named"), [
    ({"score_weight": -0.1}, "score_weight"),
    ({"prior_site_years": 0}, "prior_site_years"),
    ({"exposure_elasticity": {"enterprise": 1.0}}, "lacks tailings_pond"),
    ({"exposure_elasticity": {"enterprise": 5.0, "venue": 1, "pipeline": 1, "tailings_pond": 0}}, "between 0 and 2"),
])
def test_bad_parameters_are_refused_naming_them(change, named):
    model = load_model()
    model["likelihood"] = {**model["likelihood"], **change}
    with pytest.raises(InvalidSetting, match=named):
        likelihood_params(model)
    del model["likelihood"]
    with pytest.raises(InvalidSetting, match=r"no \[likelihood\]"):
        likelihood_params(model)
