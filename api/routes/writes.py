"""Writes: POST /imports (a file upload), POST /features/{kind}, PATCH and DELETE /features/{kind}/{id}.

Every write needs an API key (api/access.py).  Uploads and single features go through the same importer as
``riskmap import``: the same validation, the same all-or-nothing rule and the same error report (a 422 whose
``report`` lists each bad row and field).  After a write the scores of the features it can affect, and the
areas around them, are brought up to date (an incremental ``riskmap score``), and the response says what was
re-scored.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from psycopg2 import sql
from pydantic import BaseModel, Field

from api.access import WriteAccess
from api.dependencies import Connection, RiskModel
from api.errors import body_error
from api.routes.features import MAX_ID
from geo.errors import Conflict, NotFound
from geo.importer import import_file
from geo.kinds import get_kind
from geo.risk.scoring import score

router = APIRouter(tags=["writes"], dependencies=[WriteAccess],
                   responses={401: {"description": "No API key (problem+json)."},
                              403: {"description": "The API key is not valid, or writes are disabled."},
                              413: {"description": "The request body is over the server's limit."},
                              422: {"description": "Bad input; for data, the import report of every bad row."}})

ImportKind = Literal["enterprise", "tailings_pond", "pipeline", "venue", "settlement", "area"]
EditKind = Literal["enterprise", "tailings_pond", "pipeline", "venue", "settlement"]
UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".csv")


class Scoring(BaseModel):
    full: bool
    scored: dict[str, int] = Field(description="Features re-scored, per class.")
    areas: int = Field(description="Area rows recomputed.")
    seconds: float


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


def _rescore(conn, model: dict) -> Scoring:
    s = score(conn, model)
    return Scoring(full=s.full, scored=s.scored, areas=s.areas, seconds=round(s.seconds, 3))


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
def post_import(
    conn: Connection,
    model: RiskModel,
    kind: Annotated[ImportKind, Form(description="The class of the features in the file.")],
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, zipped Shapefile or CSV.")],
    crs: Annotated[str | None, Form(description="The file's CRS when it has none: an EPSG code, gcj02 or "
                                                "bd09.")] = None,
    layer: Annotated[str | None, Form(description="The layer of a GeoPackage.")] = None,
    encoding: Annotated[str | None, Form(description="The text encoding of a CSV or Shapefile.")] = None,
):
    """Import every feature of the file, or none: one bad row rejects the whole file with a 422 whose
    ``report`` names each bad row, field and reason (as ``riskmap import`` does).  Known ids are updated (only
    the columns the file has).  Then the affected scores and areas are recomputed."""
    name = file.filename or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise body_error("file", f"{name!r}: unsupported file type {suffix or '(none)'}; expected one of "
                                 f"{', '.join(UPLOAD_SUFFIXES)} (a Shapefile as a .zip)")
    raw = conn.raw()
    with tempfile.TemporaryDirectory(prefix="riskmap-upload-") as d:
        path = Path(d) / f"upload{suffix}"
        with open(path, "wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        report = import_file(raw, path, kind, crs=crs, layer=layer, encoding=encoding, display_name=name)
    return ImportResult(report=report.as_dict(), scoring=_rescore(raw, model))


def _source_id(props: dict) -> str:
    sid = props.get("source_id", props.get("id"))
    if sid is None or str(sid).strip() == "":
        raise body_error("properties.source_id", "a feature needs its register id in properties.source_id")
    return str(sid).strip()


@router.post("/features/{kind}", response_model=WriteResult, status_code=201, summary="Add one feature",
             responses={409: {"description": "A feature with this source_id exists (use PATCH)."}})
def post_feature(conn: Connection, model: RiskModel,
                 kind: Annotated[EditKind, PathParam(description="Feature class.")], feature: FeatureIn):
    """Add one feature (a GeoJSON Feature); validated like an import row.  201 with its id and Location."""
    raw = conn.raw()
    sid = _source_id(feature.properties)
    if feature.geometry is None:
        raise body_error("geometry", "a new feature needs a geometry")
    if _id_of(raw, kind, sid) is not None:
        raise Conflict(f"a {kind} with source_id {sid!r} exists; change it with PATCH /features/{kind}/{{id}}")
    props = {**{k: v for k, v in feature.properties.items() if k != "id"}, "source_id": sid}
    _import_features(raw, kind, [{"type": "Feature", "geometry": feature.geometry, "properties": props}],
                     display_name="request body")
    new_id = _id_of(raw, kind, sid)
    href = f"/features/{kind}/{new_id}" if kind != "settlement" else None
    result = WriteResult(kind=kind, id=new_id, source_id=sid, href=href, scoring=_rescore(raw, model))
    return JSONResponse(result.model_dump(), status_code=201, headers={"Location": href} if href else None)


@router.patch("/features/{kind}/{id}", response_model=WriteResult, summary="Change one feature",
              responses={404: {"description": "No feature of this kind has this id."}})
def patch_feature(conn: Connection, model: RiskModel,
                  kind: Annotated[EditKind, PathParam(description="Feature class.")],
                  id: Annotated[int, PathParam(ge=1, le=MAX_ID, description="The feature's id.")],
                  feature: FeatureIn):
    """Change the given properties (and the geometry, if given) of one feature; the others stay as they are.
    Validated like an import row; the register id cannot be changed here."""
    raw = conn.raw()
    sid, stored, geometry = _lookup(raw, kind, id)
    given = feature.properties.get("source_id", feature.properties.get("id"))
    if given is not None and str(given).strip() != sid:
        raise body_error("properties.source_id", f"the register id cannot be changed (it is {sid!r})")
    if not feature.properties and feature.geometry is None:
        raise body_error("properties", "nothing to change: give properties and/or a geometry")
    # the importer needs the id, the name, the required attributes and a geometry: the stored ones unless given
    props = {**stored, **{k: v for k, v in feature.properties.items() if k != "id"}, "source_id": sid}
    _import_features(raw, kind, [{"type": "Feature", "geometry": feature.geometry or json.loads(geometry),
                                  "properties": props}], display_name="request body")
    href = f"/features/{kind}/{id}" if kind != "settlement" else None
    return WriteResult(kind=kind, id=id, source_id=sid, href=href, scoring=_rescore(raw, model))


@router.delete("/features/{kind}/{id}", response_model=WriteResult, summary="Delete one feature",
               responses={404: {"description": "No feature of this kind has this id."}})
def delete_feature(conn: Connection, model: RiskModel,
                   kind: Annotated[EditKind, PathParam(description="Feature class.")],
                   id: Annotated[int, PathParam(ge=1, le=MAX_ID, description="The feature's id.")]):
    """Delete one feature; the scores around it are recomputed."""
    raw = conn.raw()
    with raw.cursor() as cur:
        cur.execute(f"DELETE FROM {kind} WHERE id = %s RETURNING source_id", (id,))  # kind: a Literal
        row = cur.fetchone()
    if row is None:
        raw.rollback()
        raise NotFound(f"no {kind} with id {id}")
    raw.commit()
    return WriteResult(kind=kind, id=id, source_id=row[0], href=None, scoring=_rescore(raw, model))
