"""A seeded, synthetic set of risk features in Tangshan (唐山), Hebei, for demos and tests.

``generate_demo(counties, seed)`` is pure: it takes the county polygons (``data/tangshan_counties.geojson``) and
returns one GeoDataFrame in EPSG:4326 per feature kind of ``geo/kinds.py``, with the attribute columns named and
typed as there, plus ``source_id`` (``demo-ent-00001`` ...), ``name`` (Chinese-looking, always ending in
"（合成）") and ``synthetic`` (always True).  The same seed gives the same data; no database, no files.

**Every feature is invented.**  The places below are real but their centres are approximate (WGS 84, good to a
few kilometres; the tests check each lies in the county named beside it), so the picture looks like Tangshan:
steel in 迁安, 丰南, 曹妃甸 and 滦州, chemicals in 曹妃甸化学工业园区, 丰南沿海工业区 and 南堡, coal around 开平,
古冶 and 丰润, iron-ore tailings in the northern hills, oil and gas coming in through 曹妃甸 port.  The counts,
shares and distributions are assumptions chosen to look plausible, not statistics; each is a named constant in
the section of the module that uses it.

Enterprises (3,000 points)
    72 % sit in 11 industrial clusters (``INDUSTRIAL_PARKS``: Gaussian scatter, sd 3-6 km, around the park centre,
    each with its own industry mix), 28 % are a uniform background over all counties with a light-industry-heavy
    mix (``BACKGROUND_INDUSTRIES``).  Chemical inventories (``CHEMICAL_PALETTES``) are held by every hazardous-
    chemicals, oil/gas-storage and ammonia-refrigeration site, 40 % of steelworks (煤气) and 30 % of power plants
    (liquid ammonia for flue-gas denitration).  For each holder a GB 18218 sum S = Σq/Q is drawn from a
    log-normal (sigma 1.0) whose median is set so that a chosen share of that industry's holders reaches S >= 1
    (``MAJOR_HAZARD_SHARE``: 12 % chemicals, 25 % storage, 5 % ammonia refrigeration, 20 % steel, 10 % power;
    about 15 % of all holders), then split over 1-3 chemicals by Dirichlet weights: q_i = S * w_i * Q_i, with Q
    from ``CRITICAL_QUANTITY_T`` (GB 18218-2018 Table 1, domain.md §1).  10 % of holders have no inventory on
    record.  Employees: log-normal around an industry median (``EMPLOYEES_MEDIAN``, sigma 0.8).  Violations in
    12 months and open hidden dangers: negative binomial (over-dispersed Poisson), means about 1.2 and 1.5,
    growing slowly with size (open dangers also with violations).  Major hidden danger: 1 %.  Status: 88 %
    operating, 6 % suspended, 3 % closed, 3 % under construction.  Last inspection: exponential, mean 240 days
    before ``AS_OF``, capped at three years.
Tailings ponds (250, 60 % points and 40 % small polygons)
    Only in the northern counties 迁安, 迁西, 遵化 and 滦州 north of 39.76 °N (``POND_AREA_LIMIT``): 85 % around five
    mining districts (``MINING_DISTRICTS``), 15 % uniform over that area.  Dam height: log-normal, median 22 m,
    sigma 0.55; capacity grows as H^2.5 with log-normal noise (median 30 x 10^4 m^3 at 22 m).  That gives mostly
    grades 四/五, a few 三 and a very rare 二 (domain.md §3 grade table).  Safety state 86 % normal (正常), 11 % ill
    (病), 2.5 % dangerous (险), 0.5 % critical (危).  Downstream direction: von Mises around south (the hills drain to
    the plain), unknown for 20 %.  Downstream population: none for 55 %, otherwise log-normal median 120.  Ore
    铁矿 86 %, 金矿 8 % (迁西, 遵化 gold), unknown 6 %.  Status 70 % operating, 15 % suspended, 12 % closed (闭库).
    Polygons are star-shaped rings (valid by construction) sized from the capacity; a polygon that would cross
    the area's edge is kept as its centre point.
Pipelines (25 lines)
    Drawn along ``PIPELINE_CORRIDORS`` between named places (``PLACES``): the LNG send-out and gas trunk lines
    (1016 mm, 10 MPa), city-gate and county branch gas lines (273-711 mm, 2.5-6.3 MPa), crude lines from the
    曹妃甸 terminal and the 冀东 oil field at 南堡 (325-813 mm, 4-8 MPa), refined-product lines (325-457 mm,
    6.3-8 MPa) and two chemical lines in the 曹妃甸 chemical park corridor (219-273 mm, 1.6-2.5 MPa); lines built
    before 1980 are closed, the rest operating.  Each line gets 1-4 extra vertices per leg, offset sideways by a
    normal with sd 3 % of the leg length; parallel lines in one corridor are 0.6 km apart.  Lengths 20-150 km;
    coordinates are clipped to the counties' bounding box.  Depth of cover normal 1.2 m (sd 0.3), unknown for
    30 %.  Operators are invented names.
Venues (800 points)
    35 % around the city centre (路南/路北, sd 3 km), 50 % around the 12 county seats (sd 1.5 km), 15 % around
    township seats (sd 1 km), with a town mix (malls, hotels, cinemas, transport hubs...) or a township mix
    (markets, schools, kindergartens, nursing homes...).  Floor area log-normal around a per-type median; stated
    occupancy for 45 % (area x a GB 50016-like density, domain.md §5); exits grow with area; blocked exits 3 %;
    exit width ratio normal 1.15 (sd 0.25); sprinklers and alarms more likely in large buildings; entertainment
    venues in a basement for 25 %.
Settlements (5,000 points)
    860 urban communities (500 around the city centre, sd 4 km; 30 around each county seat, sd 1.8 km; population
    median 4,500, buildings of 4+ storeys dominant for 85 %), 120 township seats uniform over the counties
    (median 7,000), and 4,020 villages: 55 % uniform, 45 % within a few km of a township or county seat
    (log-normal median 750, clipped to 200-3,000).  Households = population / 2.8 with 8 % noise; population is
    unknown for 8 % and households for 15 %, never both (one is required).

Missing values are drawn independently per attribute at the rates written next to each one below (``_missing``).
Dates are ISO strings counted back from ``AS_OF`` (a fixed date, so the output does not depend on today).

Larger sets, for benchmarks (``bench/score``)
    ``generate_demo(counties, seed, scale=s)`` multiplies the counts of enterprises, ponds, venues and
    settlements (the urban communities of the city and of each county seat, and the settlement total) by ``s``,
    rounded; the 120 township seats stay as they are, so the extra settlements are villages.  Everything else
    (clusters, shares, distributions) is unchanged, so the proportions are the demo's: 3,000 : 250 : 800 : 5,000,
    i.e. ``scale = 1e6 / 9050`` gives about 1,000,000 point features (331,492 enterprises, 27,624 ponds, 88,398
    venues, 552,486 settlements).  ``pipeline_km=L`` draws pipelines until their total length reaches about
    ``L`` km (within one line): first the corridor lines above in order (so a small ``L`` gives a prefix of
    them), then the whole set again and again, each repeat shifted sideways by a further
    ``REPEAT_SPACING_KM`` (alternately left and right of the corridor) with its own wiggle, clipped to the
    counties' bounding box like the originals; the region is small, so 20,000 km means about a dozen parallel
    repeats of every corridor.  With the defaults (``scale=1.0``, ``pipeline_km=None``) the output is exactly
    the demo described above.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass
from functools import reduce
from statistics import NormalDist

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.kinds import KINDS

DEFAULT_SEED = 20261129
AS_OF = dt.date(2026, 11, 1)  # "today" for inspection dates; fixed so the output depends on the seed only
SYNTHETIC = "（合成）"

N_ENTERPRISES = 3000
N_PONDS = 250
N_VENUES = 800
N_TOWNSHIPS = 120
N_URBAN_CITY = 500
N_URBAN_PER_SEAT = 30
N_SETTLEMENTS = 5000

KM_PER_DEG_LAT = 110.95  # at about 39.5 °N
KM_PER_DEG_LON_EQUATOR = 111.32

# One random stream per kind, so changing how one kind is drawn leaves the others as they were.
_STREAMS = {"townships": 0, "enterprise": 1, "tailings_pond": 2, "pipeline": 3, "venue": 4, "settlement": 5}


# --- places (approximate WGS 84 centres; the county each lies in is checked by the tests) -----------------------

@dataclass(frozen=True)
class Place:
    name: str
    lon: float
    lat: float
    county: str


CITY_CENTRE = Place("唐山市区", 118.180, 39.630, "路北区")  # centre of the 路南/路北 urban core
COUNTY_SEATS = (
    Place("丰南", 118.085, 39.576, "丰南区"),
    Place("丰润", 118.162, 39.832, "丰润区"),
    Place("古冶", 118.447, 39.733, "古冶区"),
    Place("开平", 118.262, 39.671, "开平区"),
    Place("唐海", 118.454, 39.276, "曹妃甸区"),  # seat of 曹妃甸区
    Place("倴城", 118.682, 39.505, "滦南县"),
    Place("乐亭", 118.912, 39.426, "乐亭县"),
    Place("兴城", 118.315, 40.142, "迁西县"),
    Place("玉田", 117.739, 39.901, "玉田县"),
    Place("遵化", 117.966, 40.190, "遵化市"),
    Place("迁安", 118.701, 40.000, "迁安市"),
    Place("滦州", 118.703, 39.740, "滦州市"),
)
SEAT_WEIGHTS = np.array([1.2, 1.0, 0.8, 0.7, 0.8, 0.9, 0.9, 0.8, 1.0, 1.1, 1.3, 1.0])  # rough relative town size

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
BRAND_FIRST = list("华冀恒鑫金宏瑞泰德永兴盛隆丰嘉利安通远达")
BRAND_SECOND = list("源东泰达丰盛兴发宇航昌鼎信诚润通海峰")

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

# --- tailings ponds ---------------------------------------------------------------------------------------------

NORTHERN_COUNTIES = ("迁安市", "迁西县", "遵化市", "滦州市")
POND_AREA_LIMIT = {"滦州市": 39.76}  # only the hilly north of 滦州 (south of this latitude is plain)
MINING_DISTRICTS = (  # (place, sd km, weight): iron-ore districts in the Yanshan foothills
    (Place("迁安水厂—大石河矿区", 118.62, 40.06, "迁安市"), 5.0, 0.30),
    (Place("迁安东部矿区", 118.80, 39.95, "迁安市"), 4.0, 0.12),
    (Place("迁西矿区", 118.35, 40.10, "迁西县"), 6.0, 0.15),
    (Place("遵化东部矿区", 118.05, 40.12, "遵化市"), 6.0, 0.15),
    (Place("滦州北部矿区", 118.72, 39.84, "滦州市"), 4.0, 0.13),
)
POND_BACKGROUND_SHARE = 0.15
POND_POLYGON_SHARE = 0.4
POND_VALLEYS = ["北沟", "南沟", "大石沟", "杏山沟", "马兰沟", "黄花沟", "龙湾", "柳河", "石门", "松汀", "东峪", "西峪"]

# --- pipelines --------------------------------------------------------------------------------------------------

PLACES = {
    "曹妃甸港区": (118.50, 39.01), "曹妃甸化工园": (118.40, 39.08), "南堡": (118.23, 39.22), "唐海": (118.45, 39.28),
    "丰南沿海": (118.05, 39.30), "丰南西": (117.92, 39.45),  # toward Tianjin
    "丰南": (118.09, 39.57), "唐山": (118.18, 39.63), "古冶": (118.45, 39.73), "丰润": (118.16, 39.83),
    "玉田西": (117.60, 39.78),  # west edge, toward 宝坻
    "玉田": (117.74, 39.90), "遵化": (117.97, 40.19), "迁西": (118.31, 40.13), "迁安": (118.70, 40.00),
    "迁安东": (118.85, 39.98),  # east edge, toward 秦皇岛
    "滦州": (118.70, 39.74), "滦南": (118.68, 39.50), "乐亭": (118.91, 39.43), "京唐港": (118.98, 39.23),
}


@dataclass(frozen=True)
class Corridor:
    """Parallel lines along one route: medium, sizes, years and operator of each line."""

    route: tuple[str, ...]
    medium: str
    diameters_mm: tuple[float, ...]
    pressures_mpa: tuple[float, ...]
    years: tuple[int, ...]
    operator: str


_GAS_TRUNK = "北方某天然气管道公司" + SYNTHETIC
_CITY_GAS = "唐山某燃气集团" + SYNTHETIC
_OILFIELD = "冀东某油田公司" + SYNTHETIC
_OIL_LINES = "华北某原油管道公司" + SYNTHETIC
_PRODUCTS = "河北某成品油管道公司" + SYNTHETIC
_CHEM_PARK = "曹妃甸某化工园区管廊公司" + SYNTHETIC
PIPELINE_CORRIDORS = (
    Corridor(("曹妃甸港区", "唐海", "丰南", "玉田西"), "natural_gas", (1016, 1016), (10.0, 10.0), (2013, 2021),
             _GAS_TRUNK),
    Corridor(("玉田西", "丰润", "滦州", "迁安东"), "natural_gas", (1016,), (10.0,), (2009,), _GAS_TRUNK),
    Corridor(("曹妃甸港区", "唐海", "唐山"), "natural_gas", (610, 711), (6.3, 6.3), (2008, 2016), _GAS_TRUNK),
    Corridor(("南堡", "丰南", "唐山"), "natural_gas", (406,), (4.0,), (1995,), _OILFIELD),
    Corridor(("唐山", "丰润", "遵化"), "natural_gas", (508,), (6.3,), (2012,), _CITY_GAS),
    Corridor(("唐山", "迁西"), "natural_gas", (406,), (4.0,), (2014,), _CITY_GAS),
    Corridor(("唐山", "滦南", "乐亭"), "natural_gas", (457,), (6.3,), (2011,), _CITY_GAS),
    Corridor(("唐山", "古冶"), "natural_gas", (323.9,), (4.0,), (2007,), _CITY_GAS),
    Corridor(("丰润", "玉田"), "natural_gas", (273,), (2.5,), (2006,), _CITY_GAS),
    Corridor(("唐山", "滦南"), "natural_gas", (323.9,), (4.0,), (2010,), _CITY_GAS),
    Corridor(("京唐港", "乐亭", "滦南", "唐山"), "natural_gas", (508,), (6.3,), (2017,), _GAS_TRUNK),
    Corridor(("曹妃甸港区", "南堡", "丰南沿海", "丰南西"), "crude_oil", (711, 813), (6.3, 8.0), (2008, 2015),
             _OIL_LINES),
    Corridor(("京唐港", "曹妃甸港区"), "crude_oil", (610,), (6.3,), (2012,), _OIL_LINES),
    Corridor(("南堡", "曹妃甸港区"), "crude_oil", (325,), (4.0,), (2006,), _OILFIELD),
    Corridor(("南堡", "丰南"), "crude_oil", (377, 325), (4.0, 4.0), (1982, 1975), _OILFIELD),
    Corridor(("曹妃甸港区", "唐海", "唐山"), "refined_oil", (457,), (8.0,), (2010,), _PRODUCTS),
    Corridor(("唐山", "迁安"), "refined_oil", (325,), (6.3,), (2012,), _PRODUCTS),
    Corridor(("唐山", "遵化"), "refined_oil", (325,), (6.3,), (2014,), _PRODUCTS),
    Corridor(("京唐港", "乐亭", "滦州"), "refined_oil", (406,), (6.3,), (2009,), _PRODUCTS),
    Corridor(("南堡", "曹妃甸化工园", "曹妃甸港区"), "hazardous_chemical", (273, 219), (2.5, 1.6), (2018, 2020),
             _CHEM_PARK),
)
MEDIUM_WORD = {"natural_gas": "天然气", "crude_oil": "原油", "refined_oil": "成品油", "hazardous_chemical": "化工物料"}
CORRIDOR_SPACING_KM = 0.6
REPEAT_SPACING_KM = 1.5  # sideways step between repeats of the corridor set (only with pipeline_km, see above)
WIGGLE = 0.03  # sd of the sideways vertex offset, as a share of the leg length

# --- venues -----------------------------------------------------------------------------------------------------

VENUE_TOWN_MIX = {
    "mall": 0.10, "market": 0.07, "hospital": 0.06, "nursing_home": 0.04, "kindergarten": 0.12, "school": 0.13,
    "hotel": 0.14, "entertainment": 0.12, "cinema": 0.04, "stadium": 0.02, "exhibition": 0.01,
    "transport_hub": 0.03, "religious": 0.01, "square": 0.03, "other": 0.08,
}
VENUE_TOWNSHIP_MIX = {
    "market": 0.22, "school": 0.20, "kindergarten": 0.18, "nursing_home": 0.12, "hospital": 0.08, "mall": 0.04,
    "hotel": 0.04, "entertainment": 0.04, "religious": 0.04, "square": 0.02, "other": 0.02,
}
VENUE_AREA_MEDIAN_M2 = {
    "mall": 12000, "market": 3000, "hospital": 15000, "nursing_home": 3000, "kindergarten": 2000, "school": 12000,
    "hotel": 6000, "entertainment": 800, "cinema": 3000, "stadium": 15000, "exhibition": 20000,
    "transport_hub": 8000, "religious": 1500, "square": 20000, "other": 2000,
}
VENUE_DENSITY_P_PER_M2 = {  # occupant density used for stated occupancy (GB 50016-like, domain.md §5)
    "mall": 0.45, "market": 0.5, "hospital": 0.1, "nursing_home": 0.05, "kindergarten": 0.15, "school": 0.2,
    "hotel": 0.05, "entertainment": 0.5, "cinema": 1.0, "stadium": 0.5, "exhibition": 0.75,
    "transport_hub": 0.4, "religious": 0.3, "square": 0.5, "other": 0.2,
}
VENUE_WORD = {
    "mall": "购物广场", "market": "农贸市场", "hospital": "医院", "nursing_home": "养老院", "kindergarten": "幼儿园",
    "school": "中学", "hotel": "大酒店", "entertainment": "KTV", "cinema": "影城", "stadium": "体育馆",
    "exhibition": "会展中心", "transport_hub": "汽车站", "religious": "寺", "square": "广场", "other": "活动中心",
}

# --- settlements ------------------------------------------------------------------------------------------------

PERSONS_PER_HOUSEHOLD = 2.8
VILLAGE_PREFIX = ["", "", "东", "西", "南", "北", "大", "小", "前", "后"]
VILLAGE_SURNAME = list("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯于董"
                       "萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎")
VILLAGE_SUFFIX = ["庄", "各庄", "家庄", "庄子", "坨", "屯", "营", "店", "铺", "官庄", "家坞", "沽", "寨", "台"]


# --- the region -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Region:
    """The counties, their union and a spatial index, for sampling and lookups."""

    names: np.ndarray
    geoms: np.ndarray
    union: shapely.Geometry
    tree: shapely.STRtree

    @classmethod
    def from_counties(cls, counties: gpd.GeoDataFrame) -> Region:
        if "name" not in counties.columns:
            raise ValueError(f"counties need a 'name' column (Chinese county names); got {list(counties.columns)}")
        counties = counties.to_crs(4326) if counties.crs is not None else counties
        geoms = np.asarray(counties.geometry.values, dtype=object)
        union = shapely.union_all(geoms)
        shapely.prepare(union)
        return cls(np.asarray(counties["name"], dtype=str), geoms, union, shapely.STRtree(geoms))

    def area(self, names: tuple[str, ...], min_lat: dict[str, float] | None = None) -> shapely.Geometry:
        """Union of the named counties, each optionally cut to north of a latitude."""
        parts = []
        for name in names:
            if name not in self.names:
                raise ValueError(f"no county named {name!r} among {list(self.names)}")
            geom = self.geoms[np.flatnonzero(self.names == name)[0]]
            if min_lat and name in min_lat:
                geom = shapely.intersection(geom, shapely.box(-180, min_lat[name], 180, 90))
            parts.append(geom)
        area = shapely.union_all(parts)
        shapely.prepare(area)
        return area

    def county_names(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Name of the county each point lies in (the first one for a point on a shared border)."""
        pts = shapely.points(lon, lat)
        point_idx, county_idx = self.tree.query(pts, predicate="intersects")
        first = np.unique(point_idx, return_index=True)[1]
        out = np.full(len(pts), "", dtype=object)
        out[point_idx[first]] = self.names[county_idx[first]]
        return out

    def short_names(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """County names without the 区/县/市 suffix (路南, 迁安...), for building feature names."""
        return pd.Series(self.county_names(lon, lat)).str.replace(r"[区县市]$", "", regex=True).to_numpy(str)


# --- sampling helpers -------------------------------------------------------------------------------------------

_MAX_ROUNDS = 200


def _km_to_deg(dx_km, dy_km, lat):
    return dx_km / (KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat))), dy_km / KM_PER_DEG_LAT


