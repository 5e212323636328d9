"""GET /risks/near: the risks around a location, nearest first (issue 4, item 1)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import h3
import psycopg2.extensions
from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.access import Needs
from api.dependencies import Connection, RiskModel
from api.errors import field_error
from api.lanes import map_read
from api.routes import RISK_KINDS, Factor, GeoJSONResponse, Level, ewkt_point, execute_prepared, geojson, sql_text
from geo.risk.framework import LEVELS

router = APIRouter(dependencies=[Needs.viewer], tags=["risks"])

MIN_RADIUS_M = 0.01  # 1 cm: below it the search box underflows in floating point, and nothing is that close
MAX_RADIUS_M = 50_000.0
MAX_LIMIT = 1000


class Segment(BaseModel):
    id: int
    seq: int


class NearProperties(BaseModel):
    id: int
    source_id: str
    kind: Literal["enterprise", "tailings_pond", "pipeline", "venue"]
    name: str
    distance_m: float
    score: float | None
    level: Level | None
    direct_red: str | None
    top_factors: list[Factor]
    model_version: str | None  # the risk model version of the score
    segment: Segment | None  # pipelines: the nearest segment, whose risk is reported


class NearFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: NearProperties


class LevelCounts(BaseModel):
    red: int
    orange: int
    yellow: int
    blue: int
    unscored: int


class AdminArea(BaseModel):
    id: str
    name: str
    admin_level: str
    level: Level | None
    score: float | None


class H3Cell(BaseModel):
    id: str
    resolution: int
    level: Level | None
    score: float | None


class NearSummary(BaseModel):
    returned: int
    complete: bool  # False: `limit` features were returned and more may lie within the radius
    counts: LevelCounts  # of the features returned
    worst_level: Level | None
    exposure: float  # the exposure surface at the point (0 outside it)
    admin_area: AdminArea | None  # the smallest administrative area holding the point
    h3_cell: H3Cell  # the H3 cell holding the point, at the finest configured resolution


class NearCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[NearFeature]
    summary: NearSummary


def parse_kinds(kinds: str | None) -> list[str]:
    """The comma list of ``kinds`` (all risk kinds when empty); a 422 naming the first unknown one."""
    wanted = [k.strip() for k in (kinds or "").split(",") if k.strip()]
    for k in wanted:
        if k not in RISK_KINDS:
            raise field_error("kinds", f"unknown kind {k!r}; expected a comma list of: {', '.join(RISK_KINDS)}")
    return list(dict.fromkeys(wanted)) or list(RISK_KINDS)


@router.get("/risks/near", response_model=NearCollection, response_class=GeoJSONResponse,
            summary="Risks near a location")
@map_read
def risks_near(
    conn: Connection,
    model: RiskModel,
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="Longitude (WGS 84).")],
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="Latitude (WGS 84).")],
    radius_m: Annotated[float, Query(ge=MIN_RADIUS_M, le=MAX_RADIUS_M, allow_inf_nan=False,
                                     description="Search radius in metres (geodesic), from 1 cm.")] = 1000.0,
    kinds: Annotated[str | None, Query(description="Comma list of feature kinds: "
                                                   f"{', '.join(RISK_KINDS)} (default: all).")] = None,
    min_level: Annotated[Level | None, Query(description="Only features at this level or above.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many features.")] = 100,
):
    """The scored features within `radius_m` of the point, nearest first, with geodesic distances (WGS 84), their
    levels and top three factors, and a summary: counts per level of the features returned, the worst level, the
    exposure value at the point, and the admin area and H3 cell holding the point with their levels.  Pipelines
    count by their nearest segment (its distance, risk and geometry; the feature id is the pipeline's)."""
    return geojson(near_document(conn, model, lon, lat, radius_m, parse_kinds(kinds), min_level, limit))


def near_document(conn, model: dict, lon: float, lat: float, radius_m: float, kinds: list[str],
                  min_level: str | None, limit: int) -> bytes:
    """The GeoJSON document of the risks near a point, as UTF-8 bytes (for /risks/near and the feature page)."""
    resolution = max(int(r) for r in model["area"]["h3_resolutions"])
    params = {
        "pt": ewkt_point(lon, lat), "radius": radius_m, "kinds": kinds, "levels": list(LEVELS),
        "min_pos": LEVELS.index(min_level) + 1 if min_level else None, "limit": limit,
        "h3_cell": h3.latlng_to_cell(lat, lon, resolution), "h3_res": resolution,
    }
    with conn.cursor() as cur:
        psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cur)  # the document as UTF-8 bytes, passed on
        filtered = min_level is not None
        execute_prepared(cur, "riskmap_near_filtered" if filtered else "riskmap_near", near_query(filtered), params)
        return cur.fetchone()[0]


def near_query(level_filter: bool) -> str:
    """risks_near.sql for a request with or without a level filter: the first pass (the distance bound) is
    risks_near_bound.sql, merged KNN index scans, without one; risks_near_bound_by_level.sql, bounded by the
    radius first, with one (see the SQL files' headers)."""
    bound = sql_text("risks_near_bound_by_level" if level_filter else "risks_near_bound")
    return sql_text("risks_near").replace("{bound}", bound.strip())

