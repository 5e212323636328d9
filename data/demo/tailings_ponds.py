"""The demo's iron-ore tailings ponds in the northern hills."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from data.demo.common import (
    BRAND_FIRST,
    BRAND_SECOND,
    N_PONDS,
    SYNTHETIC,
    Place,
    Region,
    _choose,
    _days_ago,
    _frame,
    _join,
    _km_to_deg,
    _lognormal,
    _missing,
    _pick,
    scatter,
    uniform_points,
)

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
    return pond_frame(rng, lon, lat, area, region.short_names(lon, lat))


def pond_frame(rng, lon: np.ndarray, lat: np.ndarray, area: shapely.Geometry | np.ndarray,
               place: np.ndarray) -> gpd.GeoDataFrame:
    """The ponds at (lon, lat) with every attribute drawn (dam, capacity, state, downstream, ore, status, dates);
    a share become polygons sized from their capacity where the outline stays within ``area`` (one geometry, or
    an array of one per pond); ``place`` is the
    short county name each one's name starts with.  Shared by the demo and the national set (data/national)."""
    n = lon.size
    height = np.clip(_lognormal(rng, 22.0, 0.55, n), 5.0, 250.0)
    capacity = np.clip(30.0 * (height / 22.0) ** 2.5 * np.exp(rng.normal(0.0, 0.7, n)), 0.5, 50000.0)
    # pond surface ~ capacity / mean depth (about 0.4 H), as a disc radius, for the polygons
    radius_m = np.clip(np.sqrt(capacity * 1e4 / (0.4 * height) / np.pi), 60.0, 1500.0)
    geometry = shapely.points(lon, lat)
    as_polygon = rng.random(n) < POND_POLYGON_SHARE
    outlines = pond_outline(rng, lon[as_polygon], lat[as_polygon], radius_m[as_polygon])
    within = area[as_polygon] if np.ndim(area) else area  # one area for all, or one per pond
    fits = shapely.within(outlines, within) & shapely.is_valid(outlines)
    geometry[np.flatnonzero(as_polygon)[fits]] = outlines[fits]

    direction = np.degrees(rng.vonmises(np.pi, 1.0, n)) % 360.0  # mostly draining south
    affected = rng.random(n) < 0.45
    downstream = np.where(affected, np.round(_lognormal(rng, 120.0, 1.2, n)), 0)
    names = _join(place, _pick(rng, BRAND_FIRST, n), _pick(rng, BRAND_SECOND, n), "矿业",
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