def scatter(area, rng, centre_lon, centre_lat, sigma_km) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian scatter around per-point centres; a point outside ``area`` is redrawn around its own centre."""
    centre_lon, centre_lat, sigma_km = np.broadcast_arrays(
        np.asarray(centre_lon, float), np.asarray(centre_lat, float), np.asarray(sigma_km, float))
    lon, lat = np.empty(centre_lon.shape), np.empty(centre_lat.shape)
    todo = np.arange(len(centre_lon))
    for _ in range(_MAX_ROUNDS):
        dx, dy = _km_to_deg(rng.normal(size=todo.size) * sigma_km[todo],
                            rng.normal(size=todo.size) * sigma_km[todo], centre_lat[todo])
        x, y = centre_lon[todo] + dx, centre_lat[todo] + dy
        inside = shapely.contains_xy(area, x, y)
        lon[todo[inside]], lat[todo[inside]] = x[inside], y[inside]
        todo = todo[~inside]
        if todo.size == 0:
            return lon, lat
    raise ValueError(f"could not place points around {len(todo)} centres inside the area, e.g. "
                     f"({centre_lon[todo[0]]:.3f}, {centre_lat[todo[0]]:.3f})")


def uniform_points(area, rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform over ``area`` (rejection sampling from its bounding box, in batches)."""
    x0, y0, x1, y1 = shapely.bounds(area)
    lon, lat = np.empty(0), np.empty(0)
    for _ in range(_MAX_ROUNDS):
        m = 2 * (n - lon.size) + 64
        x, y = rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)
        inside = shapely.contains_xy(area, x, y)
        lon, lat = np.concatenate([lon, x[inside]]), np.concatenate([lat, y[inside]])
        if lon.size >= n:
            return lon[:n], lat[:n]
    raise ValueError("could not sample points inside the area")


