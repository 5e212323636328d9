"""Backtest: would the risk ranking have pointed at the sites where accidents then happened? (issue 14 item 6)

For the accidents of a window, :func:`run_backtest`:

1. attributes each to a site (``geo/sql/backtest_accidents.sql``, ``backtest_nearest.sql``): the site named on the
   accident when it is in the register; otherwise the nearest *scored* site, within ``radius_m`` (geodesic, to the
   site's geometry), of a class that fits the accident's type (``[backtest.fitting_classes]`` of
   ``geo/risk/model.toml``).  An accident that cannot be attributed is counted and listed, with the reason;
   it is never dropped silently;
2. ranks every site of the register (enterprises, tailings ponds, pipelines, venues) by the score each had
   *before* the accident's day, from the score history (the row with the latest ``as_of`` before that day);
   a site not scored then ranks last, with all others not scored;
3. reports the **capture curve**: for x = 1 … 100, the share of accidents whose site was in the top x % of
   that ranking, and the area under it (0.5 for a ranking that knows nothing, 1 for one that put every
   accident's site first);
4. does the same for three naive rankings that use no model: by **size** alone (employees, pond capacity,
   occupant load, pipeline length; as a percentile within the site's class), by **industry** alone (the
   accident rate of the site's sector — industry, pond, venue type, pipeline medium — measured on the accidents
   recorded *before* the window, attributed the same way; when there are none, on the window's own accidents,
   which gives that ranking a hindsight the model does not have, and the report says so), and at **random**
   (seeded).

Ties are shared fairly: a site tied with others over positions a … b counts, in the top k, for the share of
those positions that fall within k, which is what a random order among the tied would give on average.  The top
x % of n sites is k = x·n/100 positions (not rounded).  So an accident's capture rises linearly from 0 at
k = a − 1 to 1 at k = b, and the area under its curve is 1 − (a − 1 + b) / (2n).

The arithmetic (:func:`tie_positions`, :func:`capture_curve`, :func:`curve_area`, :func:`positions_before`,
:func:`naive_scores`) is pure: arrays in, arrays out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa

from geo.errors import InvalidSetting, RiskmapError
from geo.risk import likelihood
from geo.risk.store import query_frame

PERCENTS = np.arange(1, 101)
EARLIEST = dt.date(1900, 1, 1)
RANKINGS = ("model", "expected", "size", "industry", "random")
NAIVE = ("size", "industry", "random")
SITE_KINDS = ("enterprise", "tailings_pond", "pipeline", "venue")
OTHER = "other"
DESCRIPTIONS = {
    "model": "riskmap's score before each accident (score history)",
    "expected": "riskmap's expected accidents before each accident: that score as a likelihood, times the accident "
                "rate of the site's sector learned from the accidents before the window and the site's exposure "
                "(geo/risk/likelihood.py)",
    "size": "size alone: employees, pond capacity, occupant load, pipeline length (percentile within the class)",
    "industry": "industry alone: the accident rate of the site's sector (before the window, or in it: "
                "see industry_basis)",
    "random": "random order (seeded)",
}
_SQL: dict[str, str] = {}


def _sql(name: str) -> str:
    if name not in _SQL:
        _SQL[name] = resources.files("geo").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")
    return _SQL[name]


@dataclass(frozen=True)
class BacktestSettings:
    first: dt.date
    last: dt.date
    radius_m: float = 500.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidSetting(f"backtest window: --to {self.last} is before --from {self.first}")
        if not 0 < self.radius_m <= 50_000:
            raise InvalidSetting(f"backtest --radius-m must be above 0 and at most 50000 metres, got {self.radius_m}")


class NoHistory(RiskmapError):
    """The model cannot be backtested without scores from before the accidents."""

    exit_code = 3


# ----- accident types ------------------------------------------------------------------------------------------

def accident_types(raw: pd.Series, config: dict) -> pd.Series:
    """The canonical type of each accident (a key of ``config["fitting_classes"]``), or "other" when the type is
    missing or not recognised (compared without case and surrounding spaces)."""
    spellings = {k.lower(): k for k in config["fitting_classes"]}
    for k, alts in config.get("aliases", {}).items():
        spellings.update({a.strip().lower(): k for a in alts})
    text = raw.astype("string").str.strip().str.lower()
    return text.map(spellings).fillna(OTHER).astype(object)


def fitting_classes(types: pd.Series, config: dict) -> pd.Series:
    """The classes each canonical type can be attributed to, as a comma list (every class for "other")."""
    table = {k: ",".join(v) for k, v in config["fitting_classes"].items()}
    unknown = [c for v in config["fitting_classes"].values() for c in v if c not in SITE_KINDS]
    if unknown:
        raise InvalidSetting(f"backtest.fitting_classes: unknown classes {sorted(set(unknown))}; expected "
                             f"{', '.join(SITE_KINDS)}")
    return types.map(table).fillna(",".join(SITE_KINDS)).astype(object)


# ----- ranking arithmetic (pure) ---------------------------------------------------------------------------------

def tie_positions(scores: np.ndarray, of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each value of ``of`` (scores of sites among ``scores``), the first and last 1-based positions, best
    first, that the sites with exactly that score share: a = 1 + (how many score higher), b = how many score at
    least as high."""
    ordered = np.sort(np.asarray(scores, dtype="float64"))
    n = len(ordered)
    of = np.asarray(of, dtype="float64")
    higher = n - np.searchsorted(ordered, of, side="right")
    at_least = n - np.searchsorted(ordered, of, side="left")
    return higher + 1, at_least


