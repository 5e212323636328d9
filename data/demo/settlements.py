"""The demo's settlements: urban communities, township seats and villages."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.demo.common import (
    BRAND_FIRST,
    BRAND_SECOND,
    CITY_CENTRE,
    COUNTY_SEATS,
    N_SETTLEMENTS,
    N_URBAN_CITY,
    N_URBAN_PER_SEAT,
    SYNTHETIC,
    Region,
    _frame,
    _join,
    _lognormal,
    _missing,
    _pick,
    _scaled,
    _seat_arrays,
    scatter,
    uniform_points,
)

# --- settlements ------------------------------------------------------------------------------------------------

PERSONS_PER_HOUSEHOLD = 2.8
VILLAGE_PREFIX = ["", "", "东", "西", "南", "北", "大", "小", "前", "后"]
VILLAGE_SURNAME = list("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯于董"
                       "萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎")
VILLAGE_SUFFIX = ["庄", "各庄", "家庄", "庄子", "坨", "屯", "营", "店", "铺", "官庄", "家坞", "沽", "寨", "台"]


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
    short = region.short_names(lon, lat)
    urban_place = np.concatenate([short[:n_city], np.repeat(seat_name, per_seat)])
    return settlement_frame(rng, lon, lat, n_urban, t_lon.size, urban_place, short[n_urban:n_urban + t_lon.size])


def settlement_frame(rng, lon: np.ndarray, lat: np.ndarray, n_urban: int, n_town: int, urban_place: np.ndarray,
                     town_place: np.ndarray) -> gpd.GeoDataFrame:
    """Settlements at (lon, lat): the first ``n_urban`` urban communities, the next ``n_town`` township seats,
    the rest villages, with population, households and building height drawn per group; ``urban_place`` and
    ``town_place`` are the place names the communities' and seats' names start with.  Shared by the demo and the
    national set (data/national)."""
    n = lon.size
    n_village = n - n_urban - n_town
    population = np.concatenate([
        np.clip(_lognormal(rng, 4500, 0.5, n_urban), 800, 20000),
        np.clip(_lognormal(rng, 7000, 0.5, n_town), 2000, 40000),
        np.clip(_lognormal(rng, 750, 0.55, n_village), 200, 3000),
    ]).round()
    households = np.round(population / PERSONS_PER_HOUSEHOLD * _lognormal(rng, 1.0, 0.08, n))
    tall = rng.random(n) < np.concatenate([np.full(n_urban, 0.85), np.full(n_town, 0.25), np.full(n_village, 0.02)])
    no_households = rng.random(n) < 0.15
    no_population = ~no_households & (rng.random(n) < 0.08 / 0.85)  # one of the two is always known

    names = np.concatenate([
        _join(urban_place, _pick(rng, BRAND_FIRST, n_urban), _pick(rng, BRAND_SECOND, n_urban),
              "社区", SYNTHETIC),
        _join(town_place, _pick(rng, VILLAGE_SURNAME, n_town), _pick(rng, VILLAGE_SUFFIX, n_town),
              "镇", SYNTHETIC),
        _join(_pick(rng, VILLAGE_PREFIX, n_village), _pick(rng, VILLAGE_SURNAME, n_village),
              _pick(rng, VILLAGE_SUFFIX, n_village), "村", SYNTHETIC),
    ])
    return _frame("settlement", "settle", names, shapely.points(lon, lat), {
        "population": pd.Series(population).mask(no_population),
        "households": pd.Series(households).mask(no_households),
        "buildings_4plus_dominant": _missing(rng, tall, 0.10),
    })