def _choose(rng, mix: dict[str, float], n: int) -> np.ndarray:
    """``n`` draws from a categorical mix (probabilities are normalised)."""
    keys = np.array(list(mix), dtype=object)
    p = np.array(list(mix.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def _pick(rng, options, n: int) -> np.ndarray:
    return np.asarray(options, dtype=str)[rng.integers(len(options), size=n)]


def _join(*parts) -> np.ndarray:
    """Element-wise string concatenation of arrays and scalars."""
    return reduce(np.char.add, [np.asarray(p, dtype=str) for p in parts])


def _ids(prefix: str, n: int) -> np.ndarray:
    return _join(f"demo-{prefix}-", np.char.zfill(np.arange(1, n + 1).astype(str), 5))


def _missing(rng, values, rate: float) -> pd.Series:
    """``values`` with a share ``rate`` blanked out at random (real registers are incomplete)."""
    values = pd.Series(values)
    return values.mask(rng.random(len(values)) < rate)


def _days_ago(rng, n: int, mean_days: float, max_days: int = 3 * 365) -> np.ndarray:
    """ISO dates an exponential number of days before AS_OF, capped at ``max_days``."""
    days = np.minimum(rng.exponential(mean_days, n), max_days).astype("int64")
    return (np.datetime64(AS_OF) - days.astype("timedelta64[D]")).astype(str)


def _lognormal(rng, median, sigma: float, n: int) -> np.ndarray:
    return np.asarray(median, float) * np.exp(rng.normal(0.0, sigma, n))


def _frame(kind: str, prefix: str, names, geometry, columns: dict) -> gpd.GeoDataFrame:
    """Assemble one kind's GeoDataFrame, casting every attribute to its type in geo/kinds.py."""
    n = len(names)
    columns = dict(columns)
    data = {"source_id": _ids(prefix, n), "name": np.asarray(names, dtype=str), "synthetic": np.ones(n, bool)}
    for attr in KINDS[kind].attributes:
        s = pd.Series(columns.pop(attr.name))
        if attr.type == "integer":
            s = s.round().astype("Int64")
        elif attr.type == "real":
            s = s.astype("float64")
        elif attr.type == "boolean":
            s = s.astype("boolean")
        else:  # text, enum, date, chemicals: strings, None where missing (pandas infers its string dtype)
            s = s.astype(object).where(s.notna(), None)
        data[attr.name] = s.array
    if columns:
        raise ValueError(f"{kind}: columns not in geo/kinds.py: {sorted(columns)}")
    return gpd.GeoDataFrame(data, geometry=np.asarray(geometry), crs="EPSG:4326")


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
    n = lon.size
    employees = np.maximum(3, _lognormal(rng, pd.Series(industry).map(EMPLOYEES_MEDIAN), 0.8, n))
    size_factor = (employees / 100.0) ** 0.15
    violations = rng.negative_binomial(1.2, 1.2 / (1.2 + 1.1 * size_factor))
    dangers = rng.negative_binomial(1.5, 1.5 / (1.5 + 1.0 * size_factor + 0.3 * violations))
    names = _join(region.short_names(lon, lat), _pick(rng, BRAND_FIRST, n), _pick(rng, BRAND_SECOND, n),
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


# --- tailings ponds ---------------------------------------------------------------------------------------------

def pond_outline(rng, lon: np.ndarray, lat: np.ndarray, radius_m: np.ndarray, vertices: int = 10) -> np.ndarray:
    """Irregular star-shaped rings around each centre (angles strictly increase, so each ring is simple)."""
    n = lon.size
    angles = (np.arange(vertices) + rng.uniform(-0.3, 0.3, (n, vertices))) * (2 * np.pi / vertices)
    radii = radius_m[:, None] * rng.uniform(0.7, 1.3, (n, vertices)) / 1000.0
    dx, dy = _km_to_deg(radii * np.sin(angles), radii * np.cos(angles), lat[:, None])
    ring = np.stack([lon[:, None] + dx, lat[:, None] + dy], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)  # close the ring
    return shapely.polygons(ring)


def tailings_ponds(region: Region, rng, n: int = N_PONDS) -> gpd.GeoDataFrame:
    area = region.area(NORTHERN_COUNTIES, POND_AREA_LIMIT)
    n_background = round(n * POND_BACKGROUND_SHARE)
    weights = np.array([w for _, _, w in MINING_DISTRICTS])
    district = rng.choice(len(MINING_DISTRICTS), size=n - n_background, p=weights / weights.sum())
    lon, lat = scatter(area, rng, [MINING_DISTRICTS[i][0].lon for i in district],
                       [MINING_DISTRICTS[i][0].lat for i in district], [MINING_DISTRICTS[i][1] for i in district])
    bg_lon, bg_lat = uniform_points(area, rng, n_background)
    lon, lat = np.concatenate([lon, bg_lon]), np.concatenate([lat, bg_lat])

    height = np.clip(_lognormal(rng, 22.0, 0.55, n), 5.0, 250.0)
    capacity = np.clip(30.0 * (height / 22.0) ** 2.5 * np.exp(rng.normal(0.0, 0.7, n)), 0.5, 50000.0)
    # pond surface ~ capacity / mean depth (about 0.4 H), as a disc radius, for the polygons
    radius_m = np.clip(np.sqrt(capacity * 1e4 / (0.4 * height) / np.pi), 60.0, 1500.0)
    geometry = shapely.points(lon, lat)
    as_polygon = rng.random(n) < POND_POLYGON_SHARE
    outlines = pond_outline(rng, lon[as_polygon], lat[as_polygon], radius_m[as_polygon])
    fits = shapely.within(outlines, area) & shapely.is_valid(outlines)
    geometry[np.flatnonzero(as_polygon)[fits]] = outlines[fits]

    direction = np.degrees(rng.vonmises(np.pi, 1.0, n)) % 360.0  # mostly draining south
    affected = rng.random(n) < 0.45
    downstream = np.where(affected, np.round(_lognormal(rng, 120.0, 1.2, n)), 0)
    names = _join(region.short_names(lon, lat), _pick(rng, BRAND_FIRST, n), _pick(rng, BRAND_SECOND, n), "矿业",
                  _pick(rng, POND_VALLEYS, n), "尾矿库", SYNTHETIC)
    return _frame("tailings_pond", "pond", names, geometry, {
        "dam_height_m": _missing(rng, height.round(1), 0.05),
        "capacity_10k_m3": _missing(rng, capacity.round(1), 0.08),
        "safety_state": _missing(rng, _choose(rng, {"normal": 0.86, "ill": 0.11, "dangerous": 0.025,
                                                    "critical": 0.005}, n), 0.05),
        "downstream_direction_deg": _missing(rng, direction.round(1), 0.20),
        "downstream_population": _missing(rng, downstream, 0.25),
        "ore": _missing(rng, _choose(rng, {"铁矿": 0.86 / 0.94, "金矿": 0.08 / 0.94}, n), 0.06),
        "status": _missing(rng, _choose(rng, {"operating": 0.70, "suspended": 0.15, "closed": 0.12,
                                              "under_construction": 0.03}, n), 0.03),
        "major_hidden_danger": _missing(rng, rng.random(n) < 0.02, 0.10),
        "last_inspection": _missing(rng, _days_ago(rng, n, 200), 0.08),
    })


# --- pipelines --------------------------------------------------------------------------------------------------

def pipeline_route(rng, route: tuple[str, ...], lateral_km: float) -> np.ndarray:
    """Vertices (lon, lat) of a line through the named places, with sideways wiggle and a parallel offset."""
    lat0 = np.mean([PLACES[p][1] for p in route])
    kx, ky = KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat0)), KM_PER_DEG_LAT
    xy = np.array([(PLACES[p][0] * kx, PLACES[p][1] * ky) for p in route])  # km on a local plane
    points = [xy[:1]]
    for a, b in zip(xy[:-1], xy[1:], strict=True):
        leg = b - a
        length = np.hypot(*leg)
        normal = np.array([-leg[1], leg[0]]) / length
        k = int(np.clip(length // 12, 1, 4))
        t = np.sort(rng.uniform(0.1, 0.9, k))
        offset = rng.normal(0.0, WIGGLE * length, k)
        points += [a + t[:, None] * leg + offset[:, None] * normal, b[None]]
    xy = np.concatenate(points)
    overall = xy[-1] - xy[0]
    xy = xy + lateral_km * np.array([-overall[1], overall[0]]) / np.hypot(*overall)
    return np.column_stack([xy[:, 0] / kx, xy[:, 1] / ky])


def _repeat_offset_km(repeat: int) -> float:
    """Sideways shift of the ``repeat``-th copy of the corridor set: 0, then +1, -1, +2, -2 ... spacings."""
    return (1 if repeat % 2 else -1) * ((repeat + 1) // 2) * REPEAT_SPACING_KM


def line_length_km(coords: np.ndarray) -> float:
    """Length of a (lon, lat) vertex array in km on the local plane of ``_km_to_deg`` (within 0.5 % here)."""
    mid_lat = (coords[1:, 1] + coords[:-1, 1]) / 2
    dx = np.diff(coords[:, 0]) * KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(mid_lat))
    dy = np.diff(coords[:, 1]) * KM_PER_DEG_LAT
    return float(np.hypot(dx, dy).sum())


def _corridor_lines(repeats):
    for repeat in repeats:
        for c in PIPELINE_CORRIDORS:
            for j, (d, p, year) in enumerate(zip(c.diameters_mm, c.pressures_mpa, c.years, strict=True)):
                yield repeat, c, j, d, p, year


def pipelines(region: Region, rng, target_km: float | None = None) -> gpd.GeoDataFrame:
    """The corridor lines; with ``target_km``, as many lines (repeating the set sideways) as reach that length."""
    if target_km is not None and not target_km > 0:
        raise ValueError(f"pipeline_km must be positive, got {target_km!r}")
    x0, y0, x1, y1 = shapely.bounds(region.union)
    rows = []
    total_km = 0.0
    for repeat, c, j, d, p, year in _corridor_lines(range(1) if target_km is None else itertools.count()):
        if target_km is not None and total_km >= target_km:
            break
        lateral = (j - (len(c.diameters_mm) - 1) / 2) * CORRIDOR_SPACING_KM + _repeat_offset_km(repeat)
        coords = pipeline_route(rng, c.route, lateral)
        coords = np.column_stack([np.clip(coords[:, 0], x0, x1), np.clip(coords[:, 1], y0, y1)])
        length_km = line_length_km(coords)
        if length_km < 1.0:  # squashed against the bounding box (only possible for far repeats)
            continue
        total_km += length_km
        line_no = f"{j + 1}线" if len(c.diameters_mm) > 1 else ""
        copy_no = f"复线{repeat}" if repeat else ""
        rows.append({
            "name": f"{c.route[0]}—{c.route[-1]}{MEDIUM_WORD[c.medium]}管道{line_no}{copy_no}{SYNTHETIC}",
            "geometry": shapely.linestrings(coords), "medium": c.medium, "diameter_mm": float(d),
            "pressure_mpa": float(p), "year_built": year, "operator": c.operator,
            "status": "closed" if year < 1980 else "operating",
        })
    n = len(rows)
    table = pd.DataFrame(rows)
    depth = np.clip(rng.normal(1.2, 0.3, n), 0.5, 3.0).round(2)
    return _frame("pipeline", "pipe", table["name"], table["geometry"], {
        "medium": table["medium"], "diameter_mm": table["diameter_mm"], "pressure_mpa": table["pressure_mpa"],
        "year_built": table["year_built"], "operator": _missing(rng, table["operator"], 0.05),
        "depth_of_cover_m": _missing(rng, depth, 0.30), "status": table["status"],
    })


# --- townships, venues and settlements -------------------------------------------------------------------------

def township_seats(region: Region, rng) -> tuple[np.ndarray, np.ndarray]:
    """Seats of the rural townships (乡镇), uniform over the counties; shared by venues and settlements."""
    return uniform_points(region.union, rng, N_TOWNSHIPS)


def _seat_arrays():
    lon = np.array([s.lon for s in COUNTY_SEATS])
    lat = np.array([s.lat for s in COUNTY_SEATS])
    return lon, lat, np.array([s.name for s in COUNTY_SEATS])


def venues(region: Region, rng, townships: tuple[np.ndarray, np.ndarray],
           n: int = N_VENUES) -> gpd.GeoDataFrame:
    seat_lon, seat_lat, _ = _seat_arrays()
    n_city, n_seat = round(n * 0.35), round(n * 0.50)
    n_township = n - n_city - n_seat
    seat = rng.choice(len(COUNTY_SEATS), size=n_seat, p=SEAT_WEIGHTS / SEAT_WEIGHTS.sum())
    town = rng.integers(len(townships[0]), size=n_township)
    centre_lon = np.concatenate([np.full(n_city, CITY_CENTRE.lon), seat_lon[seat], townships[0][town]])
    centre_lat = np.concatenate([np.full(n_city, CITY_CENTRE.lat), seat_lat[seat], townships[1][town]])
    sigma = np.concatenate([np.full(n_city, 3.0), np.full(n_seat, 1.5), np.full(n_township, 1.0)])
    lon, lat = scatter(region.union, rng, centre_lon, centre_lat, sigma)
    vtype = np.concatenate([_choose(rng, VENUE_TOWN_MIX, n_city + n_seat),
                            _choose(rng, VENUE_TOWNSHIP_MIX, n_township)])

    types = pd.Series(vtype)
    area = np.clip(_lognormal(rng, types.map(VENUE_AREA_MEDIAN_M2), 0.7, n), 50.0, 500000.0).round(0)
    occupancy = area * types.map(VENUE_DENSITY_P_PER_M2).to_numpy() * _lognormal(rng, 1.0, 0.3, n)
    storey = rng.choice([1, 2, 3, 4, 5, -1], size=n, p=[0.55, 0.2, 0.1, 0.05, 0.04, 0.06])
    storey = np.where((vtype == "entertainment") & (rng.random(n) < 0.25), -1, storey)
    storey = np.where(np.isin(vtype, ["square", "stadium"]), 1, storey)
    exits = np.clip(np.round(2 + np.sqrt(area) / 40 + rng.normal(0, 1, n)), 1, 60)
    sprinklers = rng.random(n) < np.where(area > 3000, 0.85, 0.45)
    alarm = rng.random(n) < np.where(area > 1500, 0.90, 0.60)
    names = _join(region.short_names(lon, lat), _pick(rng, BRAND_FIRST, n), _pick(rng, BRAND_SECOND, n),
                  types.map(VENUE_WORD).to_numpy(str), SYNTHETIC)
    return _frame("venue", "venue", names, shapely.points(lon, lat), {
        "venue_type": vtype,
        "floor_area_m2": _missing(rng, area, 0.10),
        "storey": _missing(rng, storey, 0.15),
        "occupancy": _missing(rng, occupancy.round(), 0.55),
        "exits": _missing(rng, exits, 0.10),
        "exits_blocked": _missing(rng, rng.random(n) < 0.03, 0.25),
        "exit_width_ratio": _missing(rng, np.clip(rng.normal(1.15, 0.25, n), 0.3, 3.0).round(2), 0.40),
        "sprinklers": _missing(rng, sprinklers, 0.20),
        "fire_alarm": _missing(rng, alarm, 0.15),
        "last_fire_inspection": _missing(rng, _days_ago(rng, n, 200), 0.10),
        "status": _missing(rng, _choose(rng, {"operating": 0.94, "suspended": 0.04, "closed": 0.01,
                                              "under_construction": 0.01}, n), 0.05),
    })


def settlements(region: Region, rng, townships: tuple[np.ndarray, np.ndarray],
                scale: float = 1.0) -> gpd.GeoDataFrame:
    seat_lon, seat_lat, seat_name = _seat_arrays()
    t_lon, t_lat = townships
    n_city, per_seat = _scaled(N_URBAN_CITY, scale), _scaled(N_URBAN_PER_SEAT, scale)
    # urban communities: the city core and around each county seat
    n_seat_urban = per_seat * len(COUNTY_SEATS)
    u_lon, u_lat = scatter(
        region.union, rng,
        np.concatenate([np.full(n_city, CITY_CENTRE.lon), np.repeat(seat_lon, per_seat)]),
        np.concatenate([np.full(n_city, CITY_CENTRE.lat), np.repeat(seat_lat, per_seat)]),
        np.concatenate([np.full(n_city, 4.0), np.full(n_seat_urban, 1.8)]),
    )
    n_urban = u_lon.size
    # villages: uniform, or near a township or county seat
    n_village = max(0, _scaled(N_SETTLEMENTS, scale) - n_urban - t_lon.size)
    n_near = round(n_village * 0.45)
    hub_lon, hub_lat = np.concatenate([t_lon, seat_lon]), np.concatenate([t_lat, seat_lat])
    hub = rng.integers(hub_lon.size, size=n_near)
    hub_sigma = np.where(hub < t_lon.size, 3.0, 6.0)
    near_lon, near_lat = scatter(region.union, rng, hub_lon[hub], hub_lat[hub], hub_sigma)
    far_lon, far_lat = uniform_points(region.union, rng, n_village - n_near)

    lon = np.concatenate([u_lon, t_lon, near_lon, far_lon])
    lat = np.concatenate([u_lat, t_lat, near_lat, far_lat])
    n = lon.size
    n_town = t_lon.size
    population = np.concatenate([
        np.clip(_lognormal(rng, 4500, 0.5, n_urban), 800, 20000),
        np.clip(_lognormal(rng, 7000, 0.5, n_town), 2000, 40000),
        np.clip(_lognormal(rng, 750, 0.55, n_village), 200, 3000),
    ]).round()
    households = np.round(population / PERSONS_PER_HOUSEHOLD * _lognormal(rng, 1.0, 0.08, n))
    tall = rng.random(n) < np.concatenate([np.full(n_urban, 0.85), np.full(n_town, 0.25), np.full(n_village, 0.02)])
    no_households = rng.random(n) < 0.15
    no_population = ~no_households & (rng.random(n) < 0.08 / 0.85)  # one of the two is always known

    short = region.short_names(lon, lat)
    urban_place = np.concatenate([short[:n_city], np.repeat(seat_name, per_seat)])
    names = np.concatenate([
        _join(urban_place, _pick(rng, BRAND_FIRST, n_urban), _pick(rng, BRAND_SECOND, n_urban),
              "社区", SYNTHETIC),
        _join(short[n_urban:n_urban + n_town], _pick(rng, VILLAGE_SURNAME, n_town), _pick(rng, VILLAGE_SUFFIX, n_town),
              "镇", SYNTHETIC),
        _join(_pick(rng, VILLAGE_PREFIX, n_village), _pick(rng, VILLAGE_SURNAME, n_village),
              _pick(rng, VILLAGE_SUFFIX, n_village), "村", SYNTHETIC),
    ])
    return _frame("settlement", "settle", names, shapely.points(lon, lat), {
        "population": pd.Series(population).mask(no_population),
        "households": pd.Series(households).mask(no_households),
        "buildings_4plus_dominant": _missing(rng, tall, 0.10),
    })


# --- entry point ------------------------------------------------------------------------------------------------

def _scaled(n: int, scale: float) -> int:
    return max(1, round(n * scale))


def generate_demo(counties: gpd.GeoDataFrame, seed: int = DEFAULT_SEED, *, scale: float = 1.0,
                  pipeline_km: float | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Synthetic enterprises, tailings ponds, pipelines, venues and settlements in the given Tangshan counties.

    ``counties`` needs a ``name`` column with the Chinese county names (as in data/tangshan_counties.geojson).
    Returns {kind: GeoDataFrame in EPSG:4326}; deterministic for a seed (and scale and pipeline_km).
    ``scale`` multiplies the numbers of enterprises, ponds, venues and settlements; ``pipeline_km`` draws
    pipelines up to about that total length (see the module docstring).  The defaults give the demo set.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    region = Region.from_counties(counties)

    def rng(stream: str) -> np.random.Generator:
        return np.random.default_rng([seed, _STREAMS[stream]])

    townships = township_seats(region, rng("townships"))
    return {
        "enterprise": enterprises(region, rng("enterprise"), _scaled(N_ENTERPRISES, scale)),
        "tailings_pond": tailings_ponds(region, rng("tailings_pond"), _scaled(N_PONDS, scale)),
        "pipeline": pipelines(region, rng("pipeline"), pipeline_km),
        "venue": venues(region, rng("venue"), townships, _scaled(N_VENUES, scale)),
        "settlement": settlements(region, rng("settlement"), townships, scale),
    }
