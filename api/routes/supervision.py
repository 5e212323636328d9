"""Precise supervision (issue 14 item 4): GET /supervision (every scored site's recommendation, filtered and
paged, as JSON, GeoJSON or CSV), GET /supervision/{kind}/{id} (one site's) and GET /supervision/staffing (the
inspector-days each county needs).  The rules are in geo/supervision; this module parses and serialises."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.errors import field_error
from api.routes import GEOJSON, RISK_KINDS, Level
from api.routes.features import MAX_ID, Kind, parse_levels
from api.routes.risk_list import AREA_PATTERN, CSV, csv_bytes, parse_kind
from geo.supervision import sites, staffing
from geo.supervision.rules import LIGHTS, Recommendation

router = APIRouter(dependencies=[Needs.viewer], tags=["supervision"])

MAX_LIMIT = 1000
Light = Literal["red", "yellow", "green"]
Format = Literal["json", "geojson", "csv"]

CSV_COLUMNS = ("kind", "id", "source_id", "name", "level", "score", "county_code", "county_name", "light",
               "light_reasons", "frequency_months", "last_inspection", "last_inspection_source", "next_due",
               "overdue", "days_overdue", "open_dangers", "open_major_dangers", "overdue_dangers", "active_measures",
               "measure", "measure_deadline", "measure_dangers", "look_back", "lon", "lat", "as_of")


class County(BaseModel):
    admin_code: str
    name: str


class ActiveMeasure(BaseModel):
    id: int
    source_id: str
    measure: Literal["rectify_order", "suspension", "closure"]
    decided_on: str


class MeasureDanger(BaseModel):
    id: int
    source_id: str
    description: str
    status: Literal["open", "reopened"]
    deadline: str | None
    responsible_unit: str | None
    responsible_person: str | None


class SiteMeasure(BaseModel):
    """What the rules allow for a site with an open major hidden danger, for that site alone."""

    action: Literal["rectify_by_deadline", "suspend_site", "keep_suspended"] = Field(description=(
        "rectify_by_deadline: order rectification by the deadline (责令限期整改); suspend_site: order this site to "
        "stop production, in whole or in the part concerned, until rectified (a major danger past its deadline or "
        "reopened); keep_suspended: a suspension or closure is in force, keep it until the rectification is "
        "verified."))
    scope: Literal["site"] = Field(description="Always the site: never an area or a sector.")
    deadline: str | None = Field(description="rectify_by_deadline: the earliest deadline of the open major dangers.")
    dangers: list[MeasureDanger] = Field(description="The open major hidden dangers it answers (none when only the "
                                                     "register flags one).")
    basis: str


class LookBack(BaseModel):
    reason: Literal["major_danger_rectified", "enforcement_lifted", "danger_overdue"]
    record: Literal["hidden_danger", "enforcement_action"]
    record_id: int
    source_id: str
    date: str = Field(description="When the danger was rectified, the measure lifted, or the deadline that passed.")
    detail: str


class SiteSupervision(BaseModel):
    """A site's supervision recommendation on `as_of` (docs/risk-model.md, "Supervision")."""

    kind: Kind
    id: int
    source_id: str
    name: str
    level: Level
    score: float
    lon: float | None
    lat: float | None
    county: County | None = Field(description="The county holding the site's point (on surface).")
    as_of: str
    frequency_months: int = Field(description="Months between inspections at the site's level (settings).")
    last_inspection: str | None = Field(description="The last inspection recorded, else the register's date.")
    last_inspection_source: Literal["records", "register"] | None
    next_due: str | None = Field(description="The last inspection plus the frequency; null: no inspection is known, "
                                             "due at once.")
    overdue: bool = Field(description="Past its due date on as_of (or never inspected).")
    days_overdue: int
    open_dangers: int
    open_major_dangers: int
    overdue_dangers: int = Field(description="Open hidden dangers past their rectification deadline.")
    active_measures: list[ActiveMeasure] = Field(description="Enforcement measures in force on as_of.")
    light: Light = Field(description="red: an open major hidden danger, or a red site overdue; yellow: a red site "
                                     "on time, any other site overdue, or a danger past its deadline; green: none.")
    light_reasons: list[Literal["open_major_danger", "red_level_overdue", "red_level", "inspection_overdue",
                                "danger_overdue"]]
    measure: SiteMeasure | None = Field(description="For a site with an open major hidden danger; else null.")
    look_back: list[LookBack] = Field(description="Why it is a look-back (回头看) site; empty: it is not one.")


