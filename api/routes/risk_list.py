"""GET /risk-list: the list of major risks (重大风险清单) every region keeps, as JSON, CSV or XLSX.

The features at the asked levels (red and orange by default), worst first, each with the reasons of its score:
the direct-red rule that fired, if any, and the three factors that gave the most points.  The spreadsheet forms
are for people: CSV in UTF-8 with a byte-order mark (so that Excel reads Chinese text correctly), XLSX with a
bold, frozen header; in both, no text cell can start a formula (``spreadsheet_safe``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Annotated, Any, Literal

import h3
from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.errors import field_error
from api.routes import RISK_KINDS, Level, sql_text
from api.routes.features import HCAGrade, HCASegment, Kind, parse_levels
from geo.errors import NotFound
from geo.risk.framework import LEVELS
from geo.spreadsheet import (  # noqa: F401 (the one writer, importable from here as before)
    FORMULA_STARTS,
    Sheet,
    csv_bytes,
    spreadsheet_safe,
    xlsx_book,
    xlsx_bytes,
)

router = APIRouter(dependencies=[Needs.viewer], tags=["risk-list"])

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON = "application/json"
MEDIA_TYPES = {"json": JSON, "csv": CSV, "xlsx": XLSX}
Format = Literal["json", "csv", "xlsx"]

DEFAULT_LEVELS = ("red", "orange")
WORST_FIRST = tuple(reversed(LEVELS))  # red, orange, yellow, blue
AREA_PATTERN = r"^[0-9A-Za-z]{1,32}$"  # admin codes are digits, H3 indexes hex digits


# The spreadsheet columns, in order (the JSON members, with the county split in two and the reasons flattened).
COLUMNS = ("rank", "kind", "id", "source_id", "name", "level", "score", "direct_red", "reasons", "hca_grade",
           "hca_segments", "hca_km", "hca_where", "county_code", "county_name", "lon", "lat", "model_version")
HCA_GRADE_NAMES = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ"}


class Reason(BaseModel):
    """One of the three factors that gave the most points."""

    factor: str
    title: str | None
    value: Any = Field(description="The value the rule looked at (a number, text or boolean; null if missing).")
    points: float | None
    source: str | None = Field(description="The standard or rule the factor comes from.")


class County(BaseModel):
    admin_code: str
    name: str


class PipelineHCA(BaseModel):
    """A pipeline's high-consequence areas (GB 32167), counted over all its segments."""

    grade: int = Field(ge=0, le=3, description="The highest HCA grade of any segment: 0 none, 1 Ⅰ, 2 Ⅱ, 3 Ⅲ.")
    by_grade: list[HCAGrade] = Field(description="Segments and km per grade, worst first (3, 2, 1, 0).")
    segments: list[HCASegment] = Field(description="The segments graded Ⅰ or above, in line order.")


class RiskListItem(BaseModel):
    rank: int = Field(description="1 for the worst risk.")
    kind: Kind
    id: int
    source_id: str
    name: str
    level: Level
    score: float = Field(description="0-100, two decimals.")
    direct_red: str | None = Field(description="The direct-red rule that fired (重大事故隐患 and the like), or null.")
    reasons: list[Reason] = Field(description="The three factors that gave the most points, most first (a "
                                              "pipeline's: those of its worst segment).")
    hca: PipelineHCA | None = Field(None, description="Pipelines: their high-consequence areas over all their "
                                                      "segments, whichever scores highest; null for other kinds.")
    county: County | None = Field(description="The county holding the feature's point on surface.")
    lon: float = Field(description="Longitude of the point on surface (WGS 84, six decimals).")
    lat: float = Field(description="Latitude of the point on surface (WGS 84, six decimals).")
    model_version: str


class AreaFilter(BaseModel):
    id: str
    type: Literal["admin", "h3"]
    name: str | None  # admin areas
    admin_level: str | None  # admin areas: province, city, county or township
    resolution: int | None  # H3 cells


class RiskListFilters(BaseModel):
    level: list[Level]
    kind: list[Kind]
    area: AreaFilter | None


class RiskList(BaseModel):
    generated_at: str = Field(description="When the list was made (UTC, ISO 8601).")
    model_version: str | None = Field(description="The risk model version of the listed scores (the most common "
                                                  "one); with no row listed, that of the stored scores.")
    filters: RiskListFilters
    count: int
    items: list[RiskListItem]



