"""What every generator of the demo set shares (see data/demo/__init__.py): the seed, the places, the
region and the sampling helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import reduce

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
_STREAMS = {"townships": 0, "enterprise": 1, "tailings_pond": 2, "pipeline": 3, "venue": 4, "settlement": 5,
            "history": 6, "history_latent": 7}

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
BRAND_FIRST = list("华冀恒鑫金宏瑞泰德永兴盛隆丰嘉利安通远达")
BRAND_SECOND = list("源东泰达丰盛兴发宇航昌鼎信诚润通海峰")

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
    # An area that fills a tiny share of its bounding box (islands scattered over a sea, such as Sansha's): each
    # part sampled in its own box, as many points as its share of the area, in batches sized by how much of
    # that box it fills.  (Only after the plain sampling failed, so that every other area's points stay as the
    # seed gave them.)
    return _uniform_by_parts(area, rng, n)


_BATCH_CAP = 1_000_000  # points drawn at a time by _uniform_by_parts


def _uniform_by_parts(area, rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    parts = [p for p in shapely.get_parts(area) if p.area > 0]
    if not parts:
        raise ValueError("could not sample points inside the area: it has no extent")
    weights = np.array([p.area for p in parts])
    per_part = rng.multinomial(n, weights / weights.sum())
    lons, lats = [], []
    for part, k in zip(parts, per_part, strict=True):
        if k == 0:
            continue
        x0, y0, x1, y1 = shapely.bounds(part)
        fill = part.area / max((x1 - x0) * (y1 - y0), 1e-18)
        shapely.prepare(part)
        got_x, got_y = np.empty(0), np.empty(0)
        for _ in range(_MAX_ROUNDS):
            m = min(int(1.5 * (k - got_x.size) / fill) + 64, _BATCH_CAP)
            x, y = rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)
            inside = shapely.contains_xy(part, x, y)
            got_x, got_y = np.concatenate([got_x, x[inside]]), np.concatenate([got_y, y[inside]])
            if got_x.size >= k:
                break
        else:
            raise ValueError(f"could not sample points inside the area (a part of {part.area:.3g} square degrees)")
        lons.append(got_x[:k])
        lats.append(got_y[:k])
    return np.concatenate(lons), np.concatenate(lats)


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


# --- townships, venues and settlements -------------------------------------------------------------------------

def township_seats(region: Region, rng) -> tuple[np.ndarray, np.ndarray]:
    """Seats of the rural townships (乡镇), uniform over the counties; shared by venues and settlements."""
    return uniform_points(region.union, rng, N_TOWNSHIPS)


def _seat_arrays():
    lon = np.array([s.lon for s in COUNTY_SEATS])
    lat = np.array([s.lat for s in COUNTY_SEATS])
    return lon, lat, np.array([s.name for s in COUNTY_SEATS])


def _scaled(n: int, scale: float) -> int:
    return max(1, round(n * scale))
