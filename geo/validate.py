"""Validating and normalising imported rows, vectorised, one chunk at a time.

``plan_columns`` decides which source column feeds which riskmap field (a mapping file first, then the field's
own name and its aliases, case-insensitive); columns that feed nothing are kept in the feature's ``props``.
``validate_chunk`` checks every row of a chunk (geometry type, emptiness, NaN and out-of-range coordinates,
validity, required attributes, numbers, ranges, enum values, booleans, dates, chemical inventories) and returns
the normalised rows ready for COPY, each with its place on a Hilbert curve (``spatial_key``), recording every
problem in the ImportReport.  No Python loop runs over good rows; only bad rows are visited, to word their
errors.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from geo.crs import SourceCRS
from geo.errors import ImportReport, InputError
from geo.kinds import Attribute, FeatureKind

ID_NAMES = ("source_id", "id", "编号", "代码", "uid")
NAME_NAMES = ("name", "名称", "title")
LON_NAMES = ("lon", "lng", "longitude", "long", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom")
SYNTHETIC_NAMES = ("synthetic",)

TRUE_WORDS = {"true", "t", "yes", "y", "1", "是", "有", "真"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "否", "无", "假"}
# GB 18218-2018 Table 2 hazard categories (domain.md §1)
HAZARD_CATEGORIES = {"J1", "J2", "J3", "J4", "J5", "W1.1", "W1.2", "W1.3", "W2", "W3", "W4", "W5.1", "W5.2",
                     "W5.3", "W5.4", "W6.1", "W6.2", "W7.1", "W7.2", "W8", "W9.1", "W9.2", "W10", "W11"}
MAX_TEXT = 1000  # longest id, name or text attribute accepted


@dataclass
class ColumnPlan:
    source_id: str
    name: str
    attributes: dict[str, str]  # riskmap attribute -> source column
    synthetic: str | None = None
    lon: str | None = None
    lat: str | None = None
    wkt: str | None = None
    extras: list[str] = field(default_factory=list)

    @property
    def target_columns(self) -> list[str]:
        """Columns written; ``props`` only when the file has extra columns (the table's default is {})."""
        cols = ["row_no", "source_id", "name", *self.attributes]
        if self.extras:
            cols.append("props")
        if self.synthetic:
            cols.append("synthetic")
        return [*cols, "geom"]


def plan_columns(kind: FeatureKind, columns: list[str], mapping: dict[str, str] | None, *, is_csv: bool,
                 has_geometry: bool, file: str) -> ColumnPlan:
    """Match source columns to riskmap fields; InputError when a needed column is missing."""
    mapping = dict(mapping or {})
    valid_targets = {"source_id", "name", "lon", "lat", "wkt", "synthetic", *kind.attribute_names}
    for src, dst in mapping.items():
        if dst not in valid_targets:
            raise InputError(f"mapping: {src!r} maps to unknown field {dst!r}; fields of {kind.name} are: "
                             f"{', '.join(sorted(valid_targets))}")
        if src not in columns:
            raise InputError(f"mapping: column {src!r} is not in {file}; its columns are: {', '.join(columns)}")
    taken: dict[str, str] = {dst: src for src, dst in mapping.items()}
    lowered = {c.lower().strip(): c for c in columns}

    def find(target: str, names: tuple[str, ...]) -> str | None:
        if target in taken:
            return taken[target]
        for n in (target, *names):
            c = lowered.get(n.lower())
            if c is not None and c not in mapping:
                return c
        return None

    sid = find("source_id", ID_NAMES)
    if sid is None:
        raise InputError(f"{file}: no id column (looked for {', '.join(ID_NAMES)}); name it in a mapping file, "
                         f"e.g. {{\"企业编号\": \"source_id\"}}")
    nm = find("name", NAME_NAMES)
    if nm is None:
        raise InputError(f"{file}: no name column (looked for {', '.join(NAME_NAMES)}); name it in a mapping file")
    attrs: dict[str, str] = {}
    for a in kind.attributes:
        c = find(a.name, a.aliases)
        if c is not None:
            attrs[a.name] = c
    for alternatives in kind.required:
        if not any(a in attrs for a in alternatives):
            raise InputError(
                f"{file}: a {kind.name} file needs a {' or '.join(repr(a) for a in alternatives)} column "
                f"({kind.attribute(alternatives[0]).doc}); none found among: {', '.join(columns)}")
    plan = ColumnPlan(source_id=sid, name=nm, attributes=attrs, synthetic=find("synthetic", SYNTHETIC_NAMES))
    if is_csv and not has_geometry:
        plan.wkt = find("wkt", WKT_NAMES)
        if plan.wkt is None:
            plan.lon, plan.lat = find("lon", LON_NAMES), find("lat", LAT_NAMES)
            if plan.lon is None or plan.lat is None:
                raise InputError(f"{file}: no coordinates: a CSV needs longitude and latitude columns (looked for "
                                 f"{'/'.join(LON_NAMES)} and {'/'.join(LAT_NAMES)}) or a WKT column")
    elif not has_geometry:
        raise InputError(f"{file}: the layer has no geometry")
    used = {plan.source_id, plan.name, plan.synthetic, plan.lon, plan.lat, plan.wkt, *attrs.values()}
    if is_csv:  # coordinate columns beside a WKT geometry (as riskmap's own CSV export writes them)
        used |= {c for c in columns if c.lower().strip() in (*LON_NAMES, *LAT_NAMES)}
    if is_csv and has_geometry:  # GDAL made the geometry from the WKT column and keeps it as text too
        used |= {c for c in columns if c.lower().strip() == "wkt"}
    plan.extras = [c for c in columns if c not in used and c != "wkb"]
    return plan


# ----- geometry -------------------------------------------------------------------------------------------------

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


# ----- attributes -----------------------------------------------------------------------------------------------

def _blank(s: pd.Series) -> np.ndarray:
    """Missing values: nulls, NaN and blank strings."""
    b = np.array(s.isna().to_numpy(), dtype=bool)
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        b |= s.astype("string").str.strip().fillna("").eq("").to_numpy()
    return b


def _number(s: pd.Series, attr: Attribute, rows: np.ndarray, report: ImportReport) -> pd.Series:
    blank = _blank(s)
    if pd.api.types.is_bool_dtype(s):
        s = s.astype("float64")
    num = pd.to_numeric(s.where(~blank), errors="coerce").astype("float64")
    values = num.to_numpy()
    bad = np.isnan(values) & ~blank
    for i in np.flatnonzero(bad):
        report.add(int(rows[i]), attr.name, f"{s.iloc[i]!r} is not a number")
    bad |= np.isinf(values)
    for i in np.flatnonzero(np.isinf(values)):
        report.add(int(rows[i]), attr.name, "value is infinite")
    if attr.type == "integer":
        frac = ~np.isnan(values) & ~np.isinf(values) & (np.mod(values, 1) != 0)
        for i in np.flatnonzero(frac):
            report.add(int(rows[i]), attr.name, f"{values[i]:g} is not a whole number")
        bad |= frac
    finite = np.isfinite(values)
    lo = finite & (values < attr.minimum) if attr.minimum is not None else np.zeros(len(values), bool)
    hi = finite & (values > attr.maximum) if attr.maximum is not None else np.zeros(len(values), bool)
    for i in np.flatnonzero(lo | hi):
        word = "negative" if values[i] < 0 <= (attr.minimum or 0) and attr.minimum == 0 else "out of range"
        report.add(int(rows[i]), attr.name,
                   f"{_fmt(values[i])} is {word}: {attr.name} must be between {_fmt(attr.minimum)} and "
                   f"{_fmt(attr.maximum)}")
    bad |= lo | hi
    values = values.copy()
    values[bad] = np.nan
    if attr.type == "integer":
        return pd.Series(values).astype("Int64")
    return pd.Series(values)


def _fmt(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:g}"


def _enum_lookup(attr: Attribute) -> dict[str, str]:
    table = {}
    for canonical, spellings in attr.values.items():
        table[canonical.lower()] = canonical
        for sp in spellings:
            table[sp.lower()] = canonical
    return table


def _enum(s: pd.Series, attr: Attribute, rows: np.ndarray, report: ImportReport) -> pd.Series:
    blank = _blank(s)
    key = s.astype("string").str.strip().str.lower()
    out = key.map(_enum_lookup(attr))
    bad = out.isna().to_numpy() & ~blank
    for i in np.flatnonzero(bad):
        report.add(int(rows[i]), attr.name,
                   f"unknown value {s.iloc[i]!r}; allowed: {', '.join(attr.values)} (or their Chinese names)")
    return out.astype(object).where(~(bad | blank), None)


def _boolean(s: pd.Series, attr: Attribute, rows: np.ndarray, report: ImportReport) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.astype(object).where(s.notna(), None)
    blank = _blank(s)
    key = s.astype("string").str.strip().str.lower()
    key = key.str.replace(r"\.0$", "", regex=True)
    out = pd.Series(np.where(key.isin(TRUE_WORDS), True, np.where(key.isin(FALSE_WORDS), False, None)),
                    index=s.index, dtype=object)
    bad = out.isna().to_numpy() & ~blank
    for i in np.flatnonzero(bad):
        report.add(int(rows[i]), attr.name, f"{s.iloc[i]!r} is not a yes/no value (true/false, 1/0, 是/否)")
    return out.where(~(bad | blank), None)


def _date(s: pd.Series, attr: Attribute, rows: np.ndarray, report: ImportReport) -> pd.Series:
    blank = _blank(s)
    if pd.api.types.is_datetime64_any_dtype(s):
        d = s
    else:
        d = pd.to_datetime(s.astype("string").str.strip().where(~blank), errors="coerce", format="ISO8601")
    d = pd.Series(d)
    bad = d.isna().to_numpy() & ~blank
    for i in np.flatnonzero(bad):
        report.add(int(rows[i]), attr.name, f"{s.iloc[i]!r} is not a date (use YYYY-MM-DD)")
    years = d.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    odd = (years < 1900) | (years > 2100)
    for i in np.flatnonzero(odd):
        report.add(int(rows[i]), attr.name, f"date {d.iloc[i].date()} is implausible")
    d = d.where(~odd)
    return d.dt.strftime("%Y-%m-%d").astype(object).where(d.notna(), None)


_PAIR = re.compile(r"^\s*([^:：]+?)\s*[:：]\s*([^:：]+?)\s*$")


def parse_chemicals(value) -> list[dict]:
    """A chemical inventory from JSON (list of objects) or 'name:tonnes;name:tonnes'; ValueError if malformed."""
    if isinstance(value, list):
        items = value
    else:
        text = str(value).strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f"broken JSON ({e.msg} at character {e.pos})") from None
            if not isinstance(items, list):
                raise ValueError("JSON must be a list of {chemical, quantity_t} objects")
        else:
            items = []
            for part in re.split(r"[;；]", text):
                if not part.strip():
                    continue
                m = _PAIR.match(part)
                if not m:
                    raise ValueError(f"{part.strip()!r} is not 'name:tonnes'")
                items.append({"chemical": m.group(1), "quantity_t": m.group(2)})
    out = []
    for k, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ValueError(f"entry {k} is not an object")
        chem = item.get("chemical") or item.get("name")
        if not isinstance(chem, str) or not chem.strip():
            raise ValueError(f"entry {k} has no chemical name")
        try:
            q = float(item.get("quantity_t", item.get("quantity")))
        except (TypeError, ValueError):
            raise ValueError(f"entry {k} ({chem}): quantity {item.get('quantity_t')!r} is not a number") from None
        if not math.isfinite(q) or q < 0:
            raise ValueError(f"entry {k} ({chem}): quantity {q:g} t must be zero or positive")
        entry = {"chemical": chem.strip(), "quantity_t": q}
        cat = item.get("hazard_category")
        if cat is not None:
            if str(cat).upper() not in HAZARD_CATEGORIES:
                raise ValueError(f"entry {k} ({chem}): unknown GB 18218 hazard category {cat!r}")
            entry["hazard_category"] = str(cat).upper()
        out.append(entry)
    return out


