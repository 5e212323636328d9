"""GET of the campaign's records: one inspection, hidden danger, enforcement action or accident with its site,
its history (every change, with the rows before and after, when and who), and a hidden danger's photos.

The routes parse and serialise; reading is geo/records/store.py's (the command line reads through it too).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.access import Needs
from api.dependencies import Connection
from api.routes.record_models import (
    MAX_ID,
    AccidentOut,
    EnforcementActionOut,
    HiddenDangerOut,
    History,
    InspectionOut,
)
from geo.records import store, transitions

router = APIRouter(dependencies=[Needs.viewer], tags=["records"], responses={404: {"description": "No such record."}})

# The URL of each record kind, and back.
PATHS = {"inspection": "inspections", "hidden_danger": "hidden-dangers", "enforcement_action": "enforcement-actions",
         "accident": "accidents"}
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="The record's riskmap id.")]


def href(kind: str, record_id: int) -> str:
    return f"/{PATHS[kind]}/{record_id}"


def present(kind: str, record: dict) -> dict:
    """A stored record (geo.records.store.read) as the API shows it: with the links to itself and its parts."""
    record["history"] = href(kind, record["id"]) + "/history"
    if kind == "hidden_danger":
        record["allowed_changes"] = list(transitions.allowed(record["status"]))
        for photo in record["photos"]:
            photo["href"] = f"{href(kind, record['id'])}/photos/{photo['id']}"
    if kind == "inspection":
        for danger in record["hidden_dangers"]:
            danger["href"] = href("hidden_danger", danger["id"])
    return record


async def _read(conn, kind: str, record_id: int) -> dict:
    return present(kind, await run_in_threadpool(store.read, conn.raw(), kind, record_id))


async def _history(conn, kind: str, record_id: int) -> History:
    changes = await run_in_threadpool(store.history, conn.raw(), kind, record_id)
    return History(kind=kind, id=record_id, changes=changes)


@router.get("/inspections/{id}", response_model=InspectionOut, summary="One inspection")
async def get_inspection(conn: Connection, id: RecordId):
    """An inspection with its site and the hidden dangers it found."""
    return await _read(conn, "inspection", id)


@router.get("/hidden-dangers/{id}", response_model=HiddenDangerOut, summary="One hidden danger")
async def get_hidden_danger(conn: Connection, id: RecordId):
    """A hidden danger with its site, its inspection, its photos and the status changes allowed now."""
    return await _read(conn, "hidden_danger", id)


@router.get("/enforcement-actions/{id}", response_model=EnforcementActionOut, summary="One enforcement action")
async def get_enforcement_action(conn: Connection, id: RecordId):
    """An enforcement action with its site."""
    return await _read(conn, "enforcement_action", id)


@router.get("/accidents/{id}", response_model=AccidentOut, summary="One accident")
async def get_accident(conn: Connection, id: RecordId):
    """An accident with its point and the site it is attributed to, if known."""
    return await _read(conn, "accident", id)


@router.get("/inspections/{id}/history", response_model=History, summary="The history of an inspection")
async def inspection_history(conn: Connection, id: RecordId):
    """Every change of the inspection, oldest first: the rows before and after, when and who."""
    return await _history(conn, "inspection", id)


@router.get("/hidden-dangers/{id}/history", response_model=History, summary="The history of a hidden danger")
async def hidden_danger_history(conn: Connection, id: RecordId):
    """Every change of the hidden danger (each status change among them), oldest first: the rows before and
    after, when and who."""
    return await _history(conn, "hidden_danger", id)


@router.get("/enforcement-actions/{id}/history", response_model=History,
            summary="The history of an enforcement action")
async def enforcement_action_history(conn: Connection, id: RecordId):
    """Every change of the enforcement action, oldest first: the rows before and after, when and who."""
    return await _history(conn, "enforcement_action", id)


@router.get("/accidents/{id}/history", response_model=History, summary="The history of an accident")
async def accident_history(conn: Connection, id: RecordId):
    """Every change of the accident record, oldest first: the rows before and after, when and who."""
    return await _history(conn, "accident", id)


@router.get("/hidden-dangers/{id}/photos/{photo_id}", summary="A photo of a hidden danger",
            response_class=Response,
            responses={200: {"description": "The photo as stored, byte for byte.",
                             "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
async def get_photo(conn: Connection, id: RecordId,
                    photo_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The photo's id.")]):
    """The photo's bytes, with its content type (JPEG, PNG or WebP, as checked when it was added)."""
    content_type, data = await run_in_threadpool(store.read_photo, conn.raw(), id, photo_id)
    # a photo never changes: caches may keep it; nosniff: browsers take the checked type, not a guess
    return Response(data, media_type=content_type,
                    headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"})
