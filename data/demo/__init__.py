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
the module that uses it.

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

The generators are one module per feature class (``enterprises``, ``tailings_ponds``, ``pipelines``,
``venues``, ``settlements``) over ``common`` (the seed, the places, the region, the sampling helpers); every
name of theirs is importable from ``data.demo`` too.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from data.demo.common import *  # noqa: F403
from data.demo.common import _STREAMS, DEFAULT_SEED, N_ENTERPRISES, N_PONDS, N_VENUES, Region, _scaled, township_seats
from data.demo.enterprises import *  # noqa: F403
from data.demo.enterprises import enterprises
from data.demo.pipelines import *  # noqa: F403
from data.demo.pipelines import pipelines
from data.demo.settlements import *  # noqa: F403
from data.demo.settlements import settlements
from data.demo.tailings_ponds import *  # noqa: F403
from data.demo.tailings_ponds import tailings_ponds
from data.demo.venues import *  # noqa: F403
from data.demo.venues import venues

# --- entry point ------------------------------------------------------------------------------------------------

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
