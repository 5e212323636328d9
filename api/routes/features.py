"""GET /features (paged GeoJSON) and GET /features/{kind}/{id} (one feature with its full explanation)."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Annotated, Any, Literal

import shapely.geometry
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from psycopg2 import sql
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.errors import field_error
from api.lanes import map_read
from api.routes import RISK_KINDS, Factor, GeoJSONResponse, Level, geojson, geojson_page, sql_for_table, sql_text
from api.routes.near import near_document
from geo.errors import NotFound
from geo.lists.timeline import site_timeline
from geo.risk.framework import LEVELS
from maps.basemaps import basemap
from maps.feature_page import feature_page

router = APIRouter(dependencies=[Needs.viewer], tags=["features"])

MAX_LIMIT = 1000
NEARBY_M, NEARBY_LIMIT = 1000.0, 100  # the feature page's map shows the risks within this distance
MAX_ID = 2**63 - 1  # bigint: a larger id cannot exist (and must not reach the database as an error)
Kind = Literal["enterprise", "tailings_pond", "pipeline", "venue"]


class FeatureProperties(BaseModel):
    id: int
    source_id: str
    kind: Kind
    name: str
    score: float | None
    level: Level | None
    direct_red: str | None


class PagedProperties(FeatureProperties):
    downstream_direction_deg: float | None = Field(None, description="Tailings ponds: the downstream direction "
                                                                     "(degrees from north).")
    venue_type: str | None = Field(None, description="Venues: the type (school, mall, ...).")


# the properties of a class, beyond the common ones, that /features pages carry (the map draws with them)
PAGE_PROPERTIES = {"tailings_pond": ("downstream_direction_deg",), "venue": ("venue_type",)}


class PagedFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: PagedProperties


class Link(BaseModel):
    rel: str
    href: str
    type: str


class FeaturePage(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[PagedFeature]
    numberReturned: int  # noqa: N815 (OGC API Features member name)
    next: str | None  # the next page, None on the last one
    links: list[Link]


class HCAGrade(BaseModel):
    """How much of a pipeline lies in one GB 32167 high-consequence-area grade."""

    grade: int = Field(ge=0, le=3, description="0 = not an HCA, 1 = Ⅰ, 2 = Ⅱ, 3 = Ⅲ (most severe).")
    segments: int = Field(description="Scored segments (about 1 km) in this grade.")
    km: float = Field(description="Their length in km (three decimals).")


class HCASegment(BaseModel):
    """One segment graded Ⅰ or above."""

    seq: int = Field(description="The segment's place along its pipeline, from 0 (as in /pipeline-segments).")
    grade: int = Field(ge=1, le=3)
    from_km: float = Field(description="Where it starts, km along the line from its start (chainage).")
    to_km: float = Field(description="Where it ends, km along the line.")
    km: float
    conditions: str | None = Field(description="The GB 32167 conditions met and the grade each gives.")
    assumed: bool = Field(description="The grade rests on a value missing from the register (a conservative "
                                      "one was used).")


class PipelineDetails(BaseModel):
    """A pipeline's details: its summary over all its segments.  The score, level and factors are those of its
    worst segment (highest level, then highest score); its high-consequence areas are counted over every
    segment, whichever scores highest."""

    segments: int
    red_segments: int
    length_km: float
    worst_segment: int = Field(description="The seq of the worst segment, whose score and factors these are.")
    worst_segment_details: dict[str, Any] = Field(description="That segment's own rule outputs (location class, "
                                                              "its HCA grade, impact distance, relative risk).")
    hca_grade: int = Field(ge=0, le=3, description="The highest HCA grade of any segment (0 = none).")
    hca_by_grade: list[HCAGrade] = Field(description="Per grade, worst first (3, 2, 1, 0).")
    hca_segments: list[HCASegment] = Field(description="The segments graded Ⅰ or above, in line order.")


# the register's column of a site's last inspection, for which inspection records stand in (as in scoring and plans)
REGISTER_INSPECTION = {"enterprise": "last_inspection", "tailings_pond": "last_inspection",
                       "venue": "last_fire_inspection", "pipeline": None}


class InspectionRecordRef(BaseModel):
    id: int
    source_id: str
    inspected_on: str = Field(description="YYYY-MM-DD")
    inspection_type: str
    outcome: str | None
    team: str | None


class LatestInspection(BaseModel):
    date: str = Field(description="The last inspection (YYYY-MM-DD): the latest inspection record that took place "
                                  "(outcome not not_inspected, on or before as_of) when it is later than the "
                                  "register's date, else the register's date.")
    source: Literal["record", "register"] = Field(description="Where the date comes from.")
    register_field: str | None = Field(description="The register's column (last_inspection; a venue's "
                                                   "last_fire_inspection; none for a pipeline).")
    register_date: str | None = Field(description="The register's date, if any.")
    record: InspectionRecordRef | None = Field(description="The latest inspection record that took place, if any "
                                                           "(also when older than the register's date).")


class ExplainedProperties(FeatureProperties):
    attributes: dict[str, Any]
    extra_properties: dict[str, Any]
    synthetic: bool
    updated_at: str
    model_version: str | None
    computed_at: str | None
    details: PipelineDetails | dict[str, Any] | None = Field(
        description="The rule's outputs (S and R, the pond grade, ...); for a pipeline its summary over all its "
                    "segments, with its high-consequence areas.")
    factors: list[Factor]
    latest_inspection: LatestInspection | None = Field(
        None, description="The site's last inspection and its source; null: neither the register nor the records "
                          "hold one.")


class ExplainedFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: ExplainedProperties


def parse_bbox(bbox: str | None) -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` in WGS 84 degrees; a 422 naming ``bbox`` when malformed or out of range."""
    if bbox is None:
        return None
    parts = bbox.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise field_error("bbox", f"expected four numbers minx,miny,maxx,maxy; got {bbox!r}") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise field_error("bbox", f"expected four finite numbers minx,miny,maxx,maxy; got {bbox!r}")
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise field_error("bbox", f"longitudes must lie in [-180, 180] and latitudes in [-90, 90]; got {bbox!r}")
    if not (x0 < x1 and y0 < y1):
        raise field_error("bbox", f"minx must be below maxx and miny below maxy; got {bbox!r}")
    return x0, y0, x1, y1


