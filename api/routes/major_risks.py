"""GET /major-risks: the list of major risks and hidden dangers (重大风险和隐患清单) as JSON, CSV, XLSX or the printable
page.  The list is geo/lists/major_risks.py; its table (headers and rows, for the spreadsheets and the page) is
maps/major_risks_page.py; spreadsheets go through the one formula-safe writer of api/routes/risk_list.py."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.dependencies import Connection
from api.errors import field_error
from api.routes.features import Kind, wants_html
from api.routes.hidden_dangers import ADMIN_CODE, DangerSite
from api.routes.risk_list import CSV, XLSX, County, Reason, attachment, csv_bytes, negotiate, xlsx_bytes
from geo.lists.hidden_dangers import FilterError
from geo.lists.major_risks import MajorRiskList, major_risk_list
from maps.major_risks_page import list_table, major_risks_page

router = APIRouter(tags=["major-risks"])

Format = Literal["json", "csv", "xlsx", "html"]


class ListedDanger(BaseModel):
    id: int
    source_id: str
    description: str
    category: str | None
    status: Literal["open", "reopened"]
    found_on: dt.date
    overdue: bool = Field(description="Past its deadline on as_of.")
    days_overdue: int | None


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
    deadline: dt.date | None = Field(description="A danger's rectification deadline (none for a site).")
    measures: str | None = Field(description="A danger's rectification measures; a site's control measures.")
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


class MajorRisks(BaseModel):
    as_of: dt.date
    area: ListArea | None
    kinds: list[Kind]
    counts: MajorRiskCounts
    items: list[MajorRiskItem]


def build_list(conn, as_of: dt.date | None, area: str | None, kind: str | None) -> MajorRiskList:
    kinds = tuple(k.strip() for k in kind.split(",") if k.strip()) if kind else None
    try:
        return major_risk_list(conn, as_of or dt.date.today(), area, kinds or None)
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
    return {"as_of": lst.as_of, "area": lst.area, "kinds": list(lst.kinds), "counts": lst.counts,
            "items": lst.items}


@router.get(
    "/major-risks", response_model=MajorRisks,
    summary="The list of major risks and hidden dangers (重大风险和隐患清单)",
    responses={200: {"description": "JSON (below), CSV or XLSX as an attachment, or the printable page.",
                     "content": {CSV: {"schema": {"type": "string"}},
                                 XLSX: {"schema": {"type": "string", "format": "binary"}},
                                 "text/html": {"schema": {"type": "string"}}}},
               404: {"description": "Unknown area (problem+json)."},
               422: {"description": "A bad kind, date or format (problem+json naming the parameter)."}})
def major_risks(
    request: Request, response: Response, conn: Connection,
    area: Annotated[str | None, Query(pattern=ADMIN_CODE, description="An admin code: the sites whose point on "
                                      "surface lies in that area (default: everywhere).", examples=["130203"])] = None,
    kind: Annotated[str | None, Query(description="Comma list of site kinds (default: all).")] = None,
    as_of: Annotated[dt.date | None, Query(description="The date overdue is judged on (default: today).")] = None,
    format: Annotated[Format | None, Query(description="json, csv, xlsx or html (the printable page); by default "
                                                       "html for a browser, else by the Accept header, else "
                                                       "JSON.")] = None,
    lang: Annotated[Literal["zh", "en"], Query(description="The language of the page and of the spreadsheets' "
                                                           "headers and labels.")] = "zh",
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
):
    """Every red or orange scored site (a major risk) and every open or reopened major hidden danger, one row
    each: the site, its kind, level and county, why (a site's top factors; a danger's description), the
    responsible unit and person, the supervising department, the deadline and the measures.  Sites first (red,
    then orange, by score), then the dangers (overdue first, then by deadline).  How each column is filled is in
    geo/lists/major_risks.py and at the foot of the page."""
    fmt = format or ("html" if wants_html(request) else negotiate(accept))
    lst = build_list(conn, as_of, area, kind)
    if fmt in ("csv", "xlsx"):
        name = f"major-risks{'-' + lst.area['admin_code'] if lst.area else ''}-{lst.as_of.isoformat()}.{fmt}"
        return attachment(list_spreadsheet(lst, fmt, lang), f"{CSV}; charset=utf-8" if fmt == "csv" else XLSX, name)
    if fmt == "html":
        return HTMLResponse(major_risks_page(lst, lang))
    response.headers["Vary"] = "Accept"
    return list_document(lst)
