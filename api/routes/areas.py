"""GET /areas (paged GeoJSON of the area risk at one admin level or H3 resolution) and GET /areas/{id} (one area).

Area risk is stored per admin area (province, city, county, township; ``area_id`` = admin code) and per H3 cell
(at each configured resolution; ``area_id`` = cell index), in ``area_risk``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import h3
from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection, RiskModel
from api.errors import field_error
from api.lanes import map_read
from api.routes import GeoJSONResponse, Level, geojson, geojson_page_text, sql_text
from api.routes.features import Link, parse_bbox, parse_levels
from api.shared_pages import data_version
from geo.errors import NotFound
from geo.risk.aggregate import ADMIN_LEVEL_RES

router = APIRouter(dependencies=[Needs.viewer], tags=["areas"])

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
MAX_ID_LENGTH = 32
AREA_ID_PATTERN = rf"^[0-9a-fA-F]{{1,{MAX_ID_LENGTH}}}$"  # admin codes are digits, H3 cell indexes hex digits
ADMIN_LEVELS = tuple(sorted(ADMIN_LEVEL_RES, key=ADMIN_LEVEL_RES.get))  # province, city, county, township
H3_LEVEL = re.compile(r"h3:([0-9]{1,2})", re.ASCII)


class AreaProperties(BaseModel):
    area_id: str = Field(description="Admin code, or H3 cell index.")
    area_type: Literal["admin", "h3"]
    resolution: int = Field(description="H3 resolution; for admin areas 1 province, 2 city, 3 county, 4 township.")
    area_level: str = Field(description="province, city, county, township, or h3:<resolution>.")
    name: str | None = Field(description="The admin area's name; null for H3 cells.")
    score: float = Field(description="Aggregate score 0–100 (2 decimals).")
    level: Level = Field(description="The area's risk level, by the model's area rule.")
    level_max: Level = Field(description="The highest level of any feature inside.")
    level_banded: Level = Field(description="The aggregate score banded into a level.")
    counts: dict[str, dict[str, int]] = Field(description='Features per class and level, e.g. '
                                                          '{"enterprise": {"red": 1, "blue": 4}}.')
    features: int = Field(description="Scored features inside.")
    population_exposed: float = Field(description="Residents of the area near an orange or red feature.")
    model_version: str


class AreaFeature(BaseModel):
    type: Literal["Feature"]
    id: str = Field(description='"<area_type>:<area_id>", e.g. "admin:130202".')
    geometry: dict[str, Any]
    properties: AreaProperties


class AreaPage(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[AreaFeature]
    numberReturned: int  # noqa: N815 (OGC API Features member name)
    next: str | None  # the next page, None on the last one
    links: list[Link]


def parse_area_level(level: str, resolutions: list[int]) -> tuple[str, int, str]:
    """(area_type, resolution, normalised level) of an area level: an admin level name or ``h3:N`` with N one of
    the configured ``resolutions``; a 422 naming ``level`` otherwise."""
    text = level.strip()
    if text in ADMIN_LEVEL_RES:
        return "admin", ADMIN_LEVEL_RES[text], text
    expected = f"{', '.join(ADMIN_LEVELS)}, or h3:N with N one of {', '.join(map(str, resolutions))}"
    m = H3_LEVEL.fullmatch(text)
    if m is None:
        raise field_error("level", f"unknown area level {level!r}; expected {expected}")
    resolution = int(m.group(1))
    if resolution not in resolutions:
        raise field_error("level", f"H3 resolution {resolution} is not configured; expected {expected}")
    return "h3", resolution, f"h3:{resolution}"


def parse_risk_levels(risk_level: str | None) -> list[str] | None:
    """A comma list of risk levels (``parse_levels``), its 422 naming ``risk_level``."""
    try:
        return parse_levels(risk_level)
    except RequestValidationError as e:
        raise field_error("risk_level", e.errors()[0]["msg"]) from None


def h3_cell(area_id: str) -> tuple[int, str] | None:
    """(resolution, canonical index) when ``area_id`` is a valid H3 cell index, else None."""
    if len(area_id) > 16:  # 64 bits
        return None
    try:
        if not h3.is_valid_cell(area_id):
            return None
        cell = h3.int_to_str(h3.str_to_int(area_id))  # lower case, no leading zeros: as stored
        return h3.get_resolution(cell), cell
    except (ValueError, OverflowError, h3.H3BaseException):
        return None


def page_params(model: dict, level: str, bbox: str | None, risk_level: str | None, limit: int,
                after: str | None) -> dict[str, Any]:
    """The parameters of areas_page.sql and areas_page_h3.sql for a request of GET /areas (a 422 for a bad level,
    box or risk level)."""
    area_type, resolution, area_level = parse_area_level(level, [int(r) for r in model["area"]["h3_resolutions"]])
    box = parse_bbox(bbox)
    x0, y0, x1, y1 = box or (None, None, None, None)
    return {"area_type": area_type, "resolution": resolution, "area_level": area_level,
            "after": after.lower() if after is not None and area_type == "h3" else after,
            "nobox": box is None, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
            "levels": parse_risk_levels(risk_level), "limit": limit}


@router.get("/areas", response_model=AreaPage, response_class=GeoJSONResponse,
            summary="Area risk at one admin level or H3 resolution, paged")
@map_read
def list_areas(
    request: Request,
    conn: Connection,
    model: RiskModel,
    level: Annotated[str, Query(description="Area level: province, city, county, township, or h3:N with N one of "
                                            "the configured H3 resolutions (5 to 9 by default).",
                                examples=["county", "h3:7"])],
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (WGS 84 degrees): areas intersecting it.",
                                      examples=["118.0,39.5,118.5,39.8"])] = None,
    risk_level: Annotated[str | None, Query(description="Comma list of risk levels (blue, yellow, orange, red).",
                                            examples=["red,orange"])] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = DEFAULT_LIMIT,
    after: Annotated[str | None, Query(pattern=AREA_ID_PATTERN, description="Return areas whose area_id sorts "
                                                                            "after this one (from the `next` "
                                                                            "link).")] = None,
):
    """One page of the areas of one level, in area_id order, with their aggregate score, risk level (and both
    candidate levels), feature counts per class and level, exposed population and, for admin areas, name;
    follow `next` for the rest.  Only areas holding a scored feature have an area risk."""
    params = page_params(model, level, bbox, risk_level, limit, after)

    def read() -> bytes:
        with conn.cursor() as cur:
            # H3 cells serve their stored Features (areas_page_h3.sql); admin areas are built with their names
            cur.execute(sql_text("areas_page_h3" if params["area_type"] == "h3" else "areas_page"), params)
            rows = cur.fetchall()
        return geojson_page_text(request, rows, limit).encode()

    if params["area_type"] == "h3":  # a view's cells: hardly ever the same page twice
        return geojson(read())
    # admin areas: the map asks for the same few pages (every county of the region) again and again
    areas = tuple(sorted(request.state.principal.areas))
    key = ("areas", str(request.url), areas, data_version(conn))
    return geojson(request.app.state.shared_pages.get(key, read))


@router.get("/areas/", include_in_schema=False)
def area_without_id():
    """``/areas/`` names no area: a 422 naming ``id`` (rather than a redirect to ``/areas``, which needs a level)."""
    raise RequestValidationError([{"type": "value_error", "loc": ("path", "id"),
                                   "msg": "expected an admin code or an H3 cell index; got an empty id"}])


@router.get("/areas/{id}", response_model=AreaFeature, response_class=GeoJSONResponse,
            summary="One area's risk (admin area or H3 cell)",
            responses={404: {"description": "No area risk for this id (problem+json)."}})
@map_read
def area_detail(
    conn: Connection,
    id: Annotated[str, Path(pattern=AREA_ID_PATTERN, description="An admin code (e.g. 130202) or an H3 cell index "
                                                                 "(hex, e.g. 89309a6b66bffff).")],
):
    """The risk of one admin area or H3 cell: aggregate score, risk level (and both candidate levels), feature
    counts per class and level, exposed population, its level (`area_level`) and, for admin areas, name."""
    cell = h3_cell(id)
    params = {"id": id, "h3_res": cell[0] if cell else None, "h3_cell": cell[1] if cell else None,
              "admin_levels": list(ADMIN_LEVELS)}
    with conn.cursor() as cur:
        cur.execute(sql_text("areas_detail"), params)
        row = cur.fetchone()
    if row is None:
        raise NotFound(f"no area risk for area id {id!r} (an admin code or H3 cell index)")
    return geojson(row[0])