def parse_levels(level: str | None) -> list[str] | None:
    """A comma list of levels; a 422 naming ``level`` for an unknown one."""
    wanted = [v.strip() for v in (level or "").split(",") if v.strip()]
    for v in wanted:
        if v not in LEVELS:
            raise field_error("level", f"unknown level {v!r}; expected a comma list of: {', '.join(LEVELS)}")
    return wanted or None


@router.get("/features", response_model=FeaturePage, response_class=GeoJSONResponse, summary="Features, paged")
@map_read
def list_features(
    request: Request,
    conn: Connection,
    kind: Annotated[Kind, Query(description="Feature class.")],
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (WGS 84 degrees).",
                                      examples=["118.0,39.5,118.5,39.8"])] = None,
    level: Annotated[str | None, Query(description="Comma list of levels (blue, yellow, orange, red).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 100,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Return features with ids above this one "
                                                                    "(from the `next` link).")] = None,
):
    """One page of features of one class in id order, with their score and level; follow `next` for the rest."""
    box = parse_bbox(bbox)
    x0, y0, x1, y1 = box or (None, None, None, None)
    params = {"kind": kind, "after": after, "nobox": box is None, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
              "levels": parse_levels(level), "limit": limit}
    extra = sql.SQL("").join(sql.SQL(", {}, f.{}").format(sql.Literal(c), sql.Identifier(c))
                             for c in PAGE_PROPERTIES.get(kind, ()))
    query = sql.SQL(sql_text("features_page")).format(table=sql.Identifier(kind), extra=extra)
    with conn.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall()
    return geojson_page(request, rows, limit)


@router.get("/features/{kind}/{id}", response_model=ExplainedFeature, response_class=GeoJSONResponse,
            summary="One feature with the explanation of its score",
            responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}},
                       404: {"description": "No feature of this kind has this id (problem+json)."}})
