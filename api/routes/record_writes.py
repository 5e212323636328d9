"""Writes of the campaign's records: POST /inspections (with the hidden dangers found, in one transaction),
POST /hidden-dangers, PATCH /hidden-dangers/{id} (status changes along the allowed transitions), POST
/hidden-dangers/{id}/photos, POST /enforcement-actions and POST /accidents.

As for features (api/routes/writes.py): an API key, the write queue of each kind written, retries after a
conflict, 409 when a record with the source_id exists or another write is in the way, and after the commit the
background re-scoring where scores can change (inspections, hidden dangers and enforcement actions feed the risk
model; accidents and photos do not).  A record is a row of the importer (geo/importer.py): the body becomes a
one-row GeoJSON file and goes through ``import_file``, with the same checks and, for bad input, the same 422
report as ``riskmap import``.  Every write says who made it (``api:<key fingerprint>``), and the records' history
keeps it.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.access import Needs, WriteActor
from api.dependencies import Connection
from api.errors import body_error
from api.routes.record_models import (
    AccidentIn,
    DangerChange,
    EnforcementActionIn,
    HiddenDangerIn,
    HiddenDangerOut,
    InspectionIn,
    InspectionWritten,
    Photo,
    RecordRef,
    Written,
)
from api.routes.records import RecordId, href, present
from api.routes.writes import Rescore, Scoring, _write
from api.writer import Write
from geo.errors import Conflict
from geo.importer import import_file
from geo.records import store
from geo.records.kinds import recognised_columns

router = APIRouter(tags=["records"], dependencies=[Needs.inspector],
                   responses={409: {"description": "A record with this source_id exists, or a concurrent write was "
                                                   "in the way (then with Retry-After); nothing was written."},
                              422: {"description": "Bad input: each bad field is named; for a record, the "
                                                   "import report of its bad fields."}})

NOT_FOUND = {404: {"description": "No such hidden danger."}}


def new_source_id() -> str:
    """A register id for a record posted without one."""
    return f"api-{uuid.uuid4().hex[:20]}"


def _row(kind: str, body: BaseModel, source_id: str, exclude: set[str] = frozenset(), field: str = "props") -> dict:
    """A body as the properties of an import row: its fields (those given) and its props beside them (a props
    key the importer would take for a field, e.g. a Chinese column name, is refused)."""
    props = body.props or {}
    taken = sorted(k for k in props if k.strip().lower() in recognised_columns(kind))
    if taken:
        raise body_error(field, f"props may not hold what the record has fields for: {', '.join(taken)}")
    row = body.model_dump(mode="json", exclude_none=True, exclude={"props", "source_id", *exclude})
    return {**props, **row, "source_id": source_id}


def _import_rows(conn, kind: str, rows: list[dict], display_name: str, actor: str, *,
                 geometries: list[dict | None] | None = None, commit: bool = True) -> None:
    """Import ``rows`` of ``kind`` through the file importer (same checks, same report)."""
    features = [{"type": "Feature", "geometry": (geometries or [None] * len(rows))[i], "properties": r}
                for i, r in enumerate(rows)]
    with tempfile.TemporaryDirectory(prefix="riskmap-api-") as d:
        path = Path(d) / "records.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                        encoding="utf-8")
        import_file(conn, path, kind, display_name=display_name, actor=actor, commit=commit)


def _refuse_taken(conn, records: list[tuple[str, str]]) -> None:
    """Conflict when a record of one of these (kind, source_id) exists (a POST creates; re-imports update)."""
    for kind, source_id in records:
        if store.id_of(conn, kind, source_id) is not None:
            raise Conflict(f"a {kind.replace('_', ' ')} with source_id {source_id!r} exists")
    conn.rollback()


def _created(result: BaseModel) -> JSONResponse:
    body = result.model_dump(mode="json")
    return JSONResponse(body, status_code=201, headers={"Location": body["href"]})


def _write_one(conn, actor: str, kind: str, row: dict, source_id: str, geometry: dict | None) -> int:
    """(In a writer process, api/writer.py.)  Store one new record; its id."""

    def write() -> int:
        _refuse_taken(conn, [(kind, source_id)])
        _import_rows(conn, kind, [row], "request body", actor, geometries=[geometry] if geometry else None)
        return store.id_of(conn, kind, source_id)

    return _write(conn, kind, write)


async def _post_one(conn, writing: Write, rescore, actor: str, kind: str, body: BaseModel, *, scores: bool,
                    geometry: dict | None = None, exclude: set[str] = frozenset()) -> JSONResponse:
    source_id = body.source_id or new_source_id()
    row = _row(kind, body, source_id, exclude)
    record_id = await writing.run(_write_one, actor, kind, row, source_id, geometry)
    scoring = await rescore.after_commit(conn) if scores else None
    return _created(Written(kind=kind, id=record_id, source_id=source_id, href=href(kind, record_id),
                            scoring=scoring))


def _write_inspection(conn, actor: str, inspection: dict, dangers: list[dict]) -> tuple[int, list[int]]:
    """(In a writer process.)  Store an inspection and the hidden dangers it found, in one transaction; their
    ids."""
    source_id = inspection["source_id"]

    def write() -> tuple[int, list[int]]:
        _refuse_taken(conn, [("inspection", source_id)] + [("hidden_danger", r["source_id"]) for r in dangers])
        with store.transaction(conn):
            _import_rows(conn, "inspection", [inspection], "request body", actor, commit=False)
            if dangers:
                _import_rows(conn, "hidden_danger", dangers, "request body: hidden_dangers", actor, commit=False)
        return (store.id_of(conn, "inspection", source_id),
                [store.id_of(conn, "hidden_danger", r["source_id"]) for r in dangers])

    return _write(conn, ("inspection", "hidden_danger"), write)


@router.post("/inspections", response_model=InspectionWritten, status_code=201, summary="Record an inspection",
             responses={201: {"description": "Written; Location names the inspection."}})
async def post_inspection(conn: Connection, writing: Write, rescore: Rescore, actor: WriteActor,
                          body: InspectionIn):
    """Record an inspection of one site and the hidden dangers it found, all in one transaction: if one of them
    is bad, nothing is written (422 with the report of the bad rows: the inspection's, or the n-th danger's).
    Each danger's site and inspection are the inspection's, its found date the inspection's unless given, its
    status open.  201 with the ids once committed; the site's score follows in the background."""
    source_id = body.source_id or new_source_id()
    dangers = [_row("hidden_danger", d, d.source_id or new_source_id(), field=f"hidden_dangers.{i}.props")
               for i, d in enumerate(body.hidden_dangers)]
    for row in dangers:
        row.setdefault("found_on", body.inspected_on.isoformat())
        row["inspection_source_id"] = source_id
    inspection = _row("inspection", body, source_id, exclude={"hidden_dangers"})

    inspection_id, danger_ids = await writing.run(_write_inspection, actor, inspection, dangers)
    refs = [RecordRef(id=i, source_id=r["source_id"], href=href("hidden_danger", i))
            for i, r in zip(danger_ids, dangers, strict=True)]
    return _created(InspectionWritten(kind="inspection", id=inspection_id, source_id=source_id,
                                      href=href("inspection", inspection_id), hidden_dangers=refs,
                                      scoring=await rescore.after_commit(conn)))


