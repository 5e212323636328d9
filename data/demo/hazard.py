"""The demo's "true hazard": the accident rate the synthetic history draws its accidents from (docs/demo.md).

Every number here is an **assumption** of the simulation, chosen before the backtest was run and written down so
that anyone can check it; none is fitted to riskmap's risk model, and the model never reads any of it.  Per site
i and day t, the accident rate is

    λ_i(t) = exp( b_k + s_i + γ·u_i + z_i + x_i(t) ) / 365.25        (accidents a day)

- ``b_k``: the log base rate of the site's class k (``BASE_PER_YEAR``: accidents a year at a reference site);
- ``s_i``: the **static observed** term, from the register's attributes (industry, workforce, major hazard
  installation, dispatched workers; a pond's safety state and dam height; a venue's occupant load, exits,
  sprinklers, alarm, basement and type; a pipeline's length and age).  A value missing from the register counts
  at its class's typical value (``s`` takes no part of it), and the register's status scales the rate
  (``STATUS_FACTOR``: a closed enterprise has none; a closed pond keeps part of its dam's);
- ``γ·u_i``: **management** (``u_i`` ~ N(0, 1), a latent per-site management deficit; ``γ`` =
  ``MANAGEMENT_WEIGHT``).  The model never sees it, but it also drives how many hidden dangers inspectors find
  and how slowly they are rectified (data/demo/history.py), so the records reveal part of it;
- ``z_i``: **frailty** (``z_i`` ~ N(0, ``FRAILTY_SD``²)), an unobserved per-site term that nothing records:
  luck, the shift on duty, what no inspection finds;
- ``x_i(t)``: the **time-varying** term, from the site's state that day, which the records describe: each open
  (not rectified) hidden danger, an open major one, a suspension in force (production stopped), the weeks after
  production resumes (复产复工, domain.md §8: a known accident-prone moment).

``hazard_terms`` computes b + s and the parts of s per site (pure: frames in, arrays out);
``variance_shares`` splits the variance of log λ over the simulated site-days into those terms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.demo.enterprises import CRITICAL_QUANTITY_T, EMPLOYEES_MEDIAN
from data.demo.pipelines import line_length_km
from data.demo.venues import VENUE_AREA_MEDIAN_M2, VENUE_DENSITY_P_PER_M2

DAYS_PER_YEAR = 365.25

# Accidents a year at a reference site of each class (s = 0, u = 0, z = 0, no open danger): the reference
# enterprise is a 100-person machinery plant without a major hazard; the reference pond a normal 22 m dam; the
# reference venue holds 300 people with working exits, sprinklers and alarm; the reference pipeline is 50 km of
# a line built 20 years ago.  Chosen so that the demo region has about 150 accidents a year (Tangshan-sized: a
# few hundred production-safety accidents of all sizes a year in a city of its industry is plausible; most are
# small), mostly at enterprises. [assumption]
BASE_PER_YEAR = {"enterprise": 0.008, "tailings_pond": 0.010, "venue": 0.008, "pipeline": 0.04}

# Enterprises: the log rate of each industry against machinery [assumption, in the order national accident
# statistics rank the sectors: mining, fireworks, chemicals and metallurgy ahead, light industry and offices last].
INDUSTRY_LOG_RATE = {
    "mining": 0.9, "fireworks": 1.0, "hazardous_chemicals": 0.6, "metallurgy": 0.6, "dust_explosion": 0.5,
    "oil_gas_storage": 0.4, "building_materials": 0.3, "ammonia_refrigeration": 0.3, "power": 0.2,
    "machinery": 0.0, "logistics": 0.0, "light_industry": -0.2, "other": -0.3,
}
WORKFORCE_ELASTICITY = 0.6  # accidents grow as employees^0.6: more people, more exposure, but not in proportion
MAJOR_HAZARD_LOG_RATE = 0.4  # a GB 18218 major hazard installation (S >= 1): more fires, leaks and explosions
FLEXIBLE_WORKER_WEIGHT = 1.0  # × the share of dispatched and flexible workers (less trained)

# Tailings ponds: safety state (AQ 2006-2005, domain.md §3) and dam height.
POND_STATE_LOG_RATE = {"normal": 0.0, "ill": 0.7, "dangerous": 1.4, "critical": 2.0}
DAM_HEIGHT_ELASTICITY = 0.5
REFERENCE_DAM_M = 22.0

# Venues: occupant load, exits and fire protection (domain.md §5), below ground, type.
OCCUPANT_LOAD_ELASTICITY = 0.4
REFERENCE_LOAD = 300.0
VENUE_LOG_RATE = {"exits_blocked": 0.6, "narrow_exits": 0.4, "no_sprinklers": 0.3, "no_alarm": 0.2,
                  "below_ground": 0.4}
VENUE_TYPE_LOG_RATE = {"entertainment": 0.3, "market": 0.2, "nursing_home": 0.2, "hotel": 0.1, "mall": 0.1,
                       "school": -0.2, "kindergarten": -0.2}
NARROW_EXIT_RATIO = 0.8  # GB 35181: exit width under 80 % of the code value

# Pipelines: length (the rate is per km) and age.
REFERENCE_PIPELINE_KM = 50.0
PIPELINE_AGE_LOG_RATE_PER_YEAR = 0.02  # for each year of age beyond 20
REFERENCE_AGE_YEARS = 20
REFERENCE_YEAR = 2026

# The register's operating status scales the rate (a closed pond still holds its tailings).
STATUS_FACTOR = {
    "enterprise": {"closed": 0.0, "suspended": 0.1},
    "tailings_pond": {"closed": 0.3, "suspended": 0.5, "under_construction": 0.5},
    "venue": {"closed": 0.0, "suspended": 0.1},
    "pipeline": {"closed": 0.0},
}

# The latent terms.
MANAGEMENT_WEIGHT = 0.6  # γ: a site one standard deviation worse managed has e^0.6 = 1.8 times the rate
FRAILTY_SD = 0.7  # sd of z

# The time-varying term x(t) [assumption].
OPEN_DANGER_LOG_RATE = 0.12  # per open hidden danger (found, not rectified; reopened counts again) ...
OPEN_DANGER_CAP = 5  # ... counting at most this many
OPEN_MAJOR_LOG_RATE = 0.8  # an open major hidden danger (重大事故隐患), until rectified
SUSPENDED_LOG_RATE = float(np.log(0.1))  # a suspension (停产整顿) or closure in force: production stopped
RESUMED_LOG_RATE = 0.7  # the first RESUMED_DAYS after a suspension is lifted (复产复工)
RESUMED_DAYS = 60


@dataclass(frozen=True)
class SiteHazard:
    """The static part of the true hazard, per site (arrays in the order of the sites given)."""

    base: np.ndarray  # b_k + s_i: the log rate a year at u = z = 0 with no open danger (-inf: none at all)
    static: np.ndarray  # s_i alone (0 for a site whose status allows no accident)
    parts: dict[str, np.ndarray]  # the named parts of s_i


def _num(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[name], errors="coerce").astype("float64")


def _flag(frame: pd.DataFrame, name: str, when_missing: bool) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), when_missing)
    return frame[name].astype("boolean").fillna(when_missing).to_numpy(dtype=bool)


def gb18218_sum(chemicals: pd.Series) -> np.ndarray:
    """S = Σ q/Q of each site's inventory (GB 18218, domain.md §1) with the demo's critical quantities; 0 without
    an inventory on record."""
    out = np.zeros(len(chemicals))
    for i, text in enumerate(chemicals):
        if isinstance(text, str) and text:
            out[i] = sum(e["quantity_t"] / CRITICAL_QUANTITY_T[e["chemical"]] for e in json.loads(text)
                         if e.get("chemical") in CRITICAL_QUANTITY_T)
    return out


def enterprise_terms(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    industry = frame["industry"].astype(object)
    employees = _num(frame, "employees").fillna(industry.map(EMPLOYEES_MEDIAN).astype("float64")).clip(lower=1)
    return {
        "industry": industry.map(INDUSTRY_LOG_RATE).fillna(0.0).to_numpy(float),
        "workforce": WORKFORCE_ELASTICITY * np.log(employees.to_numpy(float) / 100.0),
        "major_hazard": MAJOR_HAZARD_LOG_RATE * (gb18218_sum(frame["chemicals"]) >= 1.0),
        "flexible_workers": FLEXIBLE_WORKER_WEIGHT * _num(frame, "flexible_worker_share").fillna(0.0).to_numpy(float),
    }


def pond_terms(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    height = _num(frame, "dam_height_m").fillna(REFERENCE_DAM_M).clip(lower=1.0)
    return {
        "safety_state": frame["safety_state"].map(POND_STATE_LOG_RATE).fillna(0.0).to_numpy(float),
        "dam_height": DAM_HEIGHT_ELASTICITY * np.log(height.to_numpy(float) / REFERENCE_DAM_M),
    }


def venue_terms(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    vtype = frame["venue_type"].astype(object)
    area = _num(frame, "floor_area_m2").fillna(vtype.map(VENUE_AREA_MEDIAN_M2).astype("float64"))
    load = _num(frame, "occupancy").fillna(area * vtype.map(VENUE_DENSITY_P_PER_M2).astype("float64")).clip(lower=1.0)
    width = _num(frame, "exit_width_ratio")
    storey = _num(frame, "storey")
    return {
        "occupant_load": OCCUPANT_LOAD_ELASTICITY * np.log(load.to_numpy(float) / REFERENCE_LOAD),
        "exits": (VENUE_LOG_RATE["exits_blocked"] * _flag(frame, "exits_blocked", False)
                  + VENUE_LOG_RATE["narrow_exits"] * (width < NARROW_EXIT_RATIO).to_numpy()),
        "fire_protection": (VENUE_LOG_RATE["no_sprinklers"] * ~_flag(frame, "sprinklers", True)
                            + VENUE_LOG_RATE["no_alarm"] * ~_flag(frame, "fire_alarm", True)),
        "below_ground": VENUE_LOG_RATE["below_ground"] * (storey < 0).to_numpy(),
        "venue_type": vtype.map(VENUE_TYPE_LOG_RATE).fillna(0.0).to_numpy(float),
    }


def pipeline_terms(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    km = np.array([line_length_km(np.asarray(g.coords)) for g in frame.geometry])
    age = REFERENCE_YEAR - _num(frame, "year_built").fillna(REFERENCE_YEAR - REFERENCE_AGE_YEARS).to_numpy(float)
    return {
        "length": np.log(km / REFERENCE_PIPELINE_KM),
        "age": PIPELINE_AGE_LOG_RATE_PER_YEAR * np.clip(age - REFERENCE_AGE_YEARS, 0, None),
    }


TERMS = {"enterprise": enterprise_terms, "tailings_pond": pond_terms, "venue": venue_terms,
         "pipeline": pipeline_terms}


def site_hazard(kind: str, frame: pd.DataFrame) -> SiteHazard:
    """The static true hazard of one class's sites (the register's frame of that class)."""
    parts = TERMS[kind](frame)
    static = np.sum(list(parts.values()), axis=0) if parts else np.zeros(len(frame))
    factor = (frame["status"].map(STATUS_FACTOR[kind]).fillna(1.0).to_numpy(float)
              if "status" in frame else np.ones(len(frame)))
    with np.errstate(divide="ignore"):
        base = np.log(BASE_PER_YEAR[kind]) + static + np.log(factor)
    return SiteHazard(base=base, static=static, parts=parts)


def time_varying(open_dangers: np.ndarray, open_major: np.ndarray, suspended: np.ndarray,
                 resumed: np.ndarray) -> np.ndarray:
    """x(t) of each site on one day from its state (counts and flags as arrays)."""
    return (OPEN_DANGER_LOG_RATE * np.minimum(open_dangers, OPEN_DANGER_CAP)
            + OPEN_MAJOR_LOG_RATE * (open_major > 0)
            + SUSPENDED_LOG_RATE * suspended
            + RESUMED_LOG_RATE * resumed)


class VarianceAccumulator:
    """Sums over site-days of the log-hazard's terms (observed: b + s; management γu; frailty z; records x(t)),
    enough for their variances and covariances without keeping every day."""

    NAMES = ("observed", "management", "frailty", "records")

    def __init__(self) -> None:
        self.n = 0
        self.sums = np.zeros(4)
        self.products = np.zeros((4, 4))

    def add(self, observed: np.ndarray, management: np.ndarray, frailty: np.ndarray, records: np.ndarray) -> None:
        terms = np.vstack([observed, management, frailty, records])
        self.n += terms.shape[1]
        self.sums += terms.sum(axis=1)
        self.products += terms @ terms.T

    def shares(self) -> dict[str, float]:
        """Each term's share of Var(log λ) (its variance plus its covariances, split evenly with the others), the
        latent share (management and frailty) and the wholly hidden share (frailty)."""
        mean = self.sums / self.n
        cov = self.products / self.n - np.outer(mean, mean)
        total = float(cov.sum())
        out = {f"{name}_share": float(cov[i].sum() / total) for i, name in enumerate(self.NAMES)}
        out["log_hazard_variance"] = total
        out["latent_share"] = out["management_share"] + out["frailty_share"]
        out["site_days"] = self.n
        return out
