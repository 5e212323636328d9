"""All-or-nothing imports of feature files, and of the campaign's records, into PostGIS.

One transaction per file: chunks are validated and COPYed while the file is read, ids repeated in the file are
found by the database's unique indexes on the way (and then named row by row, see ``_report_repeated_ids``),
and only if the whole file is clean does the transaction commit (new ids inserted, known ids updated
in the columns the file has).  Any error rolls everything back, so the database is exactly as before, and the
ImportReport names the file, the row, the field and the reason for each bad row.  Readers of the table are
never locked out: they see the old rows until the commit and the new ones after it.  Imports of one kind take
turns (geo/write_queue.py): the second of two imports of the same new ids waits for the first to end, then
updates them.  The CLI and the HTTP API both call ``import_file``.

Records (inspections, hidden dangers, enforcement actions, accidents: geo/records) take the same path; their
kinds add checks across fields (``check_rows``) and resolve the sites they name on the database, one query per
chunk and kind (``resolve``), and the import says who made it (``actor``), which their history keeps.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import queue
import threading
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import psycopg2
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.csv as pacsv
from psycopg2 import sql

from geo import shadow_table, write_queue
from geo.crs import parse_crs
from geo.errors import ImportRejected, ImportReport, InputError, UnknownKind
from geo.kinds import KINDS, FeatureKind
from geo.sources import Chunk, SourceInfo, open_source, read_chunks
from geo.validate import ColumnPlan, _text, plan_columns, validate_chunk

_REPEATED_IDS = resources.files("geo").joinpath("sql/repeated_ids.sql").read_text(encoding="utf-8")
Progress = Callable[[int, int | None], None]  # rows done, rows in total (None when unknown)
DEFAULT_CHUNK = 65_536
BULK_THRESHOLD = 50_000  # rows; a load this large, and at least BULK_SHARE of the table's size, builds a shadow
BULK_SHARE = 0.5  # of the table: below it, index insertions cost less than copying the table and indexing it anew
# Chunks read from the file and not yet written to the database, at most: one being validated, one being
# written, one waiting between them.  Memory therefore depends on the chunk size and the file's columns, not
# on how fast the server takes the rows compared with how fast the file is read.
MAX_CHUNKS_IN_FLIGHT = 3
# The first chunk's first rows are validated and written alone, so that the database starts writing while the rest
# of that chunk is validated, instead of waiting for a whole chunk (about 0.6 s of a million-row import).
FIRST_ROWS = 8_192


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


def importable_kind(name: str) -> FeatureKind:
    """The feature kind or record kind called ``name``; UnknownKind names the valid ones."""
    from geo.records.kinds import RECORD_KINDS

    found = KINDS.get(name) or RECORD_KINDS.get(name)
    if found is None:
        raise UnknownKind(name, sorted(KINDS), list(RECORD_KINDS))
    return found


def set_actor(cur, actor: str | None) -> None:
    """Say who writes, for the rest of this transaction: the records' history keeps it (migration 0013's
    triggers read the setting riskmap.actor)."""
    if actor:
        cur.execute("SELECT set_config('riskmap.actor', %s, true)", (actor,))


def _staging_columns(kind: FeatureKind, names: list[str]) -> sql.Composed:
    types = {"row_no": "bigint", "source_id": 'text COLLATE "C"', "name": "text", "props": "jsonb",
             # the tables' SRID: a staged geometry compares equal to the stored one it repeats (unchanged rows)
             "synthetic": "boolean", "geom": "geometry(Geometry, 4326)"}
    parts = []
    for n in names:
        t = types.get(n) or kind.attribute(n).sql_type
        parts.append(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)))
    return sql.SQL(", ").join(parts)


def import_file(conn, path: str | os.PathLike, kind: str, *, crs: str | None = None, layer: str | None = None,
                mapping: dict[str, str] | None = None, encoding: str | None = None,
                chunk_size: int = DEFAULT_CHUNK, error_cap: int = 100, progress: Progress | None = None,
                display_name: str | None = None, actor: str | None = None, commit: bool = True,
                today: dt.date | None = None) -> ImportReport:
    """Import one file of ``kind`` features (or records); raises ImportRejected (nothing written) when any row
    is bad.

    ``actor`` says who imports (riskmap.actor, kept by the records' history).  With ``commit=False`` the import
    joins the caller's transaction (the connection not in autocommit) and leaves it open for the caller to
    commit, so that several imports are written all together or not at all; a rejected import rolls the
    whole transaction back.  The import first waits for its kind's turn (geo/write_queue.py: until other
    imports and edits of the kind end; readers never wait for it), held until its transaction ends.
    ``today`` (default: the clock's date) is the latest date a record may say something happened
    (geo/dates.py).

    The main thread reads and validates chunk k+1 while a loader thread COPYs chunk k (new ids straight into
    the table, known ids into a staging table for one UPDATE at the end), so the client's and the server's
    work overlap; at most ``MAX_CHUNKS_IN_FLIGHT`` chunks are read and not yet written.  Each chunk's new rows
    are written in the order of their places on a Hilbert curve (``in_spatial_order``), so features near each
    other share table pages and get neighbouring ids.  A load of at least ``BULK_THRESHOLD`` rows and half the
    table's size (``BULK_SHARE``) goes into a shadow table (geo.shadow_table) whose indexes are built once at
    the end and which replaces the table at the commit: one sorted index build is much faster than a million
    insertions, and readers go on reading the old table meanwhile.  Smaller loads go into the table itself,
    indexes kept.
    """
    fk = importable_kind(kind)
    if not commit and conn.autocommit:
        raise ValueError("import_file(commit=False) needs a connection in a transaction (autocommit off)")
    source_crs_arg = parse_crs(crs) if crs is not None else None
    with open_source(path, layer=layer, encoding=encoding, display_name=display_name) as info:
        report = ImportReport(file=info.display_name, kind=fk.name, row_label=info.row_label, cap=error_cap)
        source_crs = source_crs_arg or (parse_crs(info.crs) if info.crs else parse_crs(None))
        autocommit = conn.autocommit
        if autocommit:
            conn.autocommit = False
        loader: _Loader | None = None
        in_flight = ChunksInFlight(MAX_CHUNKS_IN_FLIGHT)
        try:
            with conn.cursor() as cur:
                # before anything of the kind is read: an import of the same ids meanwhile would find them new too
                write_queue.take_turn(cur, fk.name)
                set_actor(cur, actor)
            chunks = _first_rows_alone(read_chunks(info, chunk_size))
            while True:
                in_flight.acquire()  # read no further while the database is behind
                chunk = next(chunks, None)
                if chunk is None:
                    in_flight.release()
                    break
                table = chunk.table
                if loader is None:
                    columns = [c for c in table.column_names if c != "wkb"]
                    plan = plan_columns(fk, columns, mapping, is_csv=info.is_csv,
                                        has_geometry="wkb" in table.column_names, file=info.display_name)
                    report.columns = plan.sources()
                    report.header_lines = 1 if info.is_csv else 0
                    loader = _Loader(conn, fk, fk.written_columns(plan.target_columns),
                                     expected_rows=info.feature_count, in_flight=in_flight)
                rows = validate_chunk(fk, plan, table, chunk.offset, source_crs, report, today)
                if fk.looks_up:  # (the loader thread may be writing on the connection: not both at once)
                    with loader.writing:
                        rows = fk.resolve(conn, rows, report)
                report.rows_read += table.num_rows
                if report.ok:
                    loader.submit(rows.drop_columns(["row_no"]))  # the loader releases its place once written
                else:
                    in_flight.release()
                del chunk, table, rows  # nothing of the chunk stays alive here while the next one is read
                if progress:
                    progress(report.rows_read, info.feature_count)
            if loader is None or report.rows_read == 0:
                raise InputError(f"{info.display_name}: the file holds no features")
            loader.finish(report)
            if loader.repeated_id is not None or not report.ok:
                # the load is void: roll it back, then name the rows whose ids repeat (see _report_repeated_ids)
                conn.rollback()
                if not _report_repeated_ids(conn, info, plan, chunk_size, report) and loader.repeated_id:
                    report.add(None, "source_id", f"rejected by the database: {loader.repeated_id}")
                raise ImportRejected(report)
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO import_log (kind, file, source_crs, rows_read, inserted, updated) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (fk.name, info.display_name, source_crs.name, report.rows_read, report.inserted, report.updated))
            if commit:
                conn.commit()
        except BaseException:
            if loader is not None:
                loader.abandon()
            conn.rollback()
            raise
        finally:
            if autocommit and commit:
                conn.autocommit = True
    return report


def _first_rows_alone(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """The chunks, the first one's first ``FIRST_ROWS`` rows as a chunk of their own (module constants)."""
    first = next(chunks, None)
    if first is None:
        return
    if first.table.num_rows >= 2 * FIRST_ROWS:
        yield Chunk(first.offset, first.table.slice(0, FIRST_ROWS))
        yield Chunk(first.offset + FIRST_ROWS, first.table.slice(FIRST_ROWS))
    else:
        yield first
    del first
    yield from chunks


class ChunksInFlight:
    """Counts the chunks read from the file and not yet written to the database; ``acquire`` waits while there
    are ``limit`` of them.  ``peak`` is the most there ever were."""

    def __init__(self, limit: int):
        self.limit = limit
        self.count = 0
        self.peak = 0
        self._cond = threading.Condition()

    def acquire(self) -> None:
        with self._cond:
            while self.count >= self.limit:
                self.waiting()
                self._cond.wait()
            self.count += 1
            self.peak = max(self.peak, self.count)

    def release(self) -> None:
        with self._cond:
            self.count -= 1
            self._cond.notify()

    def waiting(self) -> None:
        """Called (under the lock) each time the reader has to wait for a chunk to be written."""


def in_spatial_order(rows: pa.Table) -> pa.Table:
    """The chunk's rows sorted by their spatial key (geo.validate.hilbert_keys), ready for COPY."""
    order = pa.compute.sort_indices(rows.column("spatial_key"))
    return rows.drop_columns(["spatial_key"]).take(order)


class _Loader:
    """Writes validated chunks to the database from a worker thread (one transaction, the caller's): into the
    table itself, or into a shadow of it for a bulk load (see ``import_file``)."""

    def __init__(self, conn, kind: FeatureKind, columns: list[str], expected_rows: int | None,
                 in_flight: ChunksInFlight):
        self.conn = conn
        self.kind = kind
        self.columns = [c for c in columns if c != "row_no"]
        self.live = sql.Identifier(kind.table)
        self.staging = sql.Identifier("riskmap_import_staging")
        self.inserted = 0
        self.known = 0  # rows of ids already stored, staged for the one UPDATE (updated or unchanged)
        self.updated = 0
        self.error: BaseException | None = None
        self.repeated_id: str | None = None  # the database's word on an id written twice by this import
        self.in_flight = in_flight
        self.shadow: shadow_table.ShadowTable | None = None
        # held while this thread uses the connection: psycopg2 lets another thread send a query in the middle of a
        # COPY's data (it holds the connection's lock for each call, not for a whole COPY), which leaves both ends
        # waiting for each other; the caller's thread takes it to look rows up (``FeatureKind.looks_up``)
        self.writing = threading.Lock()
        with conn.cursor() as cur:
            # unique ids: an id of the table repeated in the file would otherwise be two updates of one row
            cur.execute(sql.SQL("CREATE TEMP TABLE {} ({}, UNIQUE (source_id)) ON COMMIT DROP").format(
                self.staging, _staging_columns(kind, self.columns)))
            self.existing = _count_unlocked(cur, self.live)
            if (expected_rows is not None and expected_rows >= BULK_THRESHOLD
                    and expected_rows >= BULK_SHARE * self.existing):
                self.shadow = shadow_table.plan(cur, kind.table)
            if self.shadow is None:
                # The lock to write comes before any read of the table: a transaction that holds a read lock
                # while it waits for a bulk import to end would keep that import from swapping in its table
                # (the shadow's start takes its own, stronger lock first, on the loader thread).
                cur.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(self.live))
        # rows go to the shadow when there is one; known ids are looked up in the live table, indexed
        self.target = self.shadow.shadow if self.shadow else self.live
        self._queue: queue.Queue = queue.Queue()  # bounded by in_flight
        self._thread = threading.Thread(target=self._run, name="riskmap-import-loader", daemon=True)
        self._thread.start()

    def submit(self, rows: pa.Table) -> None:
        if set(rows.column_names) != {*self.columns, "spatial_key"}:  # the kind's written_columns and its rows
            raise RuntimeError(f"rows of {self.kind.name} with columns {sorted(rows.column_names)}, expected "
                               f"{sorted(self.columns)}")
        self._queue.put(rows)

    def _run(self) -> None:
        if self.shadow is not None:  # here, so that copying the live rows overlaps the reading of the file
            try:
                with self.writing, self.conn.cursor() as cur:
                    self.shadow.start(cur)
            except BaseException as e:
                self.error = e
        while (rows := self._queue.get()) is not None:
            try:
                if self.error is None and self.repeated_id is None:
                    with self.writing:
                        self._load(rows)
            except psycopg2.errors.UniqueViolation as e:
                if not self._repeated(e):
                    self.error = e
            except BaseException as e:  # reported by finish() in the caller's thread
                self.error = e
            finally:
                del rows
                self.in_flight.release()

    def _load(self, rows: pa.Table) -> None:
        rows = in_spatial_order(rows)  # here, on the loader thread: Arrow sorts without holding the GIL
        with self.conn.cursor() as cur:
            if self.existing or self.shadow is None:
                ids = rows.column("source_id").to_pylist()
                # a row this transaction wrote (loading in place) is an id repeated from an earlier chunk
                cur.execute(sql.SQL("SELECT source_id, xmin = pg_current_xact_id()::xid FROM {} "
                                    "WHERE source_id = ANY(%s)").format(self.live), (ids,))
                found = cur.fetchall()
                if repeated := next((i for i, mine in found if mine), None):
                    self.repeated_id = f"Key (source_id)=({repeated}) is repeated in the file."
                    return
                known = {i for i, _ in found}
                if known:
                    mask = pa.array([i in known for i in ids], pa.bool_())
                    _copy(cur, self.staging, rows.filter(mask))
                    self.known += len(known)
                    rows = rows.filter(pa.compute.invert(mask))
            if rows.num_rows:
                if _row_security_active(cur, self.target):
                    _copy_through_insert(cur, self.target, rows)
                else:
                    _copy(cur, self.target, rows)
                self.inserted += rows.num_rows

    def _repeated(self, e: psycopg2.errors.UniqueViolation) -> bool:
        """Whether ``e`` is about the source id (then kept in ``repeated_id``): most likely the file repeats an
        id, which ``_report_repeated_ids`` finds; failing that, another writer took it meanwhile."""
        detail = (e.diag.message_detail or "").strip()
        if not detail.startswith("Key (source_id)="):
            return False
        self.repeated_id = detail
        return True

    def _stop_thread(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def abandon(self) -> None:
        if self._thread.is_alive():
            self.error = self.error or RuntimeError("abandoned")
            self._stop_thread()

    def finish(self, report: ImportReport) -> None:
        """Wait for the loader; apply the updates and swap in the shadow (when the file was clean)."""
        self._stop_thread()
        if self.error is not None:
            if isinstance(self.error, psycopg2.Error) and report.ok:
                report.add(None, self.error.diag.column_name, f"rejected by the database: {_detail(self.error)}")
                return
            if not report.ok:
                return
            raise self.error
        if not report.ok or self.repeated_id is not None:
            return
        with self.conn.cursor() as cur:
            if self.known:
                # only the rows the file changes: a row given again as stored is left alone (no update, so no
                # history row and no change for the scores to follow), and counted as unchanged
                sets, differs = [], []
                for c in self.columns:
                    if c == "source_id":
                        continue
                    if c == "props":
                        sets.append(sql.SQL("props = t.props || s.props"))
                        differs.append(sql.SQL("t.props IS DISTINCT FROM t.props || s.props"))
                    else:
                        sets.append(sql.SQL("{0} = s.{0}").format(sql.Identifier(c)))
                        differs.append(sql.SQL("t.{0} IS DISTINCT FROM s.{0}").format(sql.Identifier(c)))
                sets.append(sql.SQL("updated_at = now()"))
                cur.execute(sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE t.source_id = s.source_id AND ({})")
                            .format(self.target, sql.SQL(", ").join(sets), self.staging,
                                    sql.SQL(" OR ").join(differs) if differs else sql.SQL("false")))
                self.updated = cur.rowcount
            if self.shadow is not None:
                try:
                    self.shadow.finish(cur)
                except psycopg2.IntegrityError as e:  # a unique or foreign key the rows break, found at the end
                    if not (isinstance(e, psycopg2.errors.UniqueViolation) and self._repeated(e)):
                        report.add(None, e.diag.column_name, f"rejected by the database: {_detail(e)}")
                    return
            # done with it: another import may follow in the same transaction (import_file(commit=False))
            cur.execute(sql.SQL("DROP TABLE {}").format(self.staging))
        report.inserted, report.updated = self.inserted, self.updated
        report.unchanged = self.known - self.updated


def _detail(e: psycopg2.Error) -> str:
    return (e.diag.message_detail or e.diag.message_primary or str(e)).strip()


def _report_repeated_ids(conn, info: SourceInfo, plan: ColumnPlan, chunk_size: int, report: ImportReport) -> bool:
    """Add an error for each row whose id an earlier row of the file already used, naming both rows; whether
    there was any.  Called after a failed import, in a transaction of its own that it rolls back.

    Imports do not keep the ids they have read (that memory would grow with the file): the database's unique
    indexes find a repeated id while the rows are written, and only then, or when the file has other errors
    (so that one report lists everything), is the file read a second time, its id column alone, into a
    temporary table where one query finds every repeat."""
    try:
        with conn.cursor() as cur:
            cur.execute('CREATE TEMP TABLE riskmap_import_ids (row_no bigint, source_id text COLLATE "C") '
                        "ON COMMIT DROP")
            for chunk in read_chunks(info, chunk_size, columns=[plan.source_id], geometry=False):
                n = chunk.table.num_rows
                rows = np.arange(chunk.offset + 1, chunk.offset + n + 1)
                scratch = ImportReport(file=report.file, kind=report.kind, cap=0)  # its own errors are known
                ids = _text(chunk.table.column(plan.source_id).to_pandas(), "source_id", rows, scratch, True)
                _copy(cur, sql.Identifier("riskmap_import_ids"),
                      pa.table({"row_no": pa.array(rows, pa.int64()), "source_id": pa.array(ids, pa.string())}))
            cur.execute(_REPEATED_IDS, {"cap": max(report.cap, 1)})
            found = cur.fetchall()
        for row, source_id, first, _total in found:
            report.add(int(row), "source_id",
                       f"duplicate id {source_id!r} (first used at {report.row_label} {first})")
        if found:
            report.error_count += int(found[0][3]) - len(found)  # the repeats past the cap, counted
        return bool(found)
    finally:
        conn.rollback()


def _count_unlocked(cur, table: sql.Identifier) -> int:
    """The table's row count, read in a subtransaction that is rolled back: that releases the read lock it
    took, so that the first lock this transaction holds on the table is the one it writes under."""
    cur.execute("SAVEPOINT riskmap_count")
    cur.execute(sql.SQL("SELECT count(*) FROM {}").format(table))
    n = int(cur.fetchone()[0])
    cur.execute("ROLLBACK TO SAVEPOINT riskmap_count")
    cur.execute("RELEASE SAVEPOINT riskmap_count")
    return n


def _row_security_active(cur, table: sql.Identifier) -> bool:
    """Whether row-level security filters ``table`` for this session (a user limited to areas: migration 0019),
    where PostgreSQL refuses COPY FROM."""
    cur.execute(sql.SQL("SELECT row_security_active({}::regclass)").format(sql.Literal(table.as_string(cur))))
    return bool(cur.fetchone()[0])


def _copy_through_insert(cur, table: sql.Identifier, rows: pa.Table) -> None:
    """COPY into a temporary table, then INSERT: the policies check every row (WITH CHECK), as COPY cannot."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in rows.column_names)
    cur.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS riskmap_checked_rows ON COMMIT DROP AS "
                        "SELECT {} FROM {} WITH NO DATA").format(cols, table))
    cur.execute("TRUNCATE riskmap_checked_rows")
    _copy(cur, sql.Identifier("riskmap_checked_rows"), rows)
    cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM riskmap_checked_rows").format(table, cols, cols))


def _copy(cur, table: sql.Identifier, rows: pa.Table) -> None:
    buf = io.BytesIO()
    pacsv.write_csv(rows, buf, write_options=pacsv.WriteOptions(include_header=False))
    buf.seek(0)
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in rows.column_names)
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(table, cols).as_string(cur)
    cur.copy_expert(statement, buf, size=1 << 20)  # large reads: fewer trips through Python, less GIL contention