@router.post("/hidden-dangers", response_model=Written, status_code=201, summary="Record a hidden danger",
             responses={201: {"description": "Written; Location names the danger."}})
async def post_hidden_danger(conn: Connection, writing: Write, rescore: Rescore, actor: WriteActor,
                             body: HiddenDangerIn):
    """Record one hidden danger of a site (site_kind with site_id or site_source_id), or found by a stored
    inspection (inspection_id or inspection_source_id; the danger then takes its site).  Checked like an import
    row: the site must exist, the deadline may not be before the found date, a status needs its dates.  201
    once committed; the site's score follows in the background."""
    return await _post_one(conn, writing, rescore, actor, "hidden_danger", body, scores=True)


@router.post("/enforcement-actions", response_model=Written, status_code=201,
             summary="Record an enforcement action", responses={201: {"description": "Written."}})
async def post_enforcement_action(conn: Connection, writing: Write, rescore: Rescore, actor: WriteActor,
                                  body: EnforcementActionIn):
    """Record an enforcement measure against one site (a fine with its amount; lifted not before decided)."""
    return await _post_one(conn, writing, rescore, actor, "enforcement_action", body, scores=True)


@router.post("/accidents", response_model=Written, status_code=201, summary="Record an accident",
             dependencies=[Needs.admin], responses={201: {"description": "Written."}})