class SupervisionFilters(BaseModel):
    area: str | None
    kind: list[Kind]
    level: list[Level] | None
    light: list[Light] | None
    overdue: bool | None


class SupervisionList(BaseModel):
    as_of: str
    filters: SupervisionFilters
    count: int = Field(description="Sites matching the filters (all pages).")
    offset: int
    limit: int
    next: str | None = Field(description="The next page, null on the last one.")
    items: list[SiteSupervision]


class StaffingArea(BaseModel):
    admin_code: str
    name: str
    sites: int
    by_level: dict[str, int]
    by_kind: dict[str, int]
    inspections_per_year: float
    inspector_hours: float
    inspector_days: float = Field(description="Inspector-days a year needed to inspect every scored site at its "
                                              "level's frequency.")
    inspectors_needed: float
    staff: int | None = Field(description="Inspectors the county has (settings); null: not given.")
    staff_days: float | None
    shortfall_inspectors: float | None = Field(description="Inspectors needed minus staff (negative: spare).")
    coverage: float | None = Field(description="The staff's inspector-days over the need.")
    label_point: list[float] | None


class Staffing(BaseModel):
    level: str
    areas: list[StaffingArea]
    total: dict[str, float]
    outside_areas: dict[str, float] = Field(description="Scored sites in no area of the level, and their need.")
    staff_for_unknown_areas: list[str] = Field(description="Admin codes the settings give a staff for but which no "
                                                           "stored area of the level has.")
    parameters: dict[str, Any]


def parse_lights(light: str | None) -> list[str] | None:
    wanted = [v.strip() for v in (light or "").split(",") if v.strip()]
    for v in wanted:
        if v not in LIGHTS:
            raise field_error("light", f"unknown light {v!r}; expected a comma list of: {', '.join(LIGHTS)}")
    return wanted or None


def csv_row(item: dict) -> list:
    county = item["county"] or {}
    m = item["measure"] or {}
    return [item["kind"], item["id"], item["source_id"], item["name"], item["level"], item["score"],
            county.get("admin_code"), county.get("name"), item["light"], ",".join(item["light_reasons"]),
            item["frequency_months"], item["last_inspection"], item["last_inspection_source"], item["next_due"],
            item["overdue"], item["days_overdue"], item["open_dangers"], item["open_major_dangers"],
            item["overdue_dangers"], "; ".join(f"{a['measure']} {a['source_id']} {a['decided_on']}"
                                               for a in item["active_measures"]),
            m.get("action"), m.get("deadline"), "; ".join(d["source_id"] for d in m.get("dangers", ())),
            "; ".join(f"{lb['reason']} {lb['date']} {lb['record']} {lb['source_id']} ({lb['detail']})"
                      for lb in item["look_back"]),
            item["lon"], item["lat"], item["as_of"]]


