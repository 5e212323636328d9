"""All-or-nothing imports of feature files into the PostGIS feature store.

One transaction per file: chunks are validated and COPYed into a temporary staging table, duplicate ids are
found there, and only if the whole file is clean are the rows upserted into the feature table (new ids
inserted, known ids updated in the columns the file has).  Any error rolls everything back, so the database
is exactly as before, and the ImportReport names the file, the row, the field and the reason for each bad row.
The CLI and the HTTP API both call ``import_file``.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import psycopg2
from psycopg2 import sql

from geo.crs import SourceCRS, parse_crs
from geo.errors import ImportRejected, ImportReport, InputError
from geo.kinds import FeatureKind, get_kind
from geo.sources import open_source, read_chunks
from geo.validate import plan_columns, validate_chunk

Progress = Callable[[int, int | None], None]  # rows done, rows in total (None when unknown)
DEFAULT_CHUNK = 65_536


def load_mapping(path: str | os.PathLike | None) -> dict[str, str] | None:
    """A mapping file: JSON object {source column: riskmap field}."""
    if path is None:
        return None
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"mapping file {p}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"mapping file {p}: not valid JSON ({e})") from None
    if isinstance(data, dict) and "columns" in data and isinstance(data["columns"], dict):
        data = data["columns"]
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InputError(f"mapping file {p}: must be a JSON object of \"source column\": \"riskmap field\" pairs")
    return data


def _staging_columns(kind: FeatureKind, names: list[str]) -> sql.Composed:
    types = {"row_no": "bigint", "source_id": "text", "name": "text", "props": "jsonb", "synthetic": "boolean",
             "geom": "geometry"}
    parts = []
    for n in names:
        t = types.get(n) or kind.attribute(n).sql_type
        parts.append(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)))
    return sql.SQL(", ").join(parts)


def import_file(conn, path: str | os.PathLike, kind: str, *, crs: str | None = None, layer: str | None = None,
                mapping: dict[str, str] | None = None, encoding: str | None = None,
                chunk_size: int = DEFAULT_CHUNK, error_cap: int = 100, progress: Progress | None = None,
                display_name: str | None = None) -> ImportReport:
    """Import one file of ``kind`` features; raises ImportRejected (nothing written) when any row is bad."""
    fk = get_kind(kind)
    source_crs_arg = parse_crs(crs) if crs is not None else None
    with open_source(path, layer=layer, encoding=encoding, display_name=display_name) as info:
        report = ImportReport(file=info.display_name, kind=fk.name, row_label=info.row_label, cap=error_cap)
        source_crs = source_crs_arg or (parse_crs(info.crs) if info.crs else parse_crs(None))
        plan_done = False
        plan = None
        staging = sql.Identifier("riskmap_import_staging")
        autocommit = conn.autocommit
        conn.autocommit = False
        try:
            with conn.cursor() as cur:
                for chunk in read_chunks(info, chunk_size):
                    table = chunk.table
                    if not plan_done:
                        columns = [c for c in table.column_names if c != "wkb"]
                        plan = plan_columns(fk, columns, mapping, is_csv=info.is_csv,
                                            has_geometry="wkb" in table.column_names, file=info.display_name)
                        cur.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                            staging, _staging_columns(fk, plan.target_columns)))
                        plan_done = True
                    rows = validate_chunk(fk, plan, table, chunk.offset, source_crs, report)
                    report.rows_read += table.num_rows
                    _copy(cur, staging, rows)  # bad rows too, so duplicate ids are found in every case
                    if progress:
                        progress(report.rows_read, info.feature_count)
                if not plan_done or report.rows_read == 0:
                    raise InputError(f"{info.display_name}: the file holds no features")
                _find_duplicates(cur, staging, report)
                if not report.ok:
                    raise ImportRejected(report)
                _upsert(cur, fk, plan.target_columns, staging, report)
                cur.execute(
                    "INSERT INTO import_log (kind, file, source_crs, rows_read, inserted, updated) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (fk.name, info.display_name, source_crs.name, report.rows_read, report.inserted, report.updated))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.autocommit = autocommit
    return report


def _copy(cur, staging: sql.Identifier, rows: pa.Table) -> None:
    buf = io.BytesIO()
    pacsv.write_csv(rows, buf, write_options=pacsv.WriteOptions(include_header=False))
    buf.seek(0)
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in rows.column_names)
    cur.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(staging, cols).as_string(cur), buf)


def _find_duplicates(cur, staging: sql.Identifier, report: ImportReport) -> None:
    cur.execute(sql.SQL(
        """SELECT source_id, array_agg(row_no ORDER BY row_no), count(*) OVER ()
           FROM {} GROUP BY source_id HAVING count(*) > 1 ORDER BY min(row_no) LIMIT %s""").format(staging),
        (report.cap,))
    for source_id, rows, _total in cur.fetchall():
        for r in rows[1:]:
            report.add(int(r), "source_id", f"duplicate id {source_id!r} (first used at {report.row_label} {rows[0]})")


def _upsert(cur, kind: FeatureKind, columns: list[str], staging: sql.Identifier, report: ImportReport) -> None:
    target = sql.Identifier(kind.table)
    data_cols = [c for c in columns if c != "row_no"]
    cur.execute(sql.SQL("SELECT count(*) FROM {} s JOIN {} t USING (source_id)").format(staging, target))
    report.updated = int(cur.fetchone()[0])
    report.inserted = report.rows_read - report.updated
    updates = []
    for c in data_cols:
        if c == "source_id":
            continue
        if c == "props":
            updates.append(sql.SQL("props = t.props || EXCLUDED.props"))
        else:
            updates.append(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)))
    updates.append(sql.SQL("updated_at = now()"))
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in data_cols)
    stmt = sql.SQL("INSERT INTO {target} AS t ({cols}) SELECT {cols} FROM {staging} "
                   "ON CONFLICT (source_id) DO UPDATE SET {updates}").format(
        target=target, cols=cols, staging=staging, updates=sql.SQL(", ").join(updates))
    try:
        cur.execute("SAVEPOINT riskmap_upsert")
        cur.execute(stmt)
    except psycopg2.IntegrityError as e:
        cur.execute("ROLLBACK TO SAVEPOINT riskmap_upsert")
        detail = (e.diag.message_detail or e.diag.message_primary or str(e)).strip()
        report.add(None, e.diag.column_name, f"rejected by the database: {detail}")
        raise ImportRejected(report) from None


def import_frame_file(conn, path: Path, kind: str, **kwargs) -> ImportReport:
    """Convenience for callers that wrote a file themselves (the demo): same path as any import."""
    return import_file(conn, path, kind, **kwargs)