async def post_accident(conn: Connection, writing: Write, rescore: Rescore, actor: WriteActor,
                        body: AccidentIn):
    """Record an accident at a point; its class is derived from deaths, serious injuries and direct loss (State
    Council Decree No. 493) unless given, and a given class the numbers contradict is refused (422).  Accidents
    do not change scores (the backtest reads them)."""
    point = {"type": "Point", "coordinates": [body.lon, body.lat]}
    return await _post_one(conn, writing, rescore, actor, "accident", body, scores=False, geometry=point,
                           exclude={"lon", "lat"})


def _change_danger(conn, actor: str, id: int, status, on, fields: dict) -> dict:
    """(In a writer process.)  Change a hidden danger; the stored danger after the change."""
    return _write(conn, "hidden_danger",
                  lambda: store.change_danger(conn, id, status=status, on=on, actor=actor, **fields))


def _add_photo(conn, actor: str, id: int, data: bytes, limit: int, taken_at, name: str) -> tuple[dict, bool]:
    """(In a writer process.)  Store a photo of a hidden danger: (the stored photo, whether it is new)."""
    return _write(conn, "hidden_danger_photo",
                  lambda: store.add_photo(conn, id, data, max_bytes=limit, actor=actor, taken_at=taken_at, name=name))


class DangerChanged(HiddenDangerOut):
    scoring: Scoring


@router.patch("/hidden-dangers/{id}", response_model=DangerChanged, summary="Change a hidden danger",
              responses={**NOT_FOUND,
                         409: {"description": "A status change the rules do not allow (the body's `allowed` lists "
                                              "the statuses it may move to), or a concurrent write was in the way "
                                              "(then with Retry-After)."}})
async def patch_hidden_danger(conn: Connection, writing: Write, rescore: Rescore, actor: WriteActor,
                              id: RecordId, change: DangerChange):
    """Move a hidden danger's status along the allowed transitions: open → rectified, rectified → verified,
    rectified → reopened, verified → reopened, reopened → rectified.  Any other change is a 409 naming the
    allowed ones.  The change's date (``on``) goes to rectified_on, verified_on or reopened_on and to
    status_changed_on; it may not be before the danger was found or before its last change (422).  The
    deadline, responsible unit and person and the measures may be changed too.  The history keeps the danger
    before and after, when and who."""
    fields = {name: getattr(change, name) for name in change.model_fields_set
              if name not in ("status", "on")}

    danger = present("hidden_danger", await writing.run(_change_danger, actor, id, change.status, change.on, fields))
    return DangerChanged(**danger, scoring=await rescore.after_commit(conn))


@router.post("/hidden-dangers/{id}/photos", response_model=Photo, status_code=201,
             summary="Add a photo of a hidden danger",
             responses={**NOT_FOUND,
                        200: {"description": "The same photo was already stored: the stored one.",
                              "model": Photo},
                        201: {"description": "Stored; Location names the photo."},
                        413: {"description": "The photo is over the size limit (RISKMAP_PHOTO_MAX_MB, 10 MB by "
                                             "default), or the body over the server's limit."},
                        415: {"description": "Not a JPEG, PNG or WebP image (judged by its content)."}})
async def post_photo(request: Request, writing: Write, actor: WriteActor, id: RecordId,
                     file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP image.")],
                     taken_at: Annotated[dt.datetime | None, Form(description="When it was taken.")] = None):
    """Store a photo with the hidden danger.  Its type is judged by its first bytes, not by its name or declared
    type: anything but JPEG, PNG or WebP is refused (415); a photo over the size limit is refused (413).  The
    same photo twice is stored once (200 with the stored one)."""
    limit = int(request.app.state.settings.photo_max_mb * 1024 * 1024)
    data = await file.read(limit + 1)  # one byte more than allowed tells a photo over the limit
    name = f"the photo {file.filename!r}" if file.filename else "the photo"

    photo, created = await writing.run(_add_photo, actor, id, data, limit, taken_at, name)
    photo["href"] = f"{href('hidden_danger', id)}/photos/{photo['id']}"
    body = Photo(**photo).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if created else 200,
                        headers={"Location": body["href"]} if created else None)
