"""The demo's enterprises: industrial parks, a background scatter and chemical inventories."""

from __future__ import annotations

import json
from dataclasses import dataclass
from statistics import NormalDist

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.demo.common import (
    BRAND_FIRST,
    BRAND_SECOND,
    N_ENTERPRISES,
    SYNTHETIC,
    Place,
    Region,
    _choose,
    _days_ago,
    _frame,
    _join,
    _lognormal,
    _missing,
    _pick,
    scatter,
    uniform_points,
)

# --- enterprises ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Park:
    """An industrial cluster: a Gaussian scatter of enterprises around a centre, with its own industry mix."""

    place: Place
    sigma_km: float
    weight: float
    industries: dict[str, float]


INDUSTRIAL_PARKS = (
    # 曹妃甸 port and industrial zone on reclaimed land: 首钢京唐-type steel, crude/LNG terminals and tank farms
    Park(Place("曹妃甸工业区（港区）", 118.50, 39.01, "曹妃甸区"), 4.0, 0.12,
         {"metallurgy": 0.25, "oil_gas_storage": 0.20, "logistics": 0.20, "machinery": 0.12,
          "hazardous_chemicals": 0.12, "power": 0.05, "building_materials": 0.06}),
    # 曹妃甸化学工业园区 (petrochemicals, west of the port)
    Park(Place("曹妃甸化学工业园区", 118.40, 39.08, "曹妃甸区"), 3.0, 0.08,
         {"hazardous_chemicals": 0.65, "oil_gas_storage": 0.15, "logistics": 0.10, "machinery": 0.05, "power": 0.05}),
    # 南堡开发区: soda ash and chlor-alkali, the 冀东 oil field
    Park(Place("南堡开发区", 118.23, 39.22, "曹妃甸区"), 3.0, 0.07,
         {"hazardous_chemicals": 0.50, "oil_gas_storage": 0.15, "building_materials": 0.10, "logistics": 0.10,
          "machinery": 0.15}),
    # 丰南沿海工业区 (黑沿子 area): steel and chemicals
    Park(Place("丰南沿海工业区", 118.05, 39.30, "丰南区"), 3.0, 0.07,
         {"metallurgy": 0.45, "hazardous_chemicals": 0.25, "logistics": 0.10, "machinery": 0.10,
          "building_materials": 0.10}),
    # 丰南 town and its development zone: private steel mills and rolling mills
    Park(Place("丰南经济开发区", 118.11, 39.55, "丰南区"), 4.0, 0.10,
         {"metallurgy": 0.35, "machinery": 0.20, "building_materials": 0.10, "light_industry": 0.15,
          "dust_explosion": 0.10, "hazardous_chemicals": 0.05, "logistics": 0.05}),
    # 迁安: 首钢迁钢-type steel, iron mining, coking
    Park(Place("迁安经济开发区", 118.66, 39.98, "迁安市"), 5.0, 0.12,
         {"metallurgy": 0.35, "mining": 0.20, "hazardous_chemicals": 0.10, "building_materials": 0.10,
          "machinery": 0.10, "dust_explosion": 0.05, "power": 0.05, "logistics": 0.05}),
    # 滦州: steel and coking
    Park(Place("滦州经济开发区", 118.72, 39.72, "滦州市"), 4.0, 0.08,
         {"metallurgy": 0.35, "hazardous_chemicals": 0.15, "building_materials": 0.15, "machinery": 0.15,
          "light_industry": 0.10, "mining": 0.10}),
    # 唐山高新技术产业开发区 on the 路北/丰润 edge: machinery, robotics
    Park(Place("唐山高新区", 118.10, 39.67, "丰润区"), 3.0, 0.09,
         {"machinery": 0.45, "light_industry": 0.15, "dust_explosion": 0.10, "logistics": 0.10,
          "hazardous_chemicals": 0.05, "power": 0.05, "other": 0.10}),
    # 开滦 coal field between 开平 and 古冶, ceramics and cement
    Park(Place("开平—古冶矿区", 118.38, 39.70, "古冶区"), 6.0, 0.10,
         {"mining": 0.35, "building_materials": 0.30, "metallurgy": 0.10, "machinery": 0.10, "power": 0.05,
          "dust_explosion": 0.05, "hazardous_chemicals": 0.05}),
    # 丰润: coal mines, steel, building materials
    Park(Place("丰润工业区", 118.15, 39.82, "丰润区"), 5.0, 0.06,
         {"metallurgy": 0.20, "mining": 0.20, "building_materials": 0.20, "machinery": 0.20,
          "light_industry": 0.20}),
    # 乐亭 临港工业区 at 京唐港: steel, port storage
    Park(Place("乐亭临港工业区（京唐港）", 118.98, 39.23, "乐亭县"), 4.0, 0.07,
         {"metallurgy": 0.30, "oil_gas_storage": 0.20, "logistics": 0.20, "hazardous_chemicals": 0.15,
          "machinery": 0.10, "power": 0.05}),
)
BACKGROUND_SHARE = 0.28
BACKGROUND_INDUSTRIES = {
    "light_industry": 0.25, "machinery": 0.15, "building_materials": 0.12, "logistics": 0.12,
    "dust_explosion": 0.10, "ammonia_refrigeration": 0.05, "fireworks": 0.02, "hazardous_chemicals": 0.04,
    "oil_gas_storage": 0.03, "mining": 0.04, "other": 0.08,
}
EMPLOYEES_MEDIAN = {
    "hazardous_chemicals": 120, "metallurgy": 900, "mining": 450, "fireworks": 40, "oil_gas_storage": 45,
    "building_materials": 150, "machinery": 110, "light_industry": 80, "dust_explosion": 60,
    "ammonia_refrigeration": 35, "power": 300, "logistics": 50, "other": 40,
}
INDUSTRY_WORD = {
    "hazardous_chemicals": "化工", "metallurgy": "钢铁", "mining": "矿业", "fireworks": "烟花爆竹",
    "oil_gas_storage": "石油储运", "building_materials": "建材", "machinery": "机械制造", "light_industry": "食品",
    "dust_explosion": "金属制品", "ammonia_refrigeration": "冷链仓储", "power": "热电", "logistics": "物流",
    "other": "实业",
}

