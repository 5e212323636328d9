"""Expected accidents: the model's score turned into an accident frequency (issue 14, the backtest).

A site's score (0-100) weighs what a major accident there would cost as well as how likely one is (the four
colours of domain.md §2 grade major-accident risk).  How *often* accidents happen also grows with how many
people work or gather there and differs between classes of site.  The expected accidents of a site a year are

    rate = r_s · (x / x̃_k)^e_k · exp(β · score)

- ``r_s``: the accident rate of the site's sector s (an enterprise's industry, a venue's type, a pipeline's
  medium; ponds are one sector) within its class k, **learned from the region's own accident records** before
  the date ranked: (accidents at sites of the sector + w · r_k) / (site-years of the sector + w), where the
  class's rate r_k is learned the same way and pulled toward the rate over all classes, and w
  (``prior_site_years``) keeps a sector with few site-years near its class.  Without any accident recorded,
  every sector has the same rate;
- ``x / x̃_k``: the site's exposure (enterprise: employees; venue: occupant load; pipeline: length in km; pond:
  capacity) over its class's median, raised to the class's elasticity ``e_k`` (``exposure_elasticity``): China
  counts production-safety accidents per 100,000 workers (十万从业人员死亡率), so a site's accidents are taken to
  grow in proportion to its workforce (e = 1), a venue's to its occupants, a line's to its length; a pond's are
  counted per pond (e = 0).  A missing exposure counts at the class median;
- ``exp(β · score)``: the score as a likelihood multiplier.  β (``score_weight``) = ln 50 / 100 ≈ 0.04 makes the
  score's whole range (0 to 100 points) a factor of 50, the span of the LEC likelihood scale (domain.md §2) from
  "fully expected" (L = 10) to "extremely unlikely" (L = 0.2).

Within a class of equal exposure the order is the score's; across classes and sizes it is the frequency's.  The
scores stored are not changed: this is computed when it is read, so learning a new accident needs no re-scoring.
Pure: arrays in, arrays out.  Parameters: ``[likelihood]`` of ``geo/risk/model.toml``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.errors import InvalidSetting

CLASSES = ("enterprise", "tailings_pond", "pipeline", "venue")


def likelihood_params(model: dict) -> dict:
    """The ``[likelihood]`` section, checked; InvalidSetting names what is wrong."""
    p = model.get("likelihood")
    if p is None:
        raise InvalidSetting("the risk model has no [likelihood] section (score_weight, exposure_elasticity, "
                             "prior_site_years)")
    for key in ("score_weight", "exposure_elasticity", "prior_site_years"):
        if key not in p:
            raise InvalidSetting(f"likelihood.{key} is missing from the risk model")
    if not p["score_weight"] >= 0:
        raise InvalidSetting(f"likelihood.score_weight must not be negative, got {p['score_weight']}")
    if not p["prior_site_years"] > 0:
        raise InvalidSetting(f"likelihood.prior_site_years must be above 0, got {p['prior_site_years']}")
    missing = [k for k in CLASSES if k not in p["exposure_elasticity"]]
    if missing:
        raise InvalidSetting(f"likelihood.exposure_elasticity lacks {', '.join(missing)}")
    bad = {k: v for k, v in p["exposure_elasticity"].items() if not 0 <= v <= 2}
    if bad:
        raise InvalidSetting(f"likelihood.exposure_elasticity must lie between 0 and 2, got {bad}")
    return p


def group_rates(site_groups: np.ndarray, accident_groups: np.ndarray, years: float, prior_site_years: float,
                prior: dict[str, float]) -> dict[str, float]:
    """Accidents a site-year per group, each pulled toward its prior rate: (a_g + w·p_g) / (n_g·years + w)."""
    groups = pd.Series(np.asarray(site_groups, dtype=object))
    sites = groups.value_counts()
    hits = pd.Series(np.asarray(accident_groups, dtype=object)).value_counts().reindex(sites.index).fillna(0.0)
    p = pd.Series(prior).reindex(sites.index)
    return {k: float(v) for k, v in ((hits + prior_site_years * p) / (sites * years + prior_site_years)).items()}


def class_rates(site_kinds: np.ndarray, accident_kinds: np.ndarray, years: float,
                prior_site_years: float) -> dict[str, float]:
    """Accidents a site-year per class: (a_k + w·r̄) / (n_k·years + w), r̄ = Σa / (Σn·years); every class 1.0
    when there is no accident or no time (a common rate leaves the order to exposure and score)."""
    kinds = np.asarray(site_kinds, dtype=object)
    accidents = np.asarray(accident_kinds, dtype=object)
    if years <= 0 or len(accidents) == 0:
        return {k: 1.0 for k in pd.unique(kinds)}
    overall = len(accidents) / (len(kinds) * years)
    return group_rates(kinds, accidents, years, prior_site_years, {k: overall for k in pd.unique(kinds)})


def sector_rates(site_kinds: np.ndarray, site_sectors: np.ndarray, accident_sites: np.ndarray, years: float,
                 prior_site_years: float) -> tuple[dict[str, float], dict[str, float]]:
    """(class rates, sector rates): each sector's rate (enterprise industry, venue type, pipeline medium) pulled
    toward its class's (:func:`class_rates`), as a class's is toward the rate over all; ``accident_sites`` are
    the indexes of the sites of the accidents recorded.  Every rate 1.0 without accidents or time."""
    kinds = np.asarray(site_kinds, dtype=object)
    sectors = np.asarray(site_sectors, dtype=object)
    classes = class_rates(kinds, kinds[accident_sites], years, prior_site_years)
    if years <= 0 or len(accident_sites) == 0:
        return classes, {k: 1.0 for k in pd.unique(sectors)}
    parent = pd.Series(kinds).groupby(pd.Series(sectors)).first().map(classes).to_dict()
    return classes, group_rates(sectors, sectors[accident_sites], years, prior_site_years, parent)


def log_exposure(kinds: np.ndarray, exposure: np.ndarray, elasticity: dict[str, float]) -> np.ndarray:
    """e_k · ln(x / x̃_k) per site, x̃_k the median exposure of the site's class among those given (a missing or
    non-positive exposure counts at the median: 0)."""
    kinds = pd.Series(np.asarray(kinds, dtype=object))
    x = pd.Series(np.asarray(exposure, dtype="float64")).where(lambda s: s > 0)
    median = x.groupby(kinds).transform("median")
    ratio = np.log((x / median).to_numpy(dtype="float64"))
    ratio = np.where(np.isfinite(ratio), ratio, 0.0)
    return kinds.map(elasticity).fillna(0.0).to_numpy(dtype="float64") * ratio


def log_expected(scores: np.ndarray, log_class_rate: np.ndarray, log_exposure_term: np.ndarray,
                 score_weight: float) -> np.ndarray:
    """ln(expected accidents a year) = ln r_s + e_k·ln(x/x̃_k) + β·score; a score of −inf or NaN (not scored)
    stays −inf (ranked last)."""
    s = np.asarray(scores, dtype="float64")
    out = np.asarray(log_class_rate, dtype="float64") + np.asarray(log_exposure_term, dtype="float64") \
        + score_weight * np.where(np.isfinite(s), s, 0.0)
    return np.where(np.isfinite(s), out, -np.inf)
