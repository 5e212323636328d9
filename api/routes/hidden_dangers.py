"""GET /hidden-dangers (the hidden dangers, filtered, overdue first, in pages; JSON, GeoJSON, CSV or XLSX) and GET
/hidden-dangers/summary (their counts per area).  The lists themselves are geo/lists/hidden_dangers.py; this
module parses the request and serialises the answer (spreadsheets through the one formula-safe writer of
api/routes/risk_list.py)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.errors import field_error
from api.routes import GEOJSON, Level
from api.routes.features import Kind, Link, parse_bbox
from api.routes.risk_list import CSV, XLSX, County, attachment, csv_bytes, negotiate, xlsx_bytes
from geo.lists.hidden_dangers import (
    DangerFilter,
    DangerPageKey,
    FilterError,
    danger_item,
    danger_page,
    danger_rows,
    danger_summary,
)

router = APIRouter(dependencies=[Needs.viewer], tags=["hidden-dangers"])

ADMIN_CODE = r"^[0-9A-Za-z]{1,32}$"
MAX_LIMIT = 1000
MAX_SPREADSHEET_ROWS = 100_000  # a spreadsheet holds the whole list; past this, narrow the filters or page the JSON
Format = Literal["json", "geojson", "csv", "xlsx"]
Status = Literal["open", "rectified", "verified", "reopened"]
Grade = Literal["general", "major"]

# The spreadsheet columns (a row of geo/lists/sql/danger_rows.sql each), in order.
COLUMNS = ("id", "source_id", "site_kind", "site_id", "site_source_id", "site_name", "site_level", "site_score",
           "county_code", "county_name", "description", "category", "grade", "status", "found_on", "deadline",
           "overdue", "days_overdue", "responsible_unit", "responsible_person", "measures", "status_changed_on",
           "rectified_on", "verified_on", "reopened_on", "inspection_id", "lon", "lat", "synthetic")
DATE_COLUMNS = ("found_on", "deadline", "status_changed_on", "rectified_on", "verified_on", "reopened_on")
SUMMARY_COLUMNS = ("admin_code", "name", "total", "open", "overdue", "major")


class DangerSite(BaseModel):
    kind: Kind
    id: int
    source_id: str | None = Field(description="Null when the site no longer exists (the record outlives it).")
    name: str | None
    level: Level | None = Field(description="The site's risk level; null when unscored.")
    score: float | None


class HiddenDanger(BaseModel):
    id: int
    source_id: str
    site: DangerSite
    county: County | None = Field(description="The county holding the site's point on surface.")
    inspection_id: int | None
    description: str
    category: str | None
    grade: Grade
    status: Status
    found_on: dt.date
    deadline: dt.date | None = Field(description="The rectification deadline.")
    overdue: bool = Field(description="On as_of: past the deadline (the deadline is before as_of) and open or "
                                      "reopened.")
    days_overdue: int | None = Field(description="Days past the deadline on as_of when overdue, else null.")
    responsible_unit: str | None
    responsible_person: str | None
    measures: str | None = Field(description="The rectification measures (整改措施).")
    status_changed_on: dt.date
    rectified_on: dt.date | None
    verified_on: dt.date | None
    reopened_on: dt.date | None
    synthetic: bool
    lon: float | None = Field(description="The site's point on surface (WGS 84); null when the site is gone.")
    lat: float | None


class DangerPage(BaseModel):
    as_of: dt.date = Field(description="The date the list is as of: the dangers found by then, each with its "
                                       "status on that day, overdue judged on it.")
    items: list[HiddenDanger]
    numberReturned: int  # noqa: N815 (OGC API Features member name)
    next: str | None = Field(description="The next page (with after= and the same as_of), null on the last one.")
    links: list[Link]


class AreaCounts(BaseModel):
    admin_code: str | None = Field(description="Null: the dangers whose site lies in no area of that level.")
    name: str | None
    total: int
    open: int = Field(description="Open or reopened.")
    overdue: int
    major: int = Field(description="Open or reopened major hidden dangers (重大事故隐患).")


class DangerSummary(BaseModel):
    as_of: dt.date
    area_level: str
    areas: list[AreaCounts]
    totals: AreaCounts


def _comma(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] or None if value else None


def danger_filter(as_of: dt.date | None, area: str | None, kind: str | None, level: str | None,
                  status: str | None, grade: str | None, overdue: bool | None, found_from: dt.date | None,
                  found_to: dt.date | None, bbox: str | None) -> DangerFilter:
    """The filter of the query parameters; a 422 naming the parameter for a bad one."""
    try:
        return DangerFilter(as_of=as_of or dt.date.today(), area=area, kinds=_comma(kind), levels=_comma(level),
                            statuses=_comma(status), grades=_comma(grade), overdue=overdue, found_from=found_from,
                            found_to=found_to, bbox=parse_bbox(bbox))
    except FilterError as e:
        raise field_error(e.field, e.message) from None


# The filter parameters shared by the list and the summary.
AsOf = Annotated[dt.date | None, Query(description="The list as of this date: the dangers found by then, each with "
                                                   "its status of that day, overdue judged on it (default: today, "
                                                   "the server's date); the next links repeat it.",
                                       examples=["2026-06-12"])]
Area = Annotated[str | None, Query(pattern=ADMIN_CODE, description="An admin code (province, city or county): the "
                                   "dangers whose site's point on surface lies in that area.", examples=["130203"])]
KindQ = Annotated[str | None, Query(description="Comma list of site kinds: enterprise, tailings_pond, pipeline, "
                                                "venue.")]
LevelQ = Annotated[str | None, Query(description="Comma list of the site's risk levels: red, orange, yellow, blue.")]
StatusQ = Annotated[str | None, Query(description="Comma list of statuses: open, rectified, verified, reopened.")]
GradeQ = Annotated[str | None, Query(description="Comma list of grades: general (一般), major (重大).")]
OverdueQ = Annotated[bool | None, Query(description="true: only the overdue; false: only the others.")]
FoundFrom = Annotated[dt.date | None, Query(description="Found on or after this date.")]
FoundTo = Annotated[dt.date | None, Query(description="Found on or before this date.")]
BBox = Annotated[str | None, Query(description="minx,miny,maxx,maxy (WGS 84): the site's point lies inside.")]
FormatQ = Annotated[Format | None, Query(description="json, geojson, csv or xlsx; without it the Accept header "
                                                     "decides (text/csv, the XLSX media type), else JSON.")]
Accept = Annotated[str | None, Header(include_in_schema=False)]


@router.get(
    "/hidden-dangers", response_model=DangerPage, summary="Hidden dangers (隐患), overdue first",
    responses={200: {"description": "A page as JSON (below) or GeoJSON (the site's point as the geometry); CSV and "
                                    "XLSX hold the whole list.",
                     "content": {GEOJSON: {"schema": {"type": "object"}}, CSV: {"schema": {"type": "string"}},
                                 XLSX: {"schema": {"type": "string", "format": "binary"}}}},
               404: {"description": "Unknown area (problem+json)."},
               422: {"description": "A bad filter, page key or format (problem+json naming the parameter)."}})
def list_hidden_dangers(
    request: Request, response: Response, conn: Connection, as_of: AsOf = None, area: Area = None,
    kind: KindQ = None,
    level: LevelQ = None, status: StatusQ = None, grade: GradeQ = None, overdue: OverdueQ = None,
    found_from: FoundFrom = None, found_to: FoundTo = None, bbox: BBox = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (JSON and GeoJSON).")] = 100,
    after: Annotated[str | None, Query(max_length=40, description="The page key of the next link.")] = None,
    format: FormatQ = None, accept: Accept = None,
):
    """The hidden dangers matching every filter given, overdue ones first (longest overdue first), then by
    deadline (soonest first, none last), then by id; each with its site (kind, id, name, risk level and score),
    the county holding the site's point, whether it is overdue on `as_of` and by how many days.

    JSON and GeoJSON come in keyset pages (`next`); CSV (UTF-8 with BOM) and XLSX hold the whole list (at most
    100,000 rows), for spreadsheets: no text cell can start a formula (a leading `'` is added)."""
    flt = danger_filter(as_of, area, kind, level, status, grade, overdue, found_from, found_to, bbox)
    fmt: Format = format or negotiate(accept)
    if fmt in ("csv", "xlsx"):
        if after is not None:
            raise field_error("after", "CSV and XLSX hold the whole list: they have no pages")
        rows = danger_rows(conn, flt, MAX_SPREADSHEET_ROWS + 1)
        if len(rows) > MAX_SPREADSHEET_ROWS:
            raise field_error("format", f"more than {MAX_SPREADSHEET_ROWS:,} hidden dangers match: narrow the list "
                                        "(area, status, found dates) or page through the JSON")
        cells = ([r[c] for c in COLUMNS] for r in rows)
        if fmt == "csv":
            return attachment(csv_bytes(COLUMNS, cells), f"{CSV}; charset=utf-8", "hidden-dangers.csv")
        return attachment(xlsx_bytes(COLUMNS, cells, "hidden-dangers", {c: "yyyy-mm-dd" for c in DATE_COLUMNS}),
                          XLSX, "hidden-dangers.xlsx")
    try:
        key = DangerPageKey.parse(after) if after is not None else None
    except FilterError as e:
        raise field_error(e.field, e.message) from None
    rows, next_key = danger_page(conn, flt, limit, key)
    items = [danger_item(r) for r in rows]
    self_type = GEOJSON if fmt == "geojson" else "application/json"
    next_url = (str(request.url.include_query_params(after=next_key.text(), as_of=flt.as_of.isoformat()))
                if next_key else None)
    links = [{"rel": "self", "href": str(request.url), "type": self_type}]
    if next_url:
        links.append({"rel": "next", "href": next_url, "type": self_type})
    paging = {"numberReturned": len(items), "next": next_url, "links": links}
    if fmt == "geojson":
        # serialised here (dates as ISO text): FastAPI's generic encoder took most of the time of a 1,000-row page
        doc = {"type": "FeatureCollection", "as_of": flt.as_of, "features": [_feature(it) for it in items], **paging}
        return Response(json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=dt.date.isoformat),
                        media_type=GEOJSON,
                        headers={"Vary": "Accept"})
    response.headers["Vary"] = "Accept"
    return {"as_of": flt.as_of, "items": items, **paging}


def _feature(item: dict) -> dict[str, Any]:
    """A danger as a GeoJSON Feature: its site's point as the geometry (null when the site is gone)."""
    props = {k: v for k, v in item.items() if k not in ("lon", "lat")}
    geometry = ({"type": "Point", "coordinates": [item["lon"], item["lat"]]} if item["lon"] is not None else None)
    return {"type": "Feature", "id": f"hidden_danger.{item['id']}", "geometry": geometry, "properties": props}