def parse_kind(kind: str | None) -> list[str]:
    """The comma list of ``kind`` (every risk kind when empty), in the order of RISK_KINDS; a 422 naming ``kind``
    for an unknown one."""
    wanted = [k.strip() for k in (kind or "").split(",") if k.strip()]
    for k in wanted:
        if k not in RISK_KINDS:
            raise field_error("kind", f"unknown kind {k!r}; expected a comma list of: {', '.join(RISK_KINDS)}")
    return [k for k in RISK_KINDS if k in wanted] or list(RISK_KINDS)


LIST_MEDIA = {JSON: "json", CSV: "csv", XLSX: "xlsx"}


def negotiate(accept: str | None, media: dict[str, str] = LIST_MEDIA) -> str:
    """The format an ``Accept`` header asks for among ``media`` (media type -> format): the one of highest q (the
    first listed on a tie); JSON when none is named (``*/*``, absent, or only types not in ``media``)."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate((accept or "").split(",")):
        kind, *params = [p.strip() for p in item.split(";")]
        q = 1.0
        for p in params:
            name, _, v = p.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        fmt = media.get(kind.lower())
        if fmt is None or not q > 0:
            continue
        if best is None or (-q, position) < (-best[0], best[1]):
            best = (q, position, fmt)
    return best[2] if best else "json"


def flatten_reasons(reasons: list[dict]) -> str:
    """The reasons as one readable cell: ``title: value (points pts) ; ...``."""
    return " ; ".join(f"{r.get('title') or r['factor']}: {_text(r.get('value'))} ({_text(r.get('points'))} pts)"
                      for r in reasons)


def _text(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):  # at most two decimals, no trailing zeros
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    return str(value)


def hca_cells(hca: dict | None) -> list[Any]:
    """A pipeline's HCA as spreadsheet cells: its highest grade, how many segments and km are HCAs, and where they
    lie, grade by grade, worst first, neighbouring segments of a grade joined into one stretch
    (``Ⅲ: 37.61–38.62 km (segment 38), 39.63–41.66 km (segments 40–41); Ⅱ: ...``); four empty cells for other
    kinds."""
    if hca is None:
        return [None, None, None, None]
    hca_grades = [g for g in hca["by_grade"] if g["grade"] > 0]
    parts = []
    for grade in sorted({s["grade"] for s in hca["segments"]}, reverse=True):
        stretches: list[list[dict]] = []
        for s in (s for s in hca["segments"] if s["grade"] == grade):  # in line order
            if stretches and s["seq"] == stretches[-1][-1]["seq"] + 1:
                stretches[-1].append(s)
            else:
                stretches.append([s])
        parts.append(f"{HCA_GRADE_NAMES[grade]}: " + ", ".join(
            f"{run[0]['from_km']:.2f}–{run[-1]['to_km']:.2f} km "
            + (f"(segment {run[0]['seq']})" if len(run) == 1 else f"(segments {run[0]['seq']}–{run[-1]['seq']})")
            for run in stretches))
    return [hca["grade"], sum(g["segments"] for g in hca_grades), round(sum(g["km"] for g in hca_grades), 3),
            "; ".join(parts)]


def spreadsheet_rows(items: list[dict]) -> list[list[Any]]:
    """The items as spreadsheet rows (COLUMNS order): numbers stay numbers (the writers make text formula-safe)."""
    rows = []
    for it in items:
        county = it["county"] or {}
        row = [it["rank"], it["kind"], it["id"], it["source_id"], it["name"], it["level"], it["score"],
               it["direct_red"], flatten_reasons(it["reasons"]), *hca_cells(it.get("hca")), county.get("admin_code"),
               county.get("name"),
               it["lon"], it["lat"], it["model_version"]]
        rows.append(row)
    return rows



def to_csv(items: list[dict]) -> bytes:
    """UTF-8 with a byte-order mark, CRLF line ends, a header row."""
    return csv_bytes(COLUMNS, spreadsheet_rows(items))






def to_xlsx(items: list[dict]) -> bytes:
    """One sheet, the header row bold and frozen, columns sized to their content (capped)."""
    return xlsx_bytes(COLUMNS, spreadsheet_rows(items), "risk-list",
                      {"score": "0.00", "hca_km": "0.000", "lon": "0.000000", "lat": "0.000000"})


def resolve_area(conn, area: str) -> dict:
    """The admin area with this code, else the H3 cell with this index (area_risk); NotFound (404) otherwise."""
    cell = area.lower()
    is_cell = h3.is_valid_cell(cell)
    with conn.cursor() as cur:
        cur.execute(sql_text("risk_list_area"), {"area": area, "cell": cell if is_cell else None,
                                                 "cell_res": h3.get_resolution(cell) if is_cell else None})
        row = cur.fetchone()
    if row is None:
        raise NotFound(f"unknown area {area!r}: no administrative area has this code and no H3 cell of the area "
                       f"risk has this index")
    return dict(zip(("type", "id", "name", "admin_level", "resolution"), row, strict=True))


def attachment(content: bytes, media_type: str, filename: str) -> Response:
    return Response(content=content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Vary": "Accept"})


@router.get(
    "/risk-list", response_model=RiskList, summary="The list of major risks (重大风险清单), worst first",
    responses={
        200: {"description": "The list: JSON (below), or CSV / XLSX as an attachment.",
              "content": {CSV: {"schema": {"type": "string"}},
                          XLSX: {"schema": {"type": "string", "format": "binary"}}}},
        404: {"description": "Unknown area (problem+json)."},
        422: {"description": "An unknown level, kind or format (problem+json naming the field)."},
    })
def risk_list(
    conn: Connection,
    response: Response,
    level: Annotated[str | None, Query(description="Comma list of levels (blue, yellow, orange, red); "
                                                   "default red,orange.", examples=["red,orange"])] = None,
    area: Annotated[str | None, Query(pattern=AREA_PATTERN,
                                      description="An administrative area code (features inside that area) or an "
                                                  "H3 cell index (features inside that cell).",
                                      examples=["130203"])] = None,
    kind: Annotated[str | None, Query(description="Comma list of feature kinds: "
                                                  f"{', '.join(RISK_KINDS)} (default: all).")] = None,
    format: Annotated[Format | None, Query(description="json, csv or xlsx; without it the Accept header decides "
                                                       "(text/csv, the XLSX media type), else JSON.")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
):
    """The features at the asked levels (default red and orange), sorted red before orange before yellow before
    blue, then by score (two decimals) descending, then kind and id.  Each row gives the rank, the feature, its
    level and score, the direct-red reason (or null), the reasons (the three factors that gave the most points,
    with their title, value, points and source), the county holding its point on surface, that point's
    coordinates and the model version.  Pipelines are listed once, with the risk of their worst segment, and
    their high-consequence areas over all their segments (`hca`: the highest grade, segments and km per grade,
    and which segments).

    `area` restricts the list to the features intersecting an administrative area (by code) or an H3 cell of the
    area risk (by index); an unknown one is a 404.  CSV (UTF-8 with BOM) and XLSX are attachments for
    spreadsheets: the reasons flattened into one cell, and text that would start a formula prefixed with `'`."""
    levels = parse_levels(level) or list(DEFAULT_LEVELS)
    levels = [lv for lv in WORST_FIRST if lv in levels]
    kinds = parse_kind(kind)
    fmt: Format = format or negotiate(accept)
    found = resolve_area(conn, area) if area else None
    params = {"kinds": kinds, "levels": levels, "worst_first": list(WORST_FIRST), "zoned": found is not None,
              "admin_code": found["id"] if found and found["type"] == "admin" else None,
              "cell": found["id"] if found and found["type"] == "h3" else None,
              "cell_res": found["resolution"] if found and found["type"] == "h3" else None}
    with conn.cursor() as cur:
        cur.execute(sql_text("risk_list"), params)
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    items = []
    for rank, row in enumerate(rows, start=1):
        r = dict(zip(names, row, strict=True))
        county = {"admin_code": r.pop("county_code"), "name": r.pop("county_name")}
        items.append({"rank": rank, **r, "county": county if county["admin_code"] is not None else None})
    if fmt == "csv":
        return attachment(to_csv(items), f"{CSV}; charset=utf-8", "risk-list.csv")
    if fmt == "xlsx":
        return attachment(to_xlsx(items), XLSX, "risk-list.xlsx")
    response.headers["Vary"] = "Accept"
    versions = Counter(it["model_version"] for it in items)
    if versions:
        model_version = min(versions, key=lambda v: (-versions[v], v))
    else:
        with conn.cursor() as cur:
            cur.execute(sql_text("scores_status"))
            model_version = cur.fetchone()[0]
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model_version": model_version,
        "filters": {"level": levels, "kind": kinds, "area": found},
        "count": len(items),
        "items": items,
    }
