"""GET /major-risks: the list of major risks and hidden dangers (重大风险和隐患清单) as JSON, GeoJSON, CSV, XLSX or the
printable page.  The list is geo/lists/major_risks.py; its table (headers and rows, for the spreadsheets and the
page) is maps/major_risks_page.py; spreadsheets go through the one formula-safe writer of api/routes/risk_list.py."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.errors import field_error
from api.routes import GEOJSON
from api.routes.features import Kind, wants_html
from api.routes.hidden_dangers import ADMIN_CODE, DangerSite
from api.routes.risk_list import CSV, JSON, XLSX, County, Reason, attachment, csv_bytes, negotiate, xlsx_bytes
from geo.lists.hidden_dangers import FilterError
from geo.lists.major_risks import MajorRiskList, major_risk_list
from maps.major_risks_page import list_table, major_risks_page

router = APIRouter(dependencies=[Needs.viewer], tags=["major-risks"])

Format = Literal["json", "geojson", "csv", "xlsx", "html"]


class ListedDanger(BaseModel):
    id: int
    source_id: str
    description: str
    category: str | None
    status: Literal["open", "reopened"]
    found_on: dt.date
    overdue: bool = Field(description="Past its deadline on as_of.")
    days_overdue: int | None


class SupervisionMeasure(BaseModel):
    action: Literal["rectify_by_deadline", "suspend_site", "keep_suspended"]
    deadline: dt.date | None


class SiteSupervisionSummary(BaseModel):
    frequency_months: int = Field(description="The inspection frequency of the site's level.")
    last_inspection: dt.date | None
    last_inspection_source: Literal["records", "register"] | None
    next_due: dt.date | None = Field(description="None: no inspection known, due at once.")
    overdue: bool
    days_overdue: int | None
    measure: SupervisionMeasure | None = Field(description="The measure the rules allow for a site with an open "
                                                           "major hidden danger (for that site alone).")


class MajorRiskItem(BaseModel):
    rank: int
    entry: Literal["major_risk", "major_hidden_danger"] = Field(
        description="major_risk: a site scored red or orange; major_hidden_danger: an open or reopened major "
                    "hidden danger (重大事故隐患).")
    site: DangerSite
    county: County | None = Field(description="The county holding the site's point on surface.")
    why: str = Field(description="A site's direct-red rule and top three factors; a danger's description.")
    direct_red: str | None
    reasons: list[Reason] = Field(description="A site's three factors that gave the most points (empty for a "
                                              "danger).")
    hidden_danger: ListedDanger | None
    responsible_unit: str | None
    responsible_person: str | None
    supervising_department: str | None = Field(description="The site's own (from its register), else the "
                                                           "emergency-management bureau of its county.")
    supervising_department_source: Literal["site", "county_bureau"] | None
    deadline: dt.date | None = Field(description="A danger's rectification deadline; a site's next inspection due "
                                                 "under precise supervision (before as_of when overdue; none when "
                                                 "no inspection is known: due at once).")
    deadline_source: Literal["hidden_danger", "supervision"] | None
    measures: str | None = Field(description="A danger's rectification measures; a site's control measures from "
                                             "its register, else its supervision recommendation in `lang`.")
    measures_source: Literal["hidden_danger", "site", "supervision"] | None
    supervision: SiteSupervisionSummary | None = Field(description="A site's supervision recommendation on "
                                                                   "as_of (none for a danger row).")
    synthetic: bool
    lon: float | None
    lat: float | None


class ListArea(BaseModel):
    admin_code: str
    name: str
    level: str


class MajorRiskCounts(BaseModel):
    major_risk: int
    major_hidden_danger: int
    red: int
    orange: int
    overdue: int


class ListFilters(BaseModel):
    kind: list[Kind] | None = None
    level: list[Literal["red", "orange"]] | None = None
    status: list[Literal["open", "reopened"]] | None = None
    entry: list[Literal["major_risk", "major_hidden_danger"]] | None = None
    found_from: dt.date | None = None
    found_to: dt.date | None = None


class MajorRisks(BaseModel):
    as_of: dt.date
    area: ListArea | None
    kinds: list[Kind]
    filters: ListFilters = Field(description="The filters given.")
    counts: MajorRiskCounts
    items: list[MajorRiskItem]


def _comma(value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) or None if value else None


def build_list(conn, as_of: dt.date | None, area: str | None, kind: str | None, level: str | None = None,
               status: str | None = None, entry: str | None = None, found_from: dt.date | None = None,
               found_to: dt.date | None = None, supervision=None, lang: str = "zh") -> MajorRiskList:
    """The list for these query parameters (comma lists as text); a 422 naming the parameter for a bad one."""
    try:
        return major_risk_list(conn, as_of or dt.date.today(), area, _comma(kind), levels=_comma(level),
                               statuses=_comma(status), entries=_comma(entry), found_from=found_from,
                               found_to=found_to, supervision=supervision, language=lang)
    except FilterError as e:
        raise field_error(e.field, e.message) from None


def list_spreadsheet(lst: MajorRiskList, fmt: Literal["csv", "xlsx"], lang: str) -> bytes:
    """The list as CSV or XLSX (the page's columns, headers and labels in ``lang``), for the route and the CLI."""
    columns, rows = list_table(lst, lang)
    if fmt == "csv":
        return csv_bytes(columns, rows)
    return xlsx_bytes(columns, rows, "major-risks", {columns[11]: "yyyy-mm-dd"})  # the deadline


def list_document(lst: MajorRiskList) -> dict:
    """The JSON answer (``MajorRisks``)."""
    return {"as_of": lst.as_of, "area": lst.area, "kinds": list(lst.kinds), "filters": _filters(lst),
            "counts": lst.counts, "items": lst.items}


def _filters(lst: MajorRiskList) -> dict:
    """Every filter, None when not given."""
    return {k: lst.filters.get(k) for k in ListFilters.model_fields}


def list_geojson(lst: MajorRiskList) -> str:
    """The list as a GeoJSON FeatureCollection, serialised: one Feature per row, in the list's order, its point the
    site's point on surface (null when the row has none), its properties the row's fields of the JSON; the list's
    date, area, filters and counts as members of the collection."""
    def feature(it: dict) -> dict[str, Any]:
        geometry = ({"type": "Point", "coordinates": [it["lon"], it["lat"]]}
                    if it["lon"] is not None and it["lat"] is not None else None)
        danger = it["hidden_danger"]
        fid = f"hidden_danger.{danger['id']}" if danger else f"{it['site']['kind']}.{it['site']['id']}"
        return {"type": "Feature", "id": fid, "geometry": geometry,
                "properties": {k: v for k, v in it.items() if k not in ("lon", "lat")}}

    doc = {"type": "FeatureCollection", "as_of": lst.as_of, "area": lst.area, "kinds": list(lst.kinds),
           "filters": _filters(lst), "counts": lst.counts, "features": [feature(it) for it in lst.items]}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


MEDIA = {JSON: "json", GEOJSON: "geojson", CSV: "csv", XLSX: "xlsx"}


@router.get(
    "/major-risks", response_model=MajorRisks,
    summary="The list of major risks and hidden dangers (重大风险和隐患清单)",
    responses={200: {"description": "JSON (below), GeoJSON (a FeatureCollection of the rows at their site's point), "
                                    "CSV or XLSX as an attachment, or the printable page.",
                     "content": {GEOJSON: {"schema": {"type": "object"}}, CSV: {"schema": {"type": "string"}},
                                 XLSX: {"schema": {"type": "string", "format": "binary"}},
                                 "text/html": {"schema": {"type": "string"}}}},
               404: {"description": "Unknown area (problem+json)."},
               422: {"description": "A bad kind, level, status, entry, date or format (problem+json naming the "
                                    "parameter and the values allowed)."}})
def major_risks(
    request: Request, response: Response, conn: Connection,
    area: Annotated[str | None, Query(pattern=ADMIN_CODE, description="An admin code: the sites whose point on "
                                      "surface lies in that area (default: everywhere).", examples=["130203"])] = None,
    kind: Annotated[str | None, Query(description="Comma list of site kinds: enterprise, tailings_pond, pipeline, "
                                                  "venue (default: all).")] = None,
    level: Annotated[str | None, Query(description="Comma list of levels, red and/or orange: the sites of those "
                                                   "levels, and the dangers whose site has one of them (default: "
                                                   "both).")] = None,
    status: Annotated[str | None, Query(description="Comma list of danger statuses, open and/or reopened: the "
                                                    "danger rows (site rows are not filtered by it; use entry).")]
    = None,
    entry: Annotated[str | None, Query(description="Comma list of row types: major_risk (the sites), "
                                                   "major_hidden_danger (the dangers); default both.")] = None,
    found_from: Annotated[dt.date | None, Query(description="The danger rows found on or after this date (site "
                                                            "rows are not filtered by it).")] = None,
    found_to: Annotated[dt.date | None, Query(description="The danger rows found on or before this date (site rows "
                                                          "are not filtered by it).")] = None,
    as_of: Annotated[dt.date | None, Query(description="The date overdue is judged on (default: today).")] = None,
    format: Annotated[Format | None, Query(description="json, geojson, csv, xlsx or html (the printable page); by "
                                                       "default html for a browser, else by the Accept header "
                                                       "(application/geo+json for GeoJSON), else JSON.")] = None,
    lang: Annotated[Literal["zh", "en"], Query(description="The language of the page, of the spreadsheets' headers "
                                                           "and labels, and of the measures riskmap writes for a "
                                                           "site from its supervision recommendation.")] = "zh",
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
):
    """Every red or orange scored site (a major risk) and every open or reopened major hidden danger, one row
    each: the site, its kind, level and county, why (a site's top factors; a danger's description), the
    responsible unit and person, the supervising department, the deadline (a danger's; a site's next inspection
    due under precise supervision) and the measures (a danger's; a site's control measures, else its supervision
    recommendation).  Sites first (red, then orange, by score), then the dangers (overdue first, then by
    deadline).  The same filters apply to every format.  How each column is filled is in
    geo/lists/major_risks.py and at the foot of the page."""
    fmt = format or ("html" if wants_html(request) else negotiate(accept, MEDIA))
    lst = build_list(conn, as_of, area, kind, level, status, entry, found_from, found_to,
                     request.app.state.supervision, lang)
    if fmt in ("csv", "xlsx"):
        name = f"major-risks{'-' + lst.area['admin_code'] if lst.area else ''}-{lst.as_of.isoformat()}.{fmt}"
        return attachment(list_spreadsheet(lst, fmt, lang), f"{CSV}; charset=utf-8" if fmt == "csv" else XLSX, name)
    if fmt == "html":
        return HTMLResponse(major_risks_page(lst, lang))
    if fmt == "geojson":
        return Response(list_geojson(lst), media_type=GEOJSON, headers={"Vary": "Accept"})
    response.headers["Vary"] = "Accept"
    return list_document(lst)
