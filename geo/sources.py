"""Reading feature files in bounded chunks through pyogrio/GDAL.

GeoJSON, GeoPackage, Shapefile (plain or zipped), CSV and XLSX spreadsheets (lon/lat columns, or a WKT column;
records other than accidents need neither) are read as a stream of Arrow record batches, so a million-row file
never sits in memory at once.  File-level problems (a missing or empty file, broken JSON, a zip without a .shp,
text that is not UTF-8, several layers and none chosen) raise InputError with a message naming the file and what
is wrong.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyogrio
import pyogrio.errors

from geo.errors import InputError

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
SPREADSHEET_SUFFIXES = {".xlsx"}  # GDAL's XLSX driver; each sheet is a layer
# The first row of a sheet holds the column names.  (GDAL's default guesses so only when the second row's types
# differ from the first's: a sheet of text cells would get columns named Field1, Field2 ...)
SPREADSHEET_OPTIONS = {"HEADERS": "FORCE"}


@dataclass
class SourceInfo:
    path: Path
    display_name: str
    gdal_path: str
    layer: str | int | None
    is_csv: bool  # a table whose rows are numbered from the first data row: CSV or a spreadsheet
    crs: str | None  # the CRS the file declares, if any
    feature_count: int | None  # None when the driver cannot tell cheaply
    geometry_column: str | None
    columns: list[str]
    open_options: dict[str, str] = field(default_factory=dict)  # GDAL's, for the file's driver

    @property
    def row_label(self) -> str:
        return "row" if self.is_csv else "feature"


@dataclass
class Chunk:
    offset: int  # rows before this chunk; row numbers are offset + 1 ...
    table: pa.Table


def _gdal_message(e: Exception, gdal_path: str, name: str) -> str:
    """GDAL's words, with the path it was given (a server's temporary file, an unpacked archive) replaced by the
    name the user knows the file by: an error names the user's file only."""
    text = str(e).strip().replace("\n", " ")
    inner = gdal_path.split("/vsizip/", 1)[-1]
    for where in sorted({gdal_path, inner, str(Path(inner).parent)}, key=len, reverse=True):
        if where and where not in (".", "/"):
            text = text.replace(where, name)
    return text


@contextlib.contextmanager
def open_source(path: str | os.PathLike, layer: str | None = None, encoding: str | None = None,
                display_name: str | None = None) -> Iterator[SourceInfo]:
    """Inspect ``path`` and yield its SourceInfo; temporary files (re-encoded CSV) are removed afterwards."""
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a directory, not a feature file")
    if path.stat().st_size == 0:
        raise InputError(f"{name}: the file is empty")
    suffix = path.suffix.lower()
    tmpdir = None
    try:
        gdal_path = str(path)
        is_csv = suffix in CSV_SUFFIXES or suffix in SPREADSHEET_SUFFIXES
        if suffix == ".zip":
            gdal_path = _zipped_shapefile(path, name)
        elif suffix in CSV_SUFFIXES:
            if encoding and codecs.lookup(encoding).name != "utf-8":
                tmpdir = tempfile.TemporaryDirectory(prefix="riskmap-csv-")
                gdal_path = _reencode(path, encoding, Path(tmpdir.name), name)
            else:
                _check_utf8(path, name)
        options = SPREADSHEET_OPTIONS if suffix in SPREADSHEET_SUFFIXES else {}
        info = _inspect(path, gdal_path, name, layer, is_csv, options)
        yield info
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()


def _zipped_shapefile(path: Path, name: str) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            members = [m for m in z.namelist() if not m.endswith("/")]
    except zipfile.BadZipFile:
        raise InputError(f"{name}: not a valid zip archive") from None
    shps = [m for m in members if m.lower().endswith(".shp")]
    if not shps:
        listed = ", ".join(members[:10]) or "nothing"
        raise InputError(f"{name}: the zip archive holds no .shp file (it holds: {listed}); a zipped shapefile "
                         "needs at least the .shp, .shx and .dbf files")
    if len(shps) > 1:
        raise InputError(f"{name}: the zip archive holds several shapefiles ({', '.join(shps)}); zip one at a time")
    stem = shps[0][:-4]
    lower = {m.lower() for m in members}
    missing = [ext for ext in (".shx", ".dbf") if (stem + ext).lower() not in lower]
    if missing:
        raise InputError(f"{name}: the zipped shapefile {shps[0]} lacks its {' and '.join(missing)} file")
    return f"/vsizip/{path}/{shps[0]}"


