"""GET /level-changes (each scored site's level on a date and now, for a box, in pages of GeoJSON) and GET
/level-changes/areas (the sites that went up, down, stayed or are new since the date, counted per admin area): the
main map's "change since" view.  The rule and the query are geo/risk/level_change.py; this module parses the
request and serialises the answer."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.routes import GEOJSON, GeoJSONResponse, Level
from api.routes.features import Kind, Link, parse_bbox
from geo.dates import not_ahead
from geo.risk.level_change import ChangeFilter, level_change_counts, level_change_page, parse_page_key

router = APIRouter(dependencies=[Needs.viewer], tags=["history"])

MAX_LIMIT = 1000
ADMIN_CODE = r"^[0-9A-Za-z]{1,32}$"
Change = Literal["up", "down", "same", "new"]


class SiteChange(BaseModel):
    kind: Kind
    id: int
    name: str
    change: Change = Field(description="up: a worse level now than on `since` (blue < yellow < orange < red); "
                                       "down: a better one; same; new: no level on `since` (scored only later).")
    level_then: Level | None = Field(description="The level on `since`: that of the site's last score-history "
                                                 "entry as of that day or before; null when it had none.")
    score_then: float | None
    then_as_of: dt.date | None = Field(description="The date of that entry (the run that last changed the score "
                                                   "before `since`).")
    level_now: Level
    score_now: float


class SiteChangeFeature(BaseModel):
    type: Literal["Feature"]
    id: str = Field(description='"<kind>.<id>", e.g. "enterprise.17".')
    geometry: dict[str, Any] = Field(description="The site's point on surface (a pipeline: a point on its line).")
    properties: SiteChange


class SiteChangePage(BaseModel):
    type: Literal["FeatureCollection"]
    since: dt.date
    features: list[SiteChangeFeature]
    numberReturned: int  # noqa: N815 (OGC API Features member name)
    next: str | None = Field(description="The next page (with after=), null on the last one.")
    links: list[Link]


class AreaChange(BaseModel):
    admin_code: str
    name: str
    up: int = Field(description="Sites at a worse level now than on `since`.")
    down: int = Field(description="Sites at a better level now.")
    same: int = Field(description="Sites at the same level.")
    new: int = Field(description="Sites with no level on `since` (scored only later).")


class AreaChangeFeature(BaseModel):
    type: Literal["Feature"]
    id: str = Field(description='"admin:<code>".')
    geometry: dict[str, Any] = Field(description="A point on the area's surface (where the map puts its counts).")
    properties: AreaChange


class AreaChangeCollection(BaseModel):
    type: Literal["FeatureCollection"]
    since: dt.date
    area_level: str
    features: list[AreaChangeFeature]
    totals: dict[str, int] = Field(description="The counts of every area listed, added up.")


Since = Annotated[dt.date, Query(description="The date the levels are compared with (YYYY-MM-DD).",
                                 examples=["2026-09-01"])]
KindQ = Annotated[str | None, Query(description="Comma list of site kinds: enterprise, tailings_pond, pipeline, "
                                                "venue (default: all).")]
Area = Annotated[str | None, Query(pattern=ADMIN_CODE, description="An admin code: the sites whose point on "
                                   "surface lies in that area.", examples=["130203"])]
BBox = Annotated[str | None, Query(description="minx,miny,maxx,maxy (WGS 84 degrees).",
                                   examples=["118.0,39.5,118.5,39.8"])]


def _comma(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] or None if value else None


def change_filter(since: dt.date, kind: str | None, area: str | None, bbox: str | None,
                  change: str | None = None) -> ChangeFilter:
    """The filter of the query parameters (a bad value is a FieldError: a 422 naming the parameter; a ``since``
    after today is one)."""
    not_ahead(since, "since", dt.date.today())
    return ChangeFilter(since=since, kinds=_comma(kind), area=area, bbox=parse_bbox(bbox), changes=_comma(change))


def _json(doc: dict) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=dt.date.isoformat),
                    media_type=GEOJSON)


@router.get(
    "/level-changes", response_model=SiteChangePage, response_class=GeoJSONResponse,
    summary="Change in level since a date",
    responses={404: {"description": "Unknown area (problem+json)."},
               422: {"description": "A bad date, filter or page key (problem+json naming the parameter)."}})
def level_changes(
    request: Request, conn: Connection, since: Since, kind: KindQ = None, area: Area = None, bbox: BBox = None,
    change: Annotated[str | None, Query(description="Comma list of changes to keep: up, down, same, new "
                                                    "(default: all).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 1000,
    after: Annotated[str | None, Query(max_length=40, description="The page key of the next link (kind.id).")] = None,
):
    """Each site scored now (in the box, of the kinds, in the area) with its level on `since` and now: its level
    then is that of its last score-history entry as of `since` or before (none: scored only later), its level now
    the stored one; `change` says whether it went up, down, stayed or is new.  In (kind, id) order, in keyset
    pages (`next`); the geometry is the site's point on surface."""
    flt = change_filter(since, kind, area, bbox, change)
    key = parse_page_key(after) if after is not None else None
    rows, next_key = level_change_page(conn, flt, limit, key)
    features = [{"type": "Feature", "id": f"{r['kind']}.{r['id']}",
                 "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                 "properties": {k: r[k] for k in SiteChange.model_fields}} for r in rows]
    next_url = str(request.url.include_query_params(after=f"{next_key[0]}.{next_key[1]}")) if next_key else None
    links = [{"rel": "self", "href": str(request.url), "type": GEOJSON}]
    if next_url:
        links.append({"rel": "next", "href": next_url, "type": GEOJSON})
    return _json({"type": "FeatureCollection", "since": flt.since, "features": features,
                  "numberReturned": len(features), "next": next_url, "links": links})


@router.get(
    "/level-changes/areas", response_model=AreaChangeCollection, response_class=GeoJSONResponse,
    summary="Change in level since a date, counted per admin area",
    responses={404: {"description": "Unknown area (problem+json)."},
               422: {"description": "A bad date or filter (problem+json naming the parameter)."}})
def level_changes_per_area(
    conn: Connection, since: Since, kind: KindQ = None, area: Area = None, bbox: BBox = None,
    area_level: Annotated[Literal["province", "city", "county", "township"],
                          Query(description="The admin level to count by.")] = "county",
):
    """The sites of GET /level-changes counted per admin area of `area_level` (the area holding the site's point
    on surface, as the area risk places it): how many went up, down, stayed and are new since `since`.  With a
    box, the areas that meet it, each counted whole; with `area`, the sites inside that area.  The geometry is a
    point on the area's surface."""
    flt = change_filter(since, kind, area, bbox)
    rows = level_change_counts(conn, flt, area_level)
    features = [{"type": "Feature", "id": f"admin:{r['admin_code']}",
                 "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                 "properties": {k: r[k] for k in AreaChange.model_fields}} for r in rows]
    totals = {c: sum(r[c] for r in rows) for c in ("up", "down", "same", "new")}
    return _json({"type": "FeatureCollection", "since": flt.since, "area_level": area_level,
                  "features": features, "totals": totals})