def _chemicals(s: pd.Series, attr: Attribute, rows: np.ndarray, report: ImportReport) -> pd.Series:
    blank = _blank(s)
    out = np.full(len(s), None, dtype=object)
    for i in np.flatnonzero(~blank):
        try:
            out[i] = json.dumps(parse_chemicals(s.iloc[i]), ensure_ascii=False)
        except ValueError as e:
            report.add(int(rows[i]), attr.name, f"chemical inventory: {e}")
    return pd.Series(out, index=s.index, dtype=object)


def _text(s: pd.Series, attr_name: str, rows: np.ndarray, report: ImportReport, required: bool) -> pd.Series:
    blank = _blank(s)
    text = s.astype("string").str.strip()
    text = text.str.replace(r"\.0$", "", regex=True) if pd.api.types.is_float_dtype(s) else text
    if required:
        for i in np.flatnonzero(blank):
            report.add(int(rows[i]), attr_name, "required value is missing")
    long = text.str.len().fillna(0).to_numpy() > MAX_TEXT
    for i in np.flatnonzero(long):
        report.add(int(rows[i]), attr_name, f"value is longer than {MAX_TEXT} characters")
    return text.astype(object).where(~(blank | long), None)


_CONVERTERS = {"integer": _number, "real": _number, "enum": _enum, "boolean": _boolean, "date": _date,
               "chemicals": _chemicals}


def validate_chunk(kind: FeatureKind, plan: ColumnPlan, table: pa.Table, offset: int, crs: SourceCRS,
                   report: ImportReport) -> pa.Table:
    """Check and normalise one chunk; returns its rows in the file's order (bad rows included, but the report
    says), with the columns to COPY, ``row_no`` and ``spatial_key`` (see ``hilbert_keys``)."""
    n = table.num_rows
    errors_before = report.error_count
    rows = np.arange(offset + 1, offset + n + 1)
    raw_geoms, reported = _geometries(table, plan, rows, report)
    geoms = check_geometries(raw_geoms, kind, crs, rows, report, reported)
    out: dict[str, pa.Array] = {"row_no": pa.array(rows, pa.int64())}
    out["source_id"] = pa.array(_text(table.column(plan.source_id).to_pandas(), "source_id", rows, report, True),
                                pa.string())
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
    out["geom"] = _geometry_column(table, plan, geoms, crs, errors_before == report.error_count)
    out["spatial_key"] = pa.array(hilbert_keys(geoms), pa.int64())
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
