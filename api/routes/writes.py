"""Writes: POST /imports (a file upload), POST /features/{kind}, PATCH and DELETE /features/{kind}/{id}.  (The
records' writes, api/routes/record_writes.py, share this module's write queue and re-scoring.)

Every write needs an API key (api/access.py).  Uploads and single features go through the same importer as
``riskmap import``: the same validation, the same all-or-nothing rule and the same error report (a 422 whose
``report`` lists each bad row and field).

A write commits, and only then are the scores of the features it can affect, and the areas around them, brought
up to date: in the background (api/rescoring.py), not in the request, so that a large backlog of changes never
holds a request (or starves the others).  The request waits up to ``rescore_wait_s`` for the run that covers it
and then answers, 2xx whatever happened to the scores, since the write is committed: ``scoring.state`` is
``done`` (with the run's summary), ``pending`` (the scores follow; GET /health shows their state) or ``failed``
(the run failed; the next write or ``riskmap score`` takes the same changes again).

Concurrent writes: the API's writes of one feature class take turns (``WRITE_QUEUE``).  A write is one
transaction, all or nothing, so one that lost a deadlock or a serialisation conflict, or met an id another
writer stored first, is simply run again (``WRITE_ATTEMPTS`` in all, after a short random
pause); after that, and when its turn or a lock is not granted in time (``QUEUE_TIMEOUT_MS``,
``LOCK_TIMEOUT_MS``), the answer is a 409 with ``Retry-After`` (api/errors.py).  Never a 503: the database is
there.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from psycopg2 import sql
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.access import Needs, WriteActor
from api.dependencies import Connection, LazyConnection
from api.errors import body_error
from api.rescoring import Rescorer, RunOutcome
from api.routes.features import MAX_ID
from api.writer import Write
from geo.errors import Conflict, NotFound
from geo.importer import import_file
from geo.kinds import get_kind
from geo.write_queue import WRITE_QUEUE

log = logging.getLogger("riskmap.api")

WRITE_ATTEMPTS = 3  # a write that lost a deadlock or a serialisation conflict runs again, this many times in all
RETRY_PAUSE_S = 0.1  # before the second attempt (then twice that), times a random factor in [0.5, 1.5)
# A write waits this long for a lock another transaction holds (a row it updates, an id it inserts, a table an
# import rebuilds), then answers 409 with Retry-After instead of holding a request, a connection and, for a
# table lock, every reader queued behind it, until the statement timeout.
LOCK_TIMEOUT_MS = 5000
# The API's writes of one class take turns (a session advisory lock on (WRITE_QUEUE, the class)), for the whole
# request: the importer takes the same turn in each import's transaction (geo/write_queue.py), so an upload
# also waits for a `riskmap import` of its class and finds the ids it stored known; holding it across the request
# also covers what a write reads before it imports (a second POST of one id is a plain 409).
# Waiting for a turn blocks no reader, so it may last longer than a lock wait, within the statement timeout.
QUEUE_TIMEOUT_MS = 20_000
# The errors after which the same write may well succeed: the transaction rolled back whole because of another
# transaction (deadlock 40P01, serialisation failure 40001), or another write stored one of the same ids first
# (23505: the retry then finds the id stored and updates it, or, for POST /features, answers 409).  (An error
# raised while the importer COPYs rows, the importer reports as a bad row, a 422, and does not reach here; the
# write queue keeps the API's own writes from meeting that way.)
RETRIED = (psycopg2.errors.TransactionRollbackError, psycopg2.errors.UniqueViolation)

router = APIRouter(tags=["writes"], dependencies=[Needs.admin],
                   responses={422: {"description": "Bad input; for data, the import report of every bad row."}})

ImportKind = Literal["enterprise", "tailings_pond", "pipeline", "venue", "settlement", "area",
                     "inspection", "hidden_danger", "enforcement_action", "accident"]
EditKind = Literal["enterprise", "tailings_pond", "pipeline", "venue", "settlement"]
UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".csv", ".xlsx")
T = TypeVar("T")


class Scoring(BaseModel):
    """The re-scoring after the write.  The write itself is committed whatever the state."""

    state: Literal["done", "pending", "failed"] = Field(
        description="done: the scores include this write (the run's summary follows); pending: they are being "
                    "brought up to date in the background (GET /health shows their state); failed: the "
                    "background run failed, and the next write or `riskmap score` takes the changes again.")
    detail: str = Field(description="The state in words.")
    full: bool | None = Field(None, description="done: whether the run recomputed everything.")
    changes: int | None = Field(None, description="done: the change records the run took (its own and any "
                                                  "other write's since the previous run).")
    scored: dict[str, int] | None = Field(None, description="done: features re-scored, per class.")
    areas: int | None = Field(None, description="done: area rows recomputed.")
    seconds: float | None = Field(None, description="done: how long the run took.")
    error: str | None = Field(None, description="failed: what failed (the details are in the server's log).")

    @classmethod
    def of(cls, outcome: RunOutcome | None) -> Scoring:
        if outcome is None:
            return cls(state="pending", detail="the write is committed; its scores are being brought up to date in "
                                               "the background (GET /health shows their state)")
        if outcome.error:
            return cls(state="failed", error=outcome.error,
                       detail="the write is committed, but re-scoring after it failed; the next write or "
                              "`riskmap score` re-scores its changes (GET /health shows them pending)")
        return cls(state="done", detail="the write is committed and the scores include it", full=outcome.full,
                   changes=outcome.changes, scored=outcome.scored or {}, areas=outcome.areas,
                   seconds=outcome.seconds)


class Rescoring:
    """This app's background re-scoring, as the write routes use it (a request dependency)."""

    def __init__(self, rescorer: Rescorer, wait_s: float):
        self.rescorer, self.wait_s = rescorer, wait_s

    async def after_commit(self, conn: LazyConnection) -> Scoring:
        """Ask for the run that covers the committed write and wait for it, up to ``rescore_wait_s``, holding
        neither a connection nor a thread meanwhile (the other requests need both)."""
        if conn.release_is_instant(False):
            conn.release(False)
        else:
            await run_in_threadpool(conn.release, False)
        try:
            ticket = self.rescorer.request()
        except RuntimeError:  # the service is stopping: the changes stay recorded for the next run
            return Scoring.of(None)
        return Scoring.of(await self.rescorer.wait_async(ticket, self.wait_s))