def as_feature(item: dict) -> dict:
    props = {k: v for k, v in item.items() if k not in ("lon", "lat")}
    return {"type": "Feature", "id": f"{item['kind']}.{item['id']}",
            "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]}, "properties": props}


@router.get(
    "/supervision", response_model=SupervisionList, summary="Precise supervision of every scored site",
    responses={200: {"description": "JSON (below), GeoJSON (a FeatureCollection of the page's sites as points) or "
                                    "CSV (every matching site, not paged).",
                     "content": {GEOJSON: {"schema": {"type": "object"}}, CSV: {"schema": {"type": "string"}}}},
               404: {"description": "Unknown area (problem+json)."}})
def supervision_list(
    request: Request,
    conn: Connection,
    area: Annotated[str | None, Query(pattern=AREA_PATTERN, description="An admin area code: the sites inside it.",
                                      examples=["130203"])] = None,
    kind: Annotated[str | None, Query(description=f"Comma list of kinds: {', '.join(RISK_KINDS)} (default all).")]
    = None,
    level: Annotated[str | None, Query(description="Comma list of risk levels (blue, yellow, orange, red).")] = None,
    light: Annotated[str | None, Query(description="Comma list of lights (red, yellow, green).")] = None,
    overdue: Annotated[bool | None, Query(description="true: only the sites overdue for inspection; false: only "
                                                      "those on time.")] = None,
    as_of: Annotated[dt.date | None, Query(description="The date judged (YYYY-MM-DD); default today.  For a day in "
                                                       "the past the sites' levels are those of that day (the "
                                                       "score history).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Sites skipped (from the `next` link).")] = 0,
    format: Annotated[Format, Query(description="json, geojson or csv.")] = "json",
):
    """Every scored site's supervision recommendation on `as_of`: its inspection frequency (per level, from the
    supervision settings), last inspection (the records', else the register's), next due date and whether it is
    overdue, its open, major and overdue hidden dangers, the enforcement measures in force, its light (red /
    yellow / green), the measure the rules allow when a major hidden danger is open (rectify by the deadline, or
    suspend that site: never an area), and why it is a look-back (回头看) site.  Worst first: red lights, then
    yellow, then green; within a light the longest overdue, then the highest level and score.

    The recommendations are computed for every site matching `area`, `kind` and `level` on each request (then
    filtered by `light` and `overdue`, and paged), so ask for an area to keep a request small."""
    day = as_of or dt.date.today()
    kinds = parse_kind(kind)
    levels = parse_levels(level)
    lights = parse_lights(light)
    recs = sites.recommendations(conn, day, request.app.state.supervision, area=area, kinds=kinds, levels=levels,
                                 lights=lights, overdue=overdue, levels_then=day < dt.date.today())
    if format == "csv":
        return Response(csv_bytes(CSV_COLUMNS, (csv_row(r.as_dict()) for r in recs)),
                        media_type=f"{CSV}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="supervision-{day.isoformat()}.csv"'})
    page = [r.as_dict() for r in recs[offset:offset + limit]]
    more = offset + limit < len(recs)
    next_url = str(request.url.include_query_params(offset=offset + limit)) if more else None
    if format == "geojson":
        links = [{"rel": "self", "href": str(request.url), "type": GEOJSON}]
        if next_url:
            links.append({"rel": "next", "href": next_url, "type": GEOJSON})
        body = {"type": "FeatureCollection", "features": [as_feature(i) for i in page], "as_of": day.isoformat(),
                "numberMatched": len(recs), "numberReturned": len(page), "next": next_url, "links": links}
        return Response(json.dumps(body, ensure_ascii=False), media_type=GEOJSON)
    return JSONResponse({"as_of": day.isoformat(),
                         "filters": {"area": area, "kind": kinds, "level": levels, "light": lights, "overdue": overdue},
                         "count": len(recs), "offset": offset, "limit": limit, "next": next_url, "items": page})


@router.get("/supervision/staffing", response_model=Staffing, summary="Inspector-days each county needs a year",
            responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}})
def supervision_staffing(
    request: Request,
    conn: Connection,
    level: Annotated[Literal["province", "city", "county", "township"], Query(
        description="The admin level of the areas.")] = "county",
    format: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json",
):
    """Per admin area (county by default), its scored sites per level and kind, the inspections a year they need
    at their levels' frequencies, the inspector-hours and inspector-days that takes (inspection and travel hours,
    two inspectors an inspection: the supervision settings), the inspectors needed, and, where the settings give
    the county's staff, the staff's inspector-days, the shortfall and the share of the need covered."""
    table = staffing.county_staffing(conn, request.app.state.supervision, level)
    if format == "csv":
        columns = ("admin_code", "name", "sites", "red", "orange", "yellow", "blue", "inspections_per_year",
                   "inspector_hours", "inspector_days", "inspectors_needed", "staff", "staff_days",
                   "shortfall_inspectors", "coverage")
        rows = ([a["admin_code"], a["name"], a["sites"], *(a["by_level"][lv] for lv in ("red", "orange", "yellow",
                                                                                          "blue")),
                 *(_rounded(a[c]) for c in columns[7:])] for a in table["areas"])
        return Response(csv_bytes(columns, rows), media_type=f"{CSV}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="staffing-{level}.csv"'})
    return JSONResponse(table)


def _rounded(v):
    return round(v, 3) if isinstance(v, float) else v


@router.get("/supervision/{kind}/{id}", response_model=SiteSupervision,
            summary="One site's supervision recommendation",
            responses={404: {"description": "No scored site of this kind has this id (problem+json)."}})
def site_supervision(
    request: Request,
    conn: Connection,
    kind: Annotated[Kind, Path(description="Feature class.")],
    id: Annotated[int, Path(ge=1, le=MAX_ID, description="The feature's id.")],
    as_of: Annotated[dt.date | None, Query(description="The date judged (YYYY-MM-DD); default today.")] = None,
):
    """The site's frequency, next due date, overdue, light, measure and look-back reasons on `as_of` (as in
    GET /supervision)."""
    rec: Recommendation = sites.site_recommendation(conn, kind, id, as_of or dt.date.today(),
                                                    request.app.state.supervision)
    return JSONResponse(rec.as_dict())