@router.get(
    "/hidden-dangers/summary", response_model=DangerSummary, summary="Hidden dangers counted per area",
    responses={200: {"content": {CSV: {"schema": {"type": "string"}},
                                 XLSX: {"schema": {"type": "string", "format": "binary"}}}},
               404: {"description": "Unknown area (problem+json)."},
               422: {"description": "A bad filter or format (problem+json naming the parameter)."}})
def hidden_danger_summary(
    conn: Connection, as_of: AsOf = None, area: Area = None, kind: KindQ = None, level: LevelQ = None,
    status: StatusQ = None, grade: GradeQ = None, overdue: OverdueQ = None, found_from: FoundFrom = None,
    found_to: FoundTo = None, bbox: BBox = None,
    area_level: Annotated[Literal["province", "city", "county", "township"],
                          Query(description="The admin level to count by.")] = "county",
    format: Annotated[Literal["json", "csv", "xlsx"] | None, Query(description="json, csv or xlsx.")] = None,
    accept: Accept = None,
):
    """The hidden dangers matching the same filters as GET /hidden-dangers, counted per admin area of
    `area_level` (the area holding the site's point): all, open (open or reopened), overdue on `as_of`, and open
    major ones; with `area`, the areas inside it.  A last row with a null code counts the dangers whose site lies
    in no area of that level."""
    flt = danger_filter(as_of, area, kind, level, status, grade, overdue, found_from, found_to, bbox)
    rows = danger_summary(conn, flt, area_level)
    fmt = format or negotiate(accept)
    if fmt == "csv":
        return attachment(csv_bytes(SUMMARY_COLUMNS, ([r[c] for c in SUMMARY_COLUMNS] for r in rows)),
                          f"{CSV}; charset=utf-8", "hidden-dangers-summary.csv")
    if fmt == "xlsx":
        return attachment(xlsx_bytes(SUMMARY_COLUMNS, ([r[c] for c in SUMMARY_COLUMNS] for r in rows),
                                     "hidden-dangers-summary"), XLSX, "hidden-dangers-summary.xlsx")
    totals = {"admin_code": area, "name": None,
              **{c: sum(r[c] for r in rows) for c in ("total", "open", "overdue", "major")}}
    return {"as_of": flt.as_of, "area_level": area_level, "areas": rows, "totals": totals}