# GB 18218-2018 Table 1 critical quantities Q in tonnes (domain.md §1)
CRITICAL_QUANTITY_T = {
    "氨": 10.0, "氯": 5.0, "液化石油气": 50.0, "汽油": 200.0, "甲醇": 500.0, "苯": 50.0, "硫化氢": 5.0,
    "天然气": 50.0, "煤气": 20.0, "氢气": 5.0,
}
FLAMMABLE_GASES = {"液化石油气", "天然气", "煤气", "氢气"}  # GB 18218 category W2, recorded for some entries
CHEMICAL_PALETTES = {  # industry -> (share of sites holding an inventory, chemical -> probability)
    "hazardous_chemicals": (1.0, {"氯": 0.12, "氨": 0.15, "甲醇": 0.18, "苯": 0.15, "硫化氢": 0.05, "氢气": 0.10,
                                  "液化石油气": 0.10, "煤气": 0.10, "天然气": 0.05}),
    "oil_gas_storage": (1.0, {"汽油": 0.45, "液化石油气": 0.25, "天然气": 0.20, "甲醇": 0.10}),
    "ammonia_refrigeration": (1.0, {"氨": 1.0}),
    "metallurgy": (0.4, {"煤气": 0.85, "天然气": 0.15}),
    "power": (0.3, {"氨": 1.0}),
}
MAJOR_HAZARD_SHARE = {  # share of an industry's holders with S >= 1 (an assumption, tuned to ~15 % overall)
    "hazardous_chemicals": 0.12, "oil_gas_storage": 0.25, "ammonia_refrigeration": 0.05, "metallurgy": 0.20,
    "power": 0.10,
}
INVENTORY_SIGMA = 1.0

# --- enterprises ------------------------------------------------------------------------------------------------

