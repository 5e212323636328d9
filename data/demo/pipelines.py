"""The demo's oil and gas pipelines, drawn along corridors between named places."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.demo.common import KM_PER_DEG_LAT, KM_PER_DEG_LON_EQUATOR, SYNTHETIC, Region, _frame, _missing

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
    return pipeline_frame(rng, pd.DataFrame(rows))


def pipeline_frame(rng, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """The pipelines of ``table`` (name, geometry, medium, diameter_mm, pressure_mpa, year_built, operator,
    status: one row a line) with the depth of cover drawn and a share of operators and depths missing.  Shared by
    the demo and the national set (data/national)."""
    n = len(table)
    depth = np.clip(rng.normal(1.2, 0.3, n), 0.5, 3.0).round(2)
    return _frame("pipeline", "pipe", table["name"], table["geometry"], {
        "medium": table["medium"], "diameter_mm": table["diameter_mm"], "pressure_mpa": table["pressure_mpa"],
        "year_built": table["year_built"], "operator": _missing(rng, table["operator"], 0.05),
        "depth_of_cover_m": _missing(rng, depth, 0.30), "status": table["status"],
    })