async def _rescoring(request: Request) -> Rescoring:
    return Rescoring(request.app.state.rescorer, request.app.state.settings.rescore_wait_s)


Rescore = Annotated[Rescoring, Depends(_rescoring)]


def _write(conn, kind: str | tuple[str, ...], write: Callable[[], T]) -> T:
    """Run ``write`` (which commits, or rolls back whole) after the writes of ``kind`` before it (of each kind,
    for a write of several: their turns are taken in one order, so two such writes cannot wait for each other),
    with the writes' lock timeout, and again after a conflict with a concurrent transaction (``RETRIED``); the
    last attempt's error goes to the client (a 409)."""
    kinds = sorted({kind} if isinstance(kind, str) else set(kind))
    queued: list[str] = []
    try:
        with conn.cursor() as cur:
            cur.execute("SET lock_timeout = %s", (QUEUE_TIMEOUT_MS,))
            for k in kinds:
                cur.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (WRITE_QUEUE, k))
                queued.append(k)
            cur.execute("SET lock_timeout = %s", (LOCK_TIMEOUT_MS,))
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return write()
            except RETRIED as e:
                if attempt == WRITE_ATTEMPTS:
                    raise
                log.info("write conflicted with a concurrent transaction (%s); attempt %d of %d",
                         type(e).__name__, attempt + 1, WRITE_ATTEMPTS)
                time.sleep(RETRY_PAUSE_S * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")
    finally:
        if not conn.closed:
            try:
                if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                    conn.rollback()
                with conn.cursor() as cur:
                    cur.execute("RESET lock_timeout")
                    for k in reversed(queued):
                        cur.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (WRITE_QUEUE, k))
            except psycopg2.Error:
                # the pool then drops it (and the server its lock) rather than hand out a connection with the
                # writes' lock timeout or queue lock
                conn.close()


class ImportResult(BaseModel):
    report: dict[str, Any] = Field(description="rows_read, inserted, updated (and no errors).")
    scoring: Scoring


class WriteResult(BaseModel):
    kind: str
    id: int
    source_id: str
    href: str | None
    scoring: Scoring