def _check_utf8(path: Path, name: str) -> None:
    """Stream the file through a strict UTF-8 decoder; report the first bad line."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line = 1
    offset = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as e:
                bad_at = offset + e.start
                with open(path, "rb") as g:
                    line += g.read(bad_at).count(b"\n") if bad_at else 0
                raise InputError(
                    f"{name}: line {line} is not valid UTF-8 (byte 0x{block[e.start]:02X} at offset {bad_at}); "
                    "if the file is GBK/GB18030-encoded (common for files saved by Excel in China), "
                    "import it with --encoding GB18030"
                ) from None
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputError(f"{name}: the file ends inside a UTF-8 character (truncated or not UTF-8)") from None


def _reencode(path: Path, encoding: str, tmpdir: Path, name: str) -> str:
    out = tmpdir / (path.stem + ".csv")
    try:
        with open(path, encoding=encoding, errors="strict", newline="") as src, \
                open(out, "w", encoding="utf-8", newline="") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
    except UnicodeDecodeError as e:
        raise InputError(f"{name}: the file is not valid {encoding}: {e.reason} at byte {e.start}") from None
    except LookupError:
        raise InputError(f"unknown text encoding {encoding!r}") from None
    return str(out)


def _inspect(path: Path, gdal_path: str, name: str, layer: str | None, is_csv: bool,
             options: dict[str, str]) -> SourceInfo:
    try:
        layers = pyogrio.list_layers(gdal_path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
        raise InputError(f"{name}: cannot be read as a feature file: "
                         f"{_gdal_message(e, gdal_path, name)}") from None
    if len(layers) == 0:
        raise InputError(f"{name}: the file holds no layers")
    names = [str(x[0]) for x in layers]
    if layer is None:
        if len(names) > 1:
            raise InputError(f"{name}: the file holds several layers ({', '.join(names)}); choose one with --layer")
        chosen: str | int = names[0]
    else:
        if layer not in names:
            raise InputError(f"{name}: no layer {layer!r}; the file holds: {', '.join(names)}")
        chosen = layer
    try:
        meta = pyogrio.read_info(gdal_path, layer=chosen, force_feature_count=not is_csv, **options)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
        raise InputError(f"{name}: cannot be read as a feature file: "
                         f"{_gdal_message(e, gdal_path, name)}") from None
    count = meta.get("features")
    return SourceInfo(
        path=path, display_name=name, gdal_path=gdal_path, layer=chosen, is_csv=is_csv,
        crs=meta.get("crs"), feature_count=count if count is not None and count >= 0 else None,
        geometry_column=None, columns=list(meta.get("fields", [])), open_options=dict(options),
    )


def _geometry_field(schema: pa.Schema, named: str | None) -> str | None:
    """The geometry column: the one GDAL marks as WKB (its name varies: 'wkb_geometry', 'geom', ...)."""
    for f in schema:
        if f.metadata and f.metadata.get(b"ARROW:extension:name", b"").endswith(b"wkb"):
            return f.name
    if named and named in schema.names:
        return named
    return "wkb" if "wkb" in schema.names else None


def read_chunks(info: SourceInfo, chunk_size: int = 65_536, columns: list[str] | None = None,
                geometry: bool = True) -> Iterator[Chunk]:
    """The file's rows as Arrow tables of at most ``chunk_size`` rows; geometry (if any, and wanted) as WKB in
    'wkb'.  ``columns`` reads only those attribute columns (all when None)."""
    offset = 0
    try:
        arrow = pyogrio.raw.open_arrow(info.gdal_path, layer=info.layer, batch_size=chunk_size, columns=columns,
                                       read_geometry=geometry, use_pyarrow=True, **info.open_options)
        with arrow as (meta, reader):
            geom_col = _geometry_field(reader.schema, meta.get("geometry_name"))
            for batch in reader:
                table = pa.Table.from_batches([batch])
                if geom_col is not None and geom_col != "wkb":
                    table = table.rename_columns(["wkb" if c == geom_col else c for c in table.column_names])
                yield Chunk(offset, table)
                offset += table.num_rows
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
            pyogrio.errors.GeometryError) as e:
        raise InputError(f"{info.display_name}: reading failed after {offset} rows: "
                         f"{_gdal_message(e, info.gdal_path, info.display_name)}") from None