def capture_curve(a: np.ndarray, b: np.ndarray, n: int, percents: np.ndarray = PERCENTS) -> np.ndarray:
    """The share of accidents whose site is in the top x % of n sites, for each x of ``percents``; an accident
    whose site shares positions a … b counts for the part of them within the top k = x·n/100 (0 without
    accidents)."""
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    if len(a) == 0:
        return np.zeros(len(percents))
    k = np.asarray(percents, dtype="float64")[:, None] * n / 100.0
    share = np.clip((k - (a[None, :] - 1.0)) / (b - a + 1.0)[None, :], 0.0, 1.0)
    return share.mean(axis=1)


def curve_area(a: np.ndarray, b: np.ndarray, n: int) -> float:
    """The area under the continuous capture curve over x from 0 to 100 % (as a share, 0 … 1): the mean of
    1 − (a − 1 + b) / (2n) over the accidents; 0.5 is what a random order gives on average."""
    if len(a) == 0:
        return float("nan")
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    return float(np.mean(1.0 - (a - 1.0 + b) / (2.0 * n)))


def positions_before(n_sites: int, history_site: np.ndarray, history_day: np.ndarray, history_score: np.ndarray,
                     accident_site: np.ndarray, accident_day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positions (a, b; see :func:`tie_positions`) of each accident's site among all ``n_sites`` ranked by
    the score each had before the accident's day, and that score (-inf: not scored then).

    ``history_*``: the history rows in the order they take effect (as of day, then run), each a site index (0 …
    n_sites − 1), the day it is as of (datetime64[D]) and the score (NaN: removed).  ``accident_*``: the site index
    and day of each accident.  The sites' scores are replayed once, in order: the accidents are taken in groups
    that see the same rows, and each group costs one sort."""
    current = np.full(n_sites, -np.inf)
    score = np.where(np.isnan(history_score), -np.inf, history_score)
    seen = np.searchsorted(history_day, accident_day, side="left")  # rows as of a day before the accident's
    a = np.zeros(len(accident_site), dtype="int64")
    b = np.zeros(len(accident_site), dtype="int64")
    own = np.full(len(accident_site), -np.inf)
    applied = 0
    for upto in np.unique(seen):
        if upto > applied:
            sites, values = history_site[applied:upto], score[applied:upto]
            last = len(sites) - 1 - np.unique(sites[::-1], return_index=True)[1]  # the last row of each site
            current[sites[last]] = values[last]
            applied = upto
        group = np.flatnonzero(seen == upto)
        own[group] = current[accident_site[group]]
        a[group], b[group] = tie_positions(current, own[group])
    return a, b, own


def naive_scores(sites: pd.DataFrame, accident_sites: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The naive rankings' scores of every site (higher = ranked first): ``size`` (the percentile of its size
    within its class; unknown size last), ``industry`` (its sector's accidents per site among the accidents whose
    site indexes are ``accident_sites``) and ``random`` (a seeded permutation)."""
    n = len(sites)
    size = sites.groupby("kind")["size"].rank(pct=True, method="average").to_numpy(dtype="float64")
    size = np.where(np.isnan(size), -np.inf, size)
    sector = sites["sector"].fillna("").to_numpy(dtype=object)
    codes, uniques = pd.factorize(sector)
    per_sector_sites = np.bincount(codes, minlength=len(uniques))
    per_sector_accidents = np.bincount(codes[accident_sites], minlength=len(uniques)) if len(accident_sites) \
        else np.zeros(len(uniques))
    rate = per_sector_accidents / np.maximum(per_sector_sites, 1)
    rng = np.random.default_rng(seed)
    return {"size": size, "industry": rate[codes].astype("float64"),
            "random": rng.permutation(n).astype("float64")}


def ranking_summary(a: np.ndarray, b: np.ndarray, n: int) -> dict:
    curve = capture_curve(a, b, n)
    return {"capture": [round(float(c), 6) for c in curve], "area": round(curve_area(a, b, n), 6),
            "top_20": round(float(curve[19]), 6)}


# ----- the run (SQL + the arithmetic above) ----------------------------------------------------------------------

def attribute(conn, first: dt.date, last: dt.date, radius_m: float, config: dict) -> pd.DataFrame:
    """The accidents from ``first`` to ``last`` with their site: ``site_kind``, ``site_id``, ``how`` (named,
    nearest, or None), ``distance_m`` (nearest only) and, for those not attributed, ``reason``."""
    acc = query_frame(conn, _sql("backtest_accidents"), {"first": first, "last": last},
                      column_types={"occurred_on": pa.string(), "accident_type": pa.string(),
                                    "site_kind": pa.string(), "site_id": pa.int64(), "site_found": pa.bool_(),
                                    "source_id": pa.string(), "accident_class": pa.string(),
                                    "synthetic": pa.bool_()})
    acc["type"] = accident_types(acc["accident_type"], config)
    acc["fits"] = fitting_classes(acc["type"], config)
    named = acc["site_kind"].notna().to_numpy()
    found = acc["site_found"].fillna(False).to_numpy(dtype=bool)
    acc["how"] = np.where(named & found, "named", None)
    acc["distance_m"] = np.nan
    acc["reason"] = np.where(named & ~found, "the site named on it is not in the register", None)
    acc["reason_code"] = np.where(named & ~found, "named_site_missing", None)
    ask = acc.loc[~named, ["id", "fits"]]
    if len(ask):
        near = query_frame(conn, _sql("backtest_nearest"),
                           {"ids": ask["id"].astype("int64").tolist(), "fits": ask["fits"].tolist(),
                            "radius_m": float(radius_m)},
                           column_types={"accident_id": pa.int64(), "kind": pa.string(), "feature_id": pa.int64(),
                                         "distance_m": pa.float64()})
        near = near.set_index("accident_id")
        hit = acc["id"].isin(near.index).to_numpy() & ~named
        ids = acc.loc[hit, "id"]
        acc.loc[hit, "site_kind"] = near.loc[ids, "kind"].to_numpy()
        acc.loc[hit, "site_id"] = near.loc[ids, "feature_id"].to_numpy()
        acc.loc[hit, "distance_m"] = near.loc[ids, "distance_m"].to_numpy()
        acc.loc[hit, "how"] = "nearest"
        miss = ~named & ~hit
        acc.loc[miss, "reason"] = [f"no scored {fits.replace(',', ', ')} within {radius_m:g} m"
                                   for fits in acc.loc[miss, "fits"]]
        acc.loc[miss, "reason_code"] = "no_fitting_site"
    return acc


def _expected_ranking(sites: pd.DataFrame, earlier: pd.DataFrame, earlier_sites: np.ndarray, first: dt.date,
                      params: dict, history: tuple[np.ndarray, np.ndarray, np.ndarray], site_of: np.ndarray,
                      days: np.ndarray) -> dict:
    """The "expected accidents" ranking (geo/risk/likelihood.py): every score history row (``history``: site
    indexes, days, scores, as :func:`positions_before` takes them) turned into a rate with the sector rates
    learned from the accidents before the window (``earlier``, at ``earlier_sites``) and each site's exposure
    (its ``size``), and replayed like the model's; with the basis it used."""
    kinds = sites["kind"].to_numpy(dtype=object)
    since = pd.to_datetime(earlier["occurred_on"]).min() if len(earlier) else None
    years = 0.0 if since is None else (pd.Timestamp(first) - since).days / 365.25
    sectors = sites["sector"].fillna("").to_numpy(dtype=object)
    classes, rates = likelihood.sector_rates(kinds, sectors, earlier_sites, years, float(params["prior_site_years"]))
    log_rate = np.log(pd.Series(sectors).map(rates).to_numpy(dtype="float64"))
    exposure = likelihood.log_exposure(kinds, sites["size"].to_numpy(dtype="float64"), params["exposure_elasticity"])
    h_site, h_day, h_score = history
    rate = likelihood.log_expected(h_score, log_rate[h_site], exposure[h_site], float(params["score_weight"]))
    rate = np.where(np.isnan(h_score), np.nan, rate)  # (a removed feature stays removed)
    a, b, _ = positions_before(len(sites), h_site, h_day, rate, site_of, days)
    return {"ranking": ranking_summary(a, b, len(sites)),
            "class_rates_per_site_year": {k: round(v, 6) for k, v in sorted(classes.items())},
            "sector_rates_per_site_year": {k: round(v, 6) for k, v in sorted(rates.items())},
            "accidents_before": len(earlier_sites), "years_before": round(years, 3),
            "score_weight": float(params["score_weight"]),
            "exposure_elasticity": dict(params["exposure_elasticity"])}


def run_backtest(conn, settings: BacktestSettings, model: dict) -> dict:
    """The backtest report (a JSON-ready dict): the attribution, the capture curves and areas of the model and
    the naive rankings, and the accidents left unattributed."""
    config = model.get("backtest")
    if config is None:
        raise InvalidSetting("the risk model has no [backtest] section (fitting_classes, aliases, radius_m)")
    acc = attribute(conn, settings.first, settings.last, settings.radius_m, config)
    sites = query_frame(conn, _sql("backtest_sites"),
                        column_types={"kind": pa.string(), "feature_id": pa.int64(), "size": pa.float64(),
                                      "sector": pa.string()})
    n = len(sites)
    index = pd.Series(np.arange(n), index=pd.MultiIndex.from_arrays([sites["kind"], sites["feature_id"]]))
    attributed = acc[acc["how"].notna()].reset_index(drop=True)
    site_of = index.reindex(pd.MultiIndex.from_arrays([attributed["site_kind"],
                                                       attributed["site_id"].astype("int64")])).to_numpy()
    if np.isnan(site_of.astype("float64")).any():  # (named and nearest sites are read from the same tables)
        raise AssertionError("an attributed site is missing from the sites ranked")
    site_of = site_of.astype("int64")
    days = pd.to_datetime(attributed["occurred_on"]).to_numpy(dtype="datetime64[D]")

    hist = query_frame(conn, _sql("backtest_history"), {"last": settings.last},
                       column_types={"kind": pa.string(), "feature_id": pa.int64(), "as_of": pa.string(),
                                     "score": pa.float64()})
    if hist.empty and len(attributed):
        raise NoHistory("no score history before the window's end: score the sites (riskmap score --as-of DATE) "
                        "as of dates before the accidents, then backtest")
    h_site = index.reindex(pd.MultiIndex.from_arrays([hist["kind"], hist["feature_id"]])).to_numpy(dtype="float64")
    kept = ~np.isnan(h_site)  # (rows of features no longer in the register)
    h_site = h_site[kept].astype("int64")
    h_day = pd.to_datetime(hist["as_of"][kept]).to_numpy(dtype="datetime64[D]")
    h_score = hist["score"][kept].to_numpy(dtype="float64")
    a, b, own = positions_before(n, h_site, h_day, h_score, site_of, days)
    rankings = {"model": ranking_summary(a, b, n)}
    # the sectors' and classes' accident rates: from the accidents before the window (no hindsight)
    earlier = attribute(conn, EARLIEST, settings.first - dt.timedelta(days=1), settings.radius_m, config)
    earlier = earlier[earlier["how"].notna()]
    earlier_keys = pd.MultiIndex.from_arrays([earlier["site_kind"], earlier["site_id"].astype("int64")])
    earlier_sites = index.reindex(earlier_keys).to_numpy(dtype="float64")
    earlier_sites = earlier_sites[~np.isnan(earlier_sites)].astype("int64")
    hindsight = len(earlier_sites) == 0
    expected = _expected_ranking(sites, earlier, earlier_sites, settings.first, likelihood.likelihood_params(model),
                                 (h_site, h_day, h_score), site_of, days)
    rankings["expected"] = expected.pop("ranking")
    naive = naive_scores(sites, site_of if hindsight else earlier_sites, settings.seed)
    for name, scores in naive.items():
        na, nb = tie_positions(scores, scores[site_of])
        rankings[name] = ranking_summary(na, nb, n)
    for name in RANKINGS:
        rankings[name]["description"] = DESCRIPTIONS[name]
    best = max(NAIVE, key=lambda r: (rankings[r]["top_20"], rankings[r]["area"]))
    best_top = rankings[best]["top_20"]

    missing = acc[acc["how"].isna()]
    n_earlier = len(earlier_sites)
    basis = ("the window's own accidents (hindsight: none was recorded before the window)" if hindsight
             else f"{n_earlier} accident{'s' if n_earlier != 1 else ''} recorded before the window")
    return {
        "window": {"from": settings.first.isoformat(), "to": settings.last.isoformat()},
        "radius_m": settings.radius_m,
        "seed": settings.seed,
        "sites": n,
        "accidents": len(acc),
        "synthetic_accidents": int(acc["synthetic"].fillna(False).sum()),
        "attributed": {"named": int((acc["how"] == "named").sum()), "nearest": int((acc["how"] == "nearest").sum()),
                       "total": len(attributed), "not_scored_before": int(np.isneginf(own).sum())},
        "rankings": rankings,
        "best_naive": best,
        "industry_basis": basis,
        "earlier_accidents": n_earlier,
        "area_beats_every_naive": {name: all(rankings[name]["area"] > rankings[r]["area"] for r in NAIVE)
                                   for name in ("model", "expected")},
        "model_top_20_vs_best_naive": None if best_top == 0 else round(rankings["model"]["top_20"] / best_top, 4),
        "expected_top_20_vs_best_naive": (None if best_top == 0
                                          else round(rankings["expected"]["top_20"] / best_top, 4)),
        "expected_basis": expected,
        "unattributed": {
            "count": len(missing),
            "accidents": [{"id": int(r.id), "source_id": r.source_id, "occurred_on": r.occurred_on,
                           "accident_type": r.accident_type if isinstance(r.accident_type, str) else None,
                           "accident_class": r.accident_class, "lon": round(float(r.lon), 6),
                           "lat": round(float(r.lat), 6), "reason": r.reason, "reason_code": r.reason_code,
                           "fitting_classes": r.fits.split(",") if r.reason_code == "no_fitting_site" else None}
                          for r in missing.itertuples(index=False)],
        },
        "fitting_classes": {k: list(v) for k, v in config["fitting_classes"].items()} | {OTHER: list(SITE_KINDS)},
    }