class FeatureIn(BaseModel):
    """A GeoJSON Feature (RFC 7946) in WGS 84: its properties are the class's attributes (see GET /docs of
    the import format); ``properties.source_id`` (or ``id``) is the register's id."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


def _import_features(conn, kind: str, features: list[dict], display_name: str) -> dict:
    """Import GeoJSON features through the file importer (same validation, same report)."""
    with tempfile.TemporaryDirectory(prefix="riskmap-api-") as d:
        path = Path(d) / "features.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                        encoding="utf-8")
        return import_file(conn, path, kind, display_name=display_name).as_dict()


def _lookup(conn, kind: str, id: int) -> tuple[str, dict, str]:
    """(source_id, the stored name and required attributes, geometry as GeoJSON) of a feature; NotFound when
    there is none."""
    needed = ["name", *dict.fromkeys(a for group in get_kind(kind).required for a in group)]
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in needed)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT source_id, ST_AsGeoJSON(geom), {} FROM {} WHERE id = %s")
                    .format(columns, sql.Identifier(kind)), (id,))
        row = cur.fetchone()
    conn.rollback()
    if row is None:
        raise NotFound(f"no {kind} with id {id}")
    stored = {c: v for c, v in zip(needed, row[2:], strict=True) if v is not None}
    return row[0], stored, row[1]


def _id_of(conn, kind: str, source_id: str) -> int | None:
    with conn.cursor() as cur:
        cur.execute(f"SELECT id FROM {kind} WHERE source_id = %s", (source_id,))  # kind: a Literal
        row = cur.fetchone()
    conn.rollback()
    return row[0] if row else None


@router.post("/imports", response_model=ImportResult, summary="Upload a file of features")
async def post_import(
    conn: Connection,
    writing: Write,
    rescore: Rescore,
    actor: WriteActor,
    kind: Annotated[ImportKind, Form(description="The class of the features in the file, or the kind of the "
                                                 "records (inspection, hidden_danger, enforcement_action, "
                                                 "accident).")],
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, zipped Shapefile, CSV or XLSX.")],
    crs: Annotated[str | None, Form(description="The file's CRS when it has none: an EPSG code, gcj02 or "
                                                "bd09.")] = None,
    layer: Annotated[str | None, Form(description="The layer of a GeoPackage.")] = None,
    encoding: Annotated[str | None, Form(description="The text encoding of a CSV or Shapefile.")] = None,
):
    """Import every feature (or record) of the file, or none: one bad row rejects the whole file with a 422 whose
    ``report`` names each bad row, field and reason (as ``riskmap import`` does).  Known ids are updated (only
    the columns the file has).  Then the affected scores and areas are recomputed in the background; the answer
    (200 once the import is committed) says whether they are done yet."""
    name = file.filename or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise body_error("file", f"{name!r}: unsupported file type {suffix or '(none)'}; expected one of "
                                 f"{', '.join(UPLOAD_SUFFIXES)} (a Shapefile as a .zip)")

    def keep() -> str:  # the upload, on disk for the writer process (in a request thread: it reads the body)
        d = tempfile.mkdtemp(prefix="riskmap-upload-")
        with open(Path(d) / f"upload{suffix}", "wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        return d

    d = await run_in_threadpool(keep)
    try:
        report = await writing.run(_import_upload, str(Path(d) / f"upload{suffix}"), kind, crs, layer, encoding,
                                   name, actor)
    finally:
        await run_in_threadpool(shutil.rmtree, d, True)
    return ImportResult(report=report, scoring=await rescore.after_commit(conn))


def _import_upload(conn, path: str, kind: str, crs: str | None, layer: str | None, encoding: str | None,
                   name: str, actor: str) -> dict:
    """(In a writer process, api/writer.py.)  Import an uploaded file; the import's report."""
    return _write(conn, kind, lambda: import_file(conn, Path(path), kind, crs=crs, layer=layer, encoding=encoding,
                                                  display_name=name, actor=actor)).as_dict()


def _source_id(props: dict) -> str:
    sid = props.get("source_id", props.get("id"))
    if sid is None or str(sid).strip() == "":
        raise body_error("properties.source_id", "a feature needs its register id in properties.source_id")
    return str(sid).strip()


@router.post("/features/{kind}", response_model=WriteResult, status_code=201, summary="Add one feature",
             responses={409: {"description": "A feature with this source_id exists (use PATCH), or a concurrent "
                                             "write was in the way (then with Retry-After)."}})
