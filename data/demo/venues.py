"""The demo's crowded venues, around the city centre, the county seats and the township seats."""

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
    N_VENUES,
    SEAT_WEIGHTS,
    SYNTHETIC,
    Region,
    _choose,
    _days_ago,
    _frame,
    _join,
    _lognormal,
    _missing,
    _pick,
    _seat_arrays,
    scatter,
)

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
    return venue_frame(rng, lon, lat, vtype, region.short_names(lon, lat))


def venue_frame(rng, lon: np.ndarray, lat: np.ndarray, vtype: np.ndarray, place: np.ndarray) -> gpd.GeoDataFrame:
    """The venues at (lon, lat) of the given types with every attribute drawn (area, occupancy, storey, exits,
    fire protection, dates, status); ``place`` is the short county name each one's name starts with.  Shared by
    the demo and the national set (data/national)."""
    n = lon.size
    types = pd.Series(vtype)
    area = np.clip(_lognormal(rng, types.map(VENUE_AREA_MEDIAN_M2), 0.7, n), 50.0, 500000.0).round(0)
    occupancy = area * types.map(VENUE_DENSITY_P_PER_M2).to_numpy() * _lognormal(rng, 1.0, 0.3, n)
    storey = rng.choice([1, 2, 3, 4, 5, -1], size=n, p=[0.55, 0.2, 0.1, 0.05, 0.04, 0.06])
    storey = np.where((vtype == "entertainment") & (rng.random(n) < 0.25), -1, storey)
    storey = np.where(np.isin(vtype, ["square", "stadium"]), 1, storey)
    exits = np.clip(np.round(2 + np.sqrt(area) / 40 + rng.normal(0, 1, n)), 1, 60)
    sprinklers = rng.random(n) < np.where(area > 3000, 0.85, 0.45)
    alarm = rng.random(n) < np.where(area > 1500, 0.90, 0.60)
    names = _join(place, _pick(rng, BRAND_FIRST, n), _pick(rng, BRAND_SECOND, n),
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