def industrial_parks(region: Region, rng, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Locations and industries of ``n`` enterprises: park clusters plus a scattered background."""
    n_background = round(n * BACKGROUND_SHARE)
    weights = np.array([p.weight for p in INDUSTRIAL_PARKS])
    park = rng.choice(len(INDUSTRIAL_PARKS), size=n - n_background, p=weights / weights.sum())
    lon, lat = scatter(region.union, rng, [INDUSTRIAL_PARKS[i].place.lon for i in park],
                       [INDUSTRIAL_PARKS[i].place.lat for i in park], [INDUSTRIAL_PARKS[i].sigma_km for i in park])
    industry = np.empty(park.size, dtype=object)
    for i, p in enumerate(INDUSTRIAL_PARKS):
        members = park == i
        industry[members] = _choose(rng, p.industries, int(members.sum()))
    bg_lon, bg_lat = uniform_points(region.union, rng, n_background)
    return (np.concatenate([lon, bg_lon]), np.concatenate([lat, bg_lat]),
            np.concatenate([industry, _choose(rng, BACKGROUND_INDUSTRIES, n_background)]))


def chemical_inventories(rng, industry: np.ndarray) -> np.ndarray:
    """A JSON inventory (GB 18218 chemicals and tonnes) for the sites that hold one; None elsewhere."""
    out = np.full(industry.size, None, dtype=object)
    for ind, (holding_share, palette) in CHEMICAL_PALETTES.items():
        sites = np.flatnonzero((industry == ind) & (rng.random(industry.size) < holding_share))
        # median of S such that P(S >= 1) is the industry's major-hazard share
        mu = INVENTORY_SIGMA * NormalDist().inv_cdf(MAJOR_HAZARD_SHARE[ind])
        s_total = np.exp(rng.normal(mu, INVENTORY_SIGMA, sites.size))
        n_chem = np.minimum(rng.choice([1, 2, 3], size=sites.size, p=[0.5, 0.35, 0.15]), len(palette))
        chems, p = list(palette), np.array(list(palette.values()))
        for site, s, k in zip(sites, s_total, n_chem, strict=True):
            names = rng.choice(chems, size=k, replace=False, p=p)
            shares = rng.dirichlet(np.ones(k))
            entries = []
            for name, w in zip(names, shares, strict=True):
                tonnes = max(0.1, round(float(s * w * CRITICAL_QUANTITY_T[name]), 1))
                entry = {"chemical": str(name), "quantity_t": tonnes}
                if name in FLAMMABLE_GASES and rng.random() < 0.5:
                    entry["hazard_category"] = "W2"
                entries.append(entry)
            out[site] = json.dumps(entries, ensure_ascii=False)
    return out


def enterprises(region: Region, rng, n: int = N_ENTERPRISES) -> gpd.GeoDataFrame:
    lon, lat, industry = industrial_parks(region, rng, n)
    return enterprise_frame(rng, lon, lat, industry, region.short_names(lon, lat))


def enterprise_frame(rng, lon: np.ndarray, lat: np.ndarray, industry: np.ndarray,
                     place: np.ndarray) -> gpd.GeoDataFrame:
    """The enterprises at (lon, lat) of the given industries, with every attribute drawn (size, inventories,
    violations, dangers, status, dates); ``place`` is the short county name each one's name starts with.  Shared
    by the demo and the national set (data/national)."""
    n = lon.size
    employees = np.maximum(3, _lognormal(rng, pd.Series(industry).map(EMPLOYEES_MEDIAN), 0.8, n))
    size_factor = (employees / 100.0) ** 0.15
    violations = rng.negative_binomial(1.2, 1.2 / (1.2 + 1.1 * size_factor))
    dangers = rng.negative_binomial(1.5, 1.5 / (1.5 + 1.0 * size_factor + 0.3 * violations))
    names = _join(place, _pick(rng, BRAND_FIRST, n), _pick(rng, BRAND_SECOND, n),
                  pd.Series(industry).map(INDUSTRY_WORD).to_numpy(str), "有限公司", SYNTHETIC)
    return _frame("enterprise", "ent", names, shapely.points(lon, lat), {
        "industry": industry,
        "chemicals": _missing(rng, chemical_inventories(rng, industry), 0.10),
        "status": _missing(rng, _choose(rng, {"operating": 0.88, "suspended": 0.06, "closed": 0.03,
                                              "under_construction": 0.03}, n), 0.02),
        "employees": _missing(rng, np.minimum(employees.round(), 60000), 0.05),
        "flexible_worker_share": _missing(rng, rng.beta(1.5, 6.0, n).round(3), 0.30),
        "violations_12m": _missing(rng, violations, 0.10),
        "open_hidden_dangers": _missing(rng, dangers, 0.10),
        "major_hidden_danger": _missing(rng, rng.random(n) < 0.01, 0.15),
        "last_inspection": _missing(rng, _days_ago(rng, n, 240), 0.08),
    })
