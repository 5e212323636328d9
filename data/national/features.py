"""The national features, per class: where, one county-level unit at a time (``place_*``, from the unit's own
random stream), and what, a block of units at a time (``*_block``), by the demo's attribute generators
(data/demo: ``enterprise_frame``, ``pond_frame``, ``pipeline_frame``, ``venue_frame``, ``settlement_frame``).
Where each feature stands in its unit is described in data/national/__init__.py."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.demo.common import SYNTHETIC, _choose, _km_to_deg, scatter, uniform_points
from data.demo.enterprises import enterprise_frame
from data.demo.pipelines import MEDIUM_WORD, PIPELINE_CORRIDORS, pipeline_frame
from data.demo.settlements import settlement_frame
from data.demo.tailings_ponds import pond_frame
from data.demo.venues import VENUE_TOWN_MIX, VENUE_TOWNSHIP_MIX, venue_frame
from data.national.weights import PROVINCES

N_HUBS = 6  # the county seat and five township seats per unit
PARKS = 3  # enterprises cluster around the seat and the first two township seats
CLUSTERED = {"enterprise": 0.70, "tailings_pond": 0.85, "village_near_hub": 0.45}
URBAN_SHARE = 0.15  # of a unit's settlements: communities around the county seat
SEAT_VENUE_SHARE = 0.5  # of a unit's venues around the county seat (the town mix), the rest around townships
MINING_DISTRICTS_PER_UNIT = 2
CHEMICAL_STORAGE_SHARE = 0.2  # of the chemicals index: oil and gas storage rather than production
LINE_KM_MEDIAN, LINE_KM_SIGMA, LINE_KM_RANGE = 10.0, 0.6, (2.0, 60.0)
STEP_KM = (2.0, 5.0)
TURN_SD_DEG = 25.0
TURN_TRIES = 8
LINE_TYPES = [(c.medium, d, p, y, c.operator) for c in PIPELINE_CORRIDORS
              for d, p, y in zip(c.diameters_mm, c.pressures_mpa, c.years, strict=True)]


def short_name(name: str) -> str:
    """A unit's name without its administrative suffix (朝阳区 -> 朝阳), for feature names."""
    for suffix in ("自治县", "自治旗", "林区", "特区", "区", "县", "市", "旗"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def spread_km(geom: shapely.Geometry, lat: float) -> float:
    """The sd of a cluster in a unit: a sixth of the side of a square of the unit's area, 0.5 to 5 km."""
    dlon, dlat = _km_to_deg(1.0, 1.0, lat)
    area_km2 = shapely.area(geom) / (dlon * dlat)
    return float(np.clip(np.sqrt(area_km2) / 6.0, 0.5, 5.0))


def hubs(geom: shapely.Geometry, rng) -> tuple[np.ndarray, np.ndarray]:
    """The unit's seat (a point on its surface) and ``N_HUBS - 1`` township seats uniform over it."""
    seat = shapely.point_on_surface(geom)
    lon, lat = uniform_points(geom, rng, N_HUBS - 1)
    return np.concatenate([[shapely.get_x(seat)], lon]), np.concatenate([[shapely.get_y(seat)], lat])


def _clustered(geom, rng, n: int, share: float, centre_lon, centre_lat, sigma: float):
    n_near = round(n * share)
    pick = rng.integers(len(centre_lon), size=n_near)
    lon, lat = scatter(geom, rng, centre_lon[pick], centre_lat[pick], sigma)
    u_lon, u_lat = uniform_points(geom, rng, n - n_near)
    return np.concatenate([lon, u_lon]), np.concatenate([lat, u_lat])


def industry_mix(province_code: str) -> dict[str, float]:
    row = PROVINCES.loc[province_code]
    return {"hazardous_chemicals": row.chemicals * (1 - CHEMICAL_STORAGE_SHARE),
            "oil_gas_storage": row.chemicals * CHEMICAL_STORAGE_SHARE, "metallurgy": row.metallurgy,
            "mining": row.mining}


# --- where: one unit's features, drawn from the unit's own stream ------------------------------------------------

def place_enterprises(unit, rng, n: int) -> dict:
    sigma = spread_km(unit.geometry, unit.hub_lat[0])
    lon, lat = _clustered(unit.geometry, rng, n, CLUSTERED["enterprise"], unit.hub_lon[:PARKS],
                          unit.hub_lat[:PARKS], sigma)
    return {"lon": lon, "lat": lat, "industry": _choose(rng, industry_mix(unit.province_code), n)}


def place_tailings_ponds(unit, rng, n: int) -> dict:
    sigma = spread_km(unit.geometry, unit.hub_lat[0])
    d_lon, d_lat = uniform_points(unit.geometry, rng, MINING_DISTRICTS_PER_UNIT)
    lon, lat = _clustered(unit.geometry, rng, n, CLUSTERED["tailings_pond"], d_lon, d_lat, sigma)
    return {"lon": lon, "lat": lat, "area": np.full(n, unit.geometry, dtype=object)}


def place_venues(unit, rng, n: int) -> dict:
    sigma = spread_km(unit.geometry, unit.hub_lat[0]) / 2
    n_seat = round(n * SEAT_VENUE_SHARE)
    centre = np.concatenate([np.zeros(n_seat, int), rng.integers(1, N_HUBS, size=n - n_seat)])
    lon, lat = scatter(unit.geometry, rng, unit.hub_lon[centre], unit.hub_lat[centre], sigma)
    return {"lon": lon, "lat": lat, "town": centre == 0}


def place_settlements(unit, rng, n: int) -> dict:
    sigma = spread_km(unit.geometry, unit.hub_lat[0])
    n_urban = round(n * URBAN_SHARE)
    n_town = min(N_HUBS - 1, n - n_urban)
    u_lon, u_lat = scatter(unit.geometry, rng, np.full(n_urban, unit.hub_lon[0]), np.full(n_urban, unit.hub_lat[0]),
                           sigma / 2)
    v_lon, v_lat = _clustered(unit.geometry, rng, n - n_urban - n_town, CLUSTERED["village_near_hub"],
                              unit.hub_lon, unit.hub_lat, sigma)
    group = np.repeat([0, 1, 2], [n_urban, n_town, n - n_urban - n_town])  # urban, township seat, village
    return {"lon": np.concatenate([u_lon, unit.hub_lon[1:1 + n_town], v_lon]),
            "lat": np.concatenate([u_lat, unit.hub_lat[1:1 + n_town], v_lat]), "group": group}


# --- what: the attributes of a block of units' features, by the demo's functions ---------------------------------

def enterprise_block(rng, placed: dict) -> gpd.GeoDataFrame:
    return enterprise_frame(rng, placed["lon"], placed["lat"], placed["industry"], placed["place"])


def pond_block(rng, placed: dict) -> gpd.GeoDataFrame:
    return pond_frame(rng, placed["lon"], placed["lat"], placed["area"], placed["place"])


def venue_block(rng, placed: dict) -> gpd.GeoDataFrame:
    town = placed["town"]
    vtype = np.empty(town.size, dtype=object)
    vtype[town] = _choose(rng, VENUE_TOWN_MIX, int(town.sum()))
    vtype[~town] = _choose(rng, VENUE_TOWNSHIP_MIX, int((~town).sum()))
    return venue_frame(rng, placed["lon"], placed["lat"], vtype, placed["place"])


def settlement_block(rng, placed: dict) -> gpd.GeoDataFrame:
    """``placed`` ordered by group (``order_settlements``): urban communities, township seats, villages."""
    group, place = placed["group"], placed["place"]
    n_urban, n_town = int((group == 0).sum()), int((group == 1).sum())
    return settlement_frame(rng, placed["lon"], placed["lat"], n_urban, n_town, place[:n_urban],
                            place[n_urban:n_urban + n_town])


def order_settlements(placed: dict) -> dict:
    order = np.argsort(placed["group"], kind="stable")
    return {k: v[order] for k, v in placed.items()}


def pipeline_route(geom: shapely.Geometry, rng, target_km: float) -> np.ndarray:
    """A line wandering through the unit from a random point: steps of ``STEP_KM`` turning by a normal angle,
    each step within the unit (up to ``TURN_TRIES`` directions tried), until ``target_km`` or no step fits."""
    lon, lat = uniform_points(geom, rng, 1)
    coords = [(lon[0], lat[0])]
    heading = rng.uniform(0, 2 * np.pi)
    done = 0.0
    while done < target_km:
        x, y = coords[-1]
        step = rng.uniform(*STEP_KM, TURN_TRIES)
        turn = heading + np.radians(rng.normal(0, TURN_SD_DEG, TURN_TRIES)) * np.arange(1, TURN_TRIES + 1)
        dx, dy = _km_to_deg(step * np.sin(turn), step * np.cos(turn), y)
        segments = shapely.linestrings(np.stack([np.broadcast_to([x, y], (TURN_TRIES, 2)),
                                                 np.column_stack([x + dx, y + dy])], axis=1))
        fits = np.flatnonzero(shapely.within(segments, geom))
        if fits.size == 0:
            break
        k = fits[0]
        coords.append((x + dx[k], y + dy[k]))
        heading, done = turn[k], done + step[k]
    return np.array(coords)


def place_pipelines(unit, rng, n: int) -> dict:
    rows = []
    for i in range(n):
        target = float(np.clip(rng.lognormal(np.log(LINE_KM_MEDIAN), LINE_KM_SIGMA), *LINE_KM_RANGE))
        coords = pipeline_route(unit.geometry, rng, target)
        if len(coords) < 2:
            continue  # no step fitted (a sliver of a unit): no line
        medium, d, p, year, operator = LINE_TYPES[rng.integers(len(LINE_TYPES))]
        rows.append((f"{unit.short}{MEDIUM_WORD[medium]}管道{i + 1}号{SYNTHETIC}", shapely.linestrings(coords),
                     medium, float(d), float(p), year, operator, "closed" if year < 1980 else "operating"))
    columns = ["name", "geometry", "medium", "diameter_mm", "pressure_mpa", "year_built", "operator", "status"]
    return {c: np.array([r[k] for r in rows], dtype=object) for k, c in enumerate(columns)}


def pipeline_block(rng, placed: dict) -> gpd.GeoDataFrame:
    columns = ["name", "geometry", "medium", "diameter_mm", "pressure_mpa", "year_built", "operator", "status"]
    return pipeline_frame(rng, pd.DataFrame({c: placed[c] for c in columns}))


PLACE = {"enterprise": place_enterprises, "tailings_pond": place_tailings_ponds, "pipeline": place_pipelines,
         "venue": place_venues, "settlement": place_settlements}
BLOCK = {"enterprise": enterprise_block, "tailings_pond": pond_block, "pipeline": pipeline_block,
         "venue": venue_block, "settlement": settlement_block}
PREFIX = {"enterprise": "ent", "tailings_pond": "pond", "pipeline": "pipe", "venue": "venue", "settlement": "settle"}
