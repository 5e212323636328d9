"""The geometry checks of an imported chunk (part of validating an import, see geo/validate.py): decoding
(coordinates, WKT or WKB), type, emptiness, NaN and out-of-range coordinates, the transformation to WGS 84 and
validity.  Every problem is recorded in the ImportReport, row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from geo.column_plan import ColumnPlan
from geo.crs import SourceCRS
from geo.errors import ImportReport
from geo.kinds import FeatureKind


def _geometries(table: pa.Table, plan: ColumnPlan, rows: np.ndarray,
                report: ImportReport) -> tuple[np.ndarray, np.ndarray]:
    """Shapely geometries of the chunk (None where unusable) and a mask of the rows already reported."""
    n = table.num_rows
    if plan.lon is not None:
        lon_raw = table.column(plan.lon).to_pandas()
        lat_raw = table.column(plan.lat).to_pandas()
        lon = pd.to_numeric(lon_raw, errors="coerce").to_numpy(dtype="float64")
        lat = pd.to_numeric(lat_raw, errors="coerce").to_numpy(dtype="float64")
        for col, raw, num in ((plan.lon, lon_raw, lon), (plan.lat, lat_raw, lat)):
            blank = raw.isna().to_numpy() | (raw.astype("string").str.strip() == "").fillna(True).to_numpy()
            for i in np.flatnonzero(blank):
                report.add(int(rows[i]), col, "coordinate is missing")
            bad = np.isnan(num) & ~blank
            for i in np.flatnonzero(bad):
                report.add(int(rows[i]), col, f"coordinate {raw.iloc[i]!r} is not a number")
        ok = ~(np.isnan(lon) | np.isnan(lat))
        geoms = np.full(n, None, dtype=object)
        geoms[ok] = shapely.points(lon[ok], lat[ok])
        return geoms, ~ok
    if plan.wkt is not None:
        raw = table.column(plan.wkt).to_pandas()
        geoms = shapely.from_wkt(raw.to_numpy(dtype=object), on_invalid="ignore")
        bad = pd.isna(geoms) & raw.notna().to_numpy()
        for i in np.flatnonzero(bad):
            report.add(int(rows[i]), plan.wkt, f"not valid WKT: {str(raw.iloc[i])[:60]!r}")
        return geoms, bad
    wkb = table.column("wkb").to_numpy(zero_copy_only=False)
    try:
        return shapely.from_wkb(wkb), np.zeros(n, dtype=bool)
    except shapely.errors.GEOSException:
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
        bad = pd.isna(geoms) & pd.notna(wkb)
        for i in np.flatnonzero(bad):
            report.add(int(rows[i]), "geometry", "geometry cannot be decoded")
        return geoms, bad


def check_geometries(geoms: np.ndarray, kind: FeatureKind, crs: SourceCRS, rows: np.ndarray,
                     report: ImportReport, reported: np.ndarray | None = None) -> np.ndarray:
    """Transform to WGS 84 and check every geometry; returns WGS 84 geometries and marks bad rows with None."""
    geoms = np.asarray(geoms, dtype=object).copy()
    missing = pd.isna(geoms)
    present = ~missing
    empty = np.zeros(len(geoms), dtype=bool)
    empty[present] = shapely.is_empty(geoms[present])
    already = reported if reported is not None else np.zeros(len(geoms), dtype=bool)
    for i in np.flatnonzero((missing | empty) & ~already):
        report.add(int(rows[i]), "geometry", "empty geometry" if empty[i] else "geometry is missing")
    ok = present & ~empty
    if ok.any():
        types = shapely.get_type_id(geoms[ok])
        allowed = {_TYPE_IDS[t] for t in kind.geometry_types}
        bad_type = np.zeros(len(geoms), dtype=bool)
        bad_type[ok] = ~np.isin(types, list(allowed))
        for i in np.flatnonzero(bad_type):
            report.add(int(rows[i]), "geometry", f"{geoms[i].geom_type} geometry; a {kind.name} must be "
                       f"{' or '.join(kind.geometry_types)}")
        ok &= ~bad_type
    if ok.any():
        if shapely.has_z(geoms[ok]).any():
            geoms[ok] = shapely.force_2d(geoms[ok])
        coords, idx = shapely.get_coordinates(geoms[ok], return_index=True)
        ok_pos = np.flatnonzero(ok)
        nan_rows = np.unique(idx[np.isnan(coords).any(axis=1)])
        for j in nan_rows:
            report.add(int(rows[ok_pos[j]]), "geometry", "coordinates are NaN")
        ok[ok_pos[nan_rows]] = False
    if ok.any() and crs.is_geographic:
        _check_ranges(geoms, ok, rows, report, before=crs.name)
    if ok.any():
        if crs.name != "EPSG:4326":
            from geo.crs import transform_geometries
            geoms[ok] = transform_geometries(geoms[ok], crs)
            coords, idx = shapely.get_coordinates(geoms[ok], return_index=True)
            ok_pos = np.flatnonzero(ok)
            bad = np.unique(idx[~np.isfinite(coords).all(axis=1)])
            for j in bad:
                report.add(int(rows[ok_pos[j]]), "geometry",
                           f"coordinates cannot be transformed from {crs.name} to WGS 84 (outside the CRS's area?)")
            ok[ok_pos[bad]] = False
        _check_ranges(geoms, ok, rows, report, before=None)
    if ok.any():
        valid = np.ones(len(geoms), dtype=bool)
        valid[ok] = shapely.is_valid(geoms[ok])
        for i in np.flatnonzero(~valid):
            reason = shapely.is_valid_reason(geoms[i])
            report.add(int(rows[i]), "geometry", f"invalid geometry: {reason}")
        ok &= valid
    geoms[~ok] = None
    return geoms


_TYPE_IDS = {"Point": 0, "LineString": 1, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6}


def _check_ranges(geoms: np.ndarray, ok: np.ndarray, rows: np.ndarray, report: ImportReport,
                  before: str | None) -> None:
    ok_pos = np.flatnonzero(ok)
    coords, idx = shapely.get_coordinates(geoms[ok], return_index=True)
    x, y = coords[:, 0], coords[:, 1]
    bad_pt = (np.abs(x) > 180) | (np.abs(y) > 90)
    if not bad_pt.any():
        return
    first = {}
    for k in np.flatnonzero(bad_pt):
        first.setdefault(idx[k], k)
    for j, k in first.items():
        lon, lat = x[k], y[k]
        if abs(lat) > 90 and abs(lon) <= 90 and abs(lat) <= 180:
            why = (f"latitude {lat:g} is out of range [-90, 90] and longitude {lon:g} would be a valid latitude: "
                   "longitude and latitude look swapped (x must be longitude)")
        elif abs(lat) > 90:
            why = f"latitude {lat:g} is out of range [-90, 90]"
        else:
            why = f"longitude {lon:g} is out of range [-180, 180]"
        if before is None:
            why += " after conversion to WGS 84 (is --crs right?)"
        report.add(int(rows[ok_pos[j]]), "geometry", why)
    ok[ok_pos[list(first)]] = False