async def post_feature(conn: Connection, writing: Write, rescore: Rescore,
                       kind: Annotated[EditKind, PathParam(description="Feature class.")], feature: FeatureIn):
    """Add one feature (a GeoJSON Feature); validated like an import row.  201 with its id and Location once it
    is committed; its score follows (``scoring`` says whether it is there yet)."""
    sid = _source_id(feature.properties)
    if feature.geometry is None:
        raise body_error("geometry", "a new feature needs a geometry")
    props = {**{k: v for k, v in feature.properties.items() if k != "id"}, "source_id": sid}

    new_id = await writing.run(_add_feature, kind, sid,
                               {"type": "Feature", "geometry": feature.geometry, "properties": props})
    href = f"/features/{kind}/{new_id}" if kind != "settlement" else None
    result = WriteResult(kind=kind, id=new_id, source_id=sid, href=href, scoring=await rescore.after_commit(conn))
    return JSONResponse(result.model_dump(), status_code=201, headers={"Location": href} if href else None)


@router.patch("/features/{kind}/{id}", response_model=WriteResult, summary="Change one feature",
              responses={404: {"description": "No feature of this kind has this id."}})
async def patch_feature(conn: Connection, writing: Write, rescore: Rescore,
                        kind: Annotated[EditKind, PathParam(description="Feature class.")],
                        id: Annotated[int, PathParam(ge=1, le=MAX_ID, description="The feature's id.")],
                        feature: FeatureIn):
    """Change the given properties (and the geometry, if given) of one feature; the others stay as they are.
    Validated like an import row; the register id cannot be changed here."""

    sid = await writing.run(_change_feature, kind, id, feature.properties, feature.geometry)
    href = f"/features/{kind}/{id}" if kind != "settlement" else None
    return WriteResult(kind=kind, id=id, source_id=sid, href=href, scoring=await rescore.after_commit(conn))


@router.delete("/features/{kind}/{id}", response_model=WriteResult, summary="Delete one feature",
               responses={404: {"description": "No feature of this kind has this id."}})
async def delete_feature(conn: Connection, writing: Write, rescore: Rescore,
                         kind: Annotated[EditKind, PathParam(description="Feature class.")],
                         id: Annotated[int, PathParam(ge=1, le=MAX_ID, description="The feature's id.")]):
    """Delete one feature; the scores around it are recomputed (in the background, as after every write)."""

    source_id = await writing.run(_delete_feature, kind, id)
    if source_id is None:
        raise NotFound(f"no {kind} with id {id}")
    return WriteResult(kind=kind, id=id, source_id=source_id, href=None, scoring=await rescore.after_commit(conn))


# The database work of the writes above, in a writer process (api/writer.py): ``fn(conn, ...)``.

def _add_feature(conn, kind: str, sid: str, feature: dict) -> int:
    """Store one new feature; its id (Conflict when one with its source_id exists)."""

    def add() -> int:
        if _id_of(conn, kind, sid) is not None:
            raise Conflict(f"a {kind} with source_id {sid!r} exists; change it with PATCH /features/{kind}/{{id}}")
        _import_features(conn, kind, [feature], display_name="request body")
        return _id_of(conn, kind, sid)

    return _write(conn, kind, add)


def _change_feature(conn, kind: str, id: int, properties: dict, geometry: dict | None) -> str:
    """Change the given properties (and the geometry) of one feature; its source_id."""
    sid, stored, stored_geometry = _lookup(conn, kind, id)
    given = properties.get("source_id", properties.get("id"))
    if given is not None and str(given).strip() != sid:
        raise body_error("properties.source_id", f"the register id cannot be changed (it is {sid!r})")
    if not properties and geometry is None:
        raise body_error("properties", "nothing to change: give properties and/or a geometry")
    # the importer needs the id, the name, the required attributes and a geometry: the stored ones unless given
    props = {**stored, **{k: v for k, v in properties.items() if k != "id"}, "source_id": sid}
    changed = {"type": "Feature", "geometry": geometry or json.loads(stored_geometry), "properties": props}
    _write(conn, kind, lambda: _import_features(conn, kind, [changed], display_name="request body"))
    return sid


def _delete_feature(conn, kind: str, id: int) -> str | None:
    """Delete one feature; its source_id, None when there was none with this id."""

    def delete() -> str | None:
        with conn.cursor() as cur:  # the writer's connection commits each statement
            cur.execute(f"DELETE FROM {kind} WHERE id = %s RETURNING source_id", (id,))  # kind: a Literal
            row = cur.fetchone()
        return row[0] if row else None

    return _write(conn, kind, delete)