@map_read
def feature_detail(
    request: Request,
    conn: Connection,
    kind: Annotated[Kind, Path(description="Feature class.")],
    id: Annotated[int, Path(ge=1, le=MAX_ID, description="The feature's id.")],
    format: Annotated[Literal["geojson", "html"] | None, Query(
        description="geojson, or html for the feature's page (the map around it and the factor table); by "
                    "default html for a browser (Accept: text/html), else geojson.")] = None,
    lang: Annotated[Literal["zh", "en"], Query(description="The page's language (html only).")] = "zh",
    as_of: Annotated[dt.date | None, Query(description="The date the page judges its hidden dangers overdue on, "
                                                       "and the last inspection is read as of (inspection records "
                                                       "dated later do not count); default: today.")] = None,
):
    """The feature, its attributes, score, level, direct-red reason and every factor of its score (value,
    points, whether assumed, and the factor's title, source and unit), plus the rule details.  Its page also
    shows the site's records on a timeline: inspections, hidden dangers with their status history, enforcement
    actions and accidents, newest first."""
    as_of = as_of or dt.date.today()
    params = detail_params(kind, id, as_of)
    with conn.cursor() as cur:
        cur.execute(sql_for_table("feature_detail", kind), params)
        row = cur.fetchone()
    if row is None:
        raise NotFound(f"no {kind} with id {id}")
    if format == "html" or (format is None and wants_html(request)):
        settings = request.app.state.settings
        feature = json.loads(row[0])
        centre = shapely.geometry.shape(feature["geometry"]).representative_point()
        nearby = json.loads(near_document(conn, request.app.state.model, centre.x, centre.y, NEARBY_M, list(RISK_KINDS),
                                          None, NEARBY_LIMIT))
        hca_lines = pipeline_hca_lines(conn, feature) if kind == "pipeline" else None
        timeline = site_timeline(conn, kind, id, as_of)
        page = feature_page(feature, basemap(settings.basemap, settings.basemap_key), lang, nearby=nearby,
                            hca_lines=hca_lines, timeline=timeline)
        return HTMLResponse(page)
    return geojson(row[0])


def detail_params(kind: str, id: int, as_of: dt.date) -> dict:
    """The parameters of api/sql/feature_detail.sql for one feature, its last inspection read as of ``as_of``."""
    return {"kind": kind, "id": id, "factor_kind": "pipeline_segment" if kind == "pipeline" else kind,
            "register": REGISTER_INSPECTION[kind], "as_of": as_of}


def pipeline_hca_lines(conn, feature: dict) -> list[dict]:
    """The lines of a pipeline's HCA segments (GeoJSON Features with their seq), for its page's map."""
    p = feature["properties"]
    seqs = [s["seq"] for s in (p.get("details") or {}).get("hca_segments") or []]
    if not seqs:
        return []
    with conn.cursor() as cur:
        cur.execute(sql_text("pipeline_hca_lines"), {"id": p["id"], "seqs": seqs})
        return [json.loads(row[0]) for row in cur.fetchall()]


def wants_html(request: Request) -> bool:
    """Whether the client asked for HTML before JSON (a browser following a link)."""
    accept = request.headers.get("accept", "")
    html_at = accept.find("text/html")
    json_at = min((i for i in (accept.find("application/json"), accept.find("application/geo+json")) if i >= 0),
                  default=-1)
    return html_at >= 0 and (json_at < 0 or html_at < json_at)


class SegmentProperties(BaseModel):
    id: int
    pipeline_id: int
    name: str = Field(description="The pipeline's name.")
    seq: int = Field(description="The segment's place along its pipeline, from 0.")
    length_m: float
    score: float | None
    level: Level | None
    direct_red: str | None


class SegmentFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: SegmentProperties


class SegmentPage(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[SegmentFeature]
    numberReturned: int  # noqa: N815 (OGC API Features member name)
    next: str | None
    links: list[Link]


@router.get("/pipeline-segments", response_model=SegmentPage, response_class=GeoJSONResponse,
            summary="Pipeline segments with their risk, paged")
@map_read
def list_pipeline_segments(
    request: Request,
    conn: Connection,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (WGS 84 degrees).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 100,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Return segments with ids above this one "
                                                                    "(from the `next` link).")] = None,
):
    """The pipelines cut into the segments they are scored by (about 1 km), each with its score and level: a
    pipeline's risk changes along its length (location class, people and venues nearby)."""
    box = parse_bbox(bbox)
    x0, y0, x1, y1 = box or (None, None, None, None)
    params = {"after": after, "nobox": box is None, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "limit": limit}
    with conn.cursor() as cur:
        cur.execute(sql_text("pipeline_segments_page"), params)
        rows = cur.fetchall()
    return geojson_page(request, rows, limit)
