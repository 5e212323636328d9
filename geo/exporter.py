"""Writing stored features back to files (GeoJSON, GeoPackage, CSV) through pyogrio/GDAL.

Rows are fetched with a server-side cursor and written in chunks, so memory stays bounded; the file is written
next to its destination and renamed into place only when complete, so a failed export never leaves half a
file.  Extra properties (``props``) come back as ordinary columns, so an exported file imports again unchanged.
CSV files carry the geometry as WKT in a ``WKT`` column (points also as ``lon``/``lat``), and are opened in
spreadsheets as often as they are imported again: their text cells are made formula-safe as in every other CSV
and XLSX riskmap writes (geo/spreadsheet.py ``spreadsheet_safe``: a text starting with = + - @, a tab or a carriage
return gets a leading single quote, so a name such as ``=HYPERLINK(...)`` is shown, never run).  Such a text comes
back with its quote when the CSV is imported again; GeoJSON and GeoPackage exports keep every text as stored.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from psycopg2 import sql

from geo.errors import InputError
from geo.kinds import get_kind
from geo.spreadsheet import spreadsheet_safe

FORMATS = {"geojson": ("GeoJSON", ".geojson"), "gpkg": ("GPKG", ".gpkg"), "csv": ("CSV", ".csv")}


def export_features(conn, kind: str, fmt: str, path: str | os.PathLike, *, chunk_size: int = 50_000,
                    progress: Callable[[int, int], None] | None = None) -> int:
    """Write every feature of ``kind`` to ``path``; returns the number written."""
    fk = get_kind(kind)
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    driver, _suffix = FORMATS[fmt]
    dest = Path(path)
    if not dest.parent.exists():
        raise InputError(f"cannot write {dest}: directory {dest.parent} does not exist")
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(fk.table)))
        total = int(cur.fetchone()[0])
        cur.execute(sql.SQL("SELECT DISTINCT jsonb_object_keys(props) FROM {} ORDER BY 1").format(
            sql.Identifier(fk.table)))
        extra_keys = [r[0] for r in cur.fetchall() if r[0] not in {"source_id", "name", *fk.attribute_names}]
    conn.rollback()
    all_points = _all_points(conn, fk.table)
    cols = ["source_id", "name", *fk.attribute_names, "synthetic"]
    select = sql.SQL("SELECT {}, props, ST_AsBinary(geom) FROM {} ORDER BY id").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in cols), sql.Identifier(fk.table))
    fd, tmp_name = tempfile.mkstemp(prefix=".riskmap-export-", suffix=dest.suffix or _suffix, dir=dest.parent)
    os.close(fd)
    os.unlink(tmp_name)  # GDAL wants to create the file itself
    written = 0
    try:
        with conn.cursor(name="riskmap_export") as cur:
            cur.itersize = chunk_size
            cur.execute(select)
            while True:
                rows = cur.fetchmany(chunk_size)
                if not rows and written > 0:
                    break
                frame = pd.DataFrame(rows, columns=[*cols, "props", "wkb"])
                gdf = _to_frame(frame, fk, extra_keys, all_points and fmt == "csv", csv=fmt == "csv")
                kwargs = {"layer_options": {"GEOMETRY": "AS_WKT"}} if fmt == "csv" else {}
                if fmt == "geojson":
                    kwargs["layer_options"] = {"RFC7946": "YES", "WRITE_NAME": "NO", "COORDINATE_PRECISION": "15"}
                pyogrio.write_dataframe(gdf, tmp_name, driver=driver, layer=fk.name, append=written > 0, **kwargs)
                written += len(rows)
                if progress:
                    progress(written, total)
                if not rows:
                    break
        conn.rollback()
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return written


def _all_points(conn, table: str) -> bool:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT bool_and(GeometryType(geom) = 'POINT') FROM {}").format(sql.Identifier(table)))
        value = cur.fetchone()[0]
    conn.rollback()
    return bool(value)


def _to_frame(frame: pd.DataFrame, fk, extra_keys: list[str], with_lonlat: bool,
              csv: bool = False) -> gpd.GeoDataFrame:
    wkb = frame.pop("wkb")
    geoms = shapely.from_wkb([bytes(b) for b in wkb]) if len(frame) else []
    props = frame.pop("props")
    for a in fk.attributes:
        if a.type == "chemicals":
            frame[a.name] = [json.dumps(v, ensure_ascii=False) if v is not None else None for v in frame[a.name]]
        elif a.type == "date":
            frame[a.name] = [v.isoformat() if v is not None else None for v in frame[a.name]]
        elif a.type == "integer":
            frame[a.name] = frame[a.name].astype("Int64")
        elif a.type == "real":
            frame[a.name] = frame[a.name].astype("float64")
        elif a.type in ("boolean",):
            frame[a.name] = frame[a.name].astype("boolean")
        else:
            frame[a.name] = frame[a.name].astype(object)
    for k in extra_keys:
        frame[k] = [_scalar(p.get(k)) if p else None for p in props]
    if csv:
        for name in frame.columns:
            if frame[name].dtype == object or pd.api.types.is_string_dtype(frame[name]):
                frame[name] = [spreadsheet_safe(v) for v in frame[name]]
    if with_lonlat and len(frame):
        frame["lon"] = shapely.get_x(geoms)
        frame["lat"] = shapely.get_y(geoms)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"))


def _scalar(v):
    """Extra properties are written as text: their type varies between rows."""
    if v is None:
        return None
    return json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)
