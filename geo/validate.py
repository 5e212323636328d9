"""Validating and normalising imported rows, vectorised, one chunk at a time.

``plan_columns`` decides which source column feeds which riskmap field (a mapping file first, then the field's
own name and its aliases, case-insensitive); columns that feed nothing are kept in the feature's ``props``.
``validate_chunk`` checks every row of a chunk (geometry type, emptiness, NaN and out-of-range coordinates,
validity, required attributes, numbers, ranges, enum values, booleans, dates, chemical inventories, and for
records the kind's checks across fields, FeatureKind.check_rows) and returns
the normalised rows ready for COPY, each with its place on a Hilbert curve (``spatial_key``), recording every
problem in the ImportReport.  No Python loop runs over good rows; only bad rows are visited, to word their
errors.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

# The column plan, the geometry checks and the attribute checks live in modules of their own; their names stay
# importable from here.
from geo.attribute_checks import (  # noqa: F401
    _CONVERTERS,
    FALSE_WORDS,
    HAZARD_CATEGORIES,
    MAX_TEXT,
    TRUE_WORDS,
    _blank,
    _boolean,
    _text,
    parse_chemicals,
)
from geo.column_plan import (  # noqa: F401
    ID_NAMES,
    LAT_NAMES,
    LON_NAMES,
    NAME_NAMES,
    SYNTHETIC_NAMES,
    WKT_NAMES,
    ColumnPlan,
    plan_columns,
)
from geo.crs import SourceCRS
from geo.errors import ImportReport
from geo.geometry_checks import _geometries, check_geometries
from geo.kinds import Attribute, FeatureKind


def validate_chunk(kind: FeatureKind, plan: ColumnPlan, table: pa.Table, offset: int, crs: SourceCRS,
                   report: ImportReport, today: dt.date | None = None) -> pa.Table:
    """Check and normalise one chunk; returns its rows in the file's order (bad rows included, but the report
    says), with the columns to COPY, ``row_no`` and ``spatial_key`` (see ``hilbert_keys``).  ``today`` (default:
    the clock's) is the latest date a record may say something happened (geo/dates.py)."""
    n = table.num_rows
    errors_before = report.error_count
    rows = np.arange(offset + 1, offset + n + 1)
    if plan.geometry:
        raw_geoms, reported = _geometries(table, plan, rows, report)
        geoms = check_geometries(raw_geoms, kind, crs, rows, report, reported)
    out: dict[str, pa.Array] = {"row_no": pa.array(rows, pa.int64())}
    out["source_id"] = pa.array(_text(table.column(plan.source_id).to_pandas(), "source_id", rows, report, True),
                                pa.string())
    if plan.name is not None:
        out["name"] = pa.array(_text(table.column(plan.name).to_pandas(), "name", rows, report, True), pa.string())
    required_single = {alts[0] for alts in kind.required if len(alts) == 1}
    values: dict[str, pd.Series] = {}
    for attr_name, col in plan.attributes.items():
        attr = kind.attribute(attr_name)
        s = table.column(col).to_pandas()
        if attr.type == "text":
            v = _text(s, attr_name, rows, report, attr_name in required_single)
        else:
            v = _CONVERTERS[attr.type](s, attr, rows, report)
            if attr_name in required_single:
                for i in np.flatnonzero(_blank(s)):
                    report.add(int(rows[i]), attr_name, "required value is missing")
        values[attr_name] = pd.Series(v).reset_index(drop=True)
    for alternatives in kind.required:
        if len(alternatives) > 1:
            present = [values[a].notna().to_numpy() for a in alternatives if a in values]
            none = ~np.logical_or.reduce(present) if present else np.ones(n, bool)
            for i in np.flatnonzero(none):
                report.add(int(rows[i]), "/".join(alternatives), "one of these values is required")
    # checks across fields (records), derived values
    values = kind.check_rows(values, rows, report, today or dt.date.today())
    for attr_name, v in values.items():
        attr = kind.attribute(attr_name)
        if attr.type == "integer":
            out[attr_name] = pa.array(v.astype("Int64"), pa.int64())
        elif attr.type == "real":
            out[attr_name] = pa.array(v.to_numpy(dtype="float64"), pa.float64(), from_pandas=True)
        elif attr.type == "boolean":
            out[attr_name] = pa.array(v.tolist(), pa.bool_())
        else:
            out[attr_name] = pa.array(v.tolist(), pa.string())
    if plan.extras:
        out["props"] = pa.array(_props(table, plan), pa.string())
    if plan.synthetic:
        flag = _boolean(table.column(plan.synthetic).to_pandas(), Attribute("synthetic", "boolean", ""), rows,
                        report)
        out["synthetic"] = pa.array(flag.fillna(False).tolist(), pa.bool_())
    if plan.geometry:
        out["geom"] = _geometry_column(table, plan, geoms, crs, errors_before == report.error_count)
        out["spatial_key"] = pa.array(hilbert_keys(geoms), pa.int64())
    else:  # records located by their site keep the file's order
        out["spatial_key"] = pa.array(np.zeros(n, dtype=np.int64), pa.int64())
    return pa.table(out)


WORLD = (-180.0, -90.0, 180.0, 90.0)
HILBERT_LEVEL = 16  # 65,536 cells a side over the globe: about 600 m of longitude by 300 m of latitude


def hilbert_keys(geoms: np.ndarray) -> np.ndarray:
    """Each WGS 84 geometry's distance along a Hilbert curve over the whole globe (by the centre of its bounds),
    0 where it is missing or empty.  The importer writes a chunk's rows in this order, so features near each
    other share table pages and get neighbouring ids (so do their scores, written in id order): a query about
    one place then reads a few pages instead of one per feature."""
    import geopandas as gpd

    keys = np.zeros(len(geoms), dtype=np.int64)
    ok = pd.notna(geoms)
    ok[ok] = ~shapely.is_empty(geoms[ok])
    if ok.any():
        keys[ok] = gpd.GeoSeries(geoms[ok]).hilbert_distance(total_bounds=WORLD, level=HILBERT_LEVEL).to_numpy()
    return keys


_HEX = np.array([list(f"{i:02X}".encode()) for i in range(256)], dtype=np.uint8)


def _geometry_column(table: pa.Table, plan: ColumnPlan, geoms: np.ndarray, crs: SourceCRS,
                     chunk_clean: bool) -> pa.Array:
    """Geometries as hex WKB text for COPY (the column's SRID, 4326, applies to them).

    When the source already holds 2D WKB in WGS 84 and every row of the chunk is good, its bytes are passed
    through, hex-encoded with a lookup table, instead of being serialised again by GEOS.
    """
    if (chunk_clean and plan.lon is None and plan.wkt is None and crs.name == "EPSG:4326"
            and len(geoms) and not shapely.has_z(geoms).any() and not shapely.has_m(geoms).any()):
        return _hex_binary(table.column("wkb").combine_chunks())
    ok = pd.notna(geoms)
    hexes = np.full(len(geoms), None, dtype=object)
    if ok.any():
        hexes[ok] = shapely.to_wkb(geoms[ok], hex=True)
    return pa.array(hexes, pa.string())


def _hex_binary(arr: pa.Array) -> pa.Array:
    """Hex-encode a binary Arrow array without a Python loop."""
    large = pa.types.is_large_binary(arr.type)
    width = np.int64 if large else np.int32
    validity, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=width, count=len(arr) + 1, offset=arr.offset * width().itemsize)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    start, end = int(offsets[0]), int(offsets[-1])
    hexed = _HEX[data[start:end]].reshape(-1)
    new_offsets = ((offsets - start) * 2).astype(width)
    string_type = pa.large_string() if large else pa.string()
    if validity is not None and arr.offset:
        validity = pa.array(arr.is_valid().to_numpy(zero_copy_only=False)).buffers()[1]
    return pa.Array.from_buffers(string_type, len(arr), [validity, pa.py_buffer(new_offsets), pa.py_buffer(hexed)],
                                 null_count=arr.null_count)


def _props(table: pa.Table, plan: ColumnPlan) -> list[str]:
    frame = table.select(plan.extras).to_pandas()
    records = frame.to_dict("records")
    return [json.dumps({k: _jsonable(v) for k, v in r.items() if not _is_missing(v)}, ensure_ascii=False,
                       default=str) for r in records]


def _is_missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v
