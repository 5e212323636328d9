"""POST /siting-check: the siting red line of a proposed hazardous-chemicals project (项目审批红线).

For a proposed project (a point or a polygon, and the chemicals it would hold) this reports what the approval
of a new hazardous-chemicals project must weigh:

- GB 18218-2018 (domain.md §1): S = Σq/Q, R = α·Σβq/Q with α from the resident people within 500 m outside
  the site, whether the project would be a major hazard installation (S >= 1) and its level 一级 to 四级.  The
  rules are not re-implemented here: the inventory is resolved by ``geo.risk.chemicals`` (the shipped Q and β
  tables) and α and the level come from ``geo.risk.enterprise`` with the model's ``[enterprise.gb18218]``.
  People are counted as the scoring counts them for an existing enterprise (geo/risk/context.py).
- The targets near the site, nearest first, with geodesic distances (WGS 84): settlements and crowded venues
  within the 500 m ring (vulnerable venues flagged), pipelines within 200 m with the zone of the Oil and Gas
  Pipeline Protection Law each falls in (domain.md §4: 5 m Art. 30, 50 m and 200 m Art. 35), and existing
  major-hazard enterprises within 500 m.
- GB 36894-2018 (domain.md §7 and addendum): the protected-target classes present.  The standard sets
  individual- and societal-risk criteria, not fixed external safety distances; the distance follows from a
  quantitative risk assessment.  The screening radius per target class used here is riskmap's assumption,
  configurable in the ``[siting]`` section of the risk model (geo/risk/model.toml).
- Findings: short sentences in Chinese and English.

Every bad input is a 422 naming the field; nothing is written to the database.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pyproj import Geod

from api.dependencies import Connection, RiskModel
from api.errors import body_error
from api.routes import sql_text
from geo.risk.chemicals import (
    MATCH_NAME,
    MATCH_UNKNOWN,
    explode_inventories,
    inventory_sums,
    load_tables,
    normalise_names,
    resolve_entries,
)
from geo.risk.enterprise import alpha_from_people, major_hazard_level
from geo.validate import HAZARD_CATEGORIES, parse_chemicals

router = APIRouter(tags=["siting"])

GEOD = Geod(ellps="WGS84")
MAX_CHEMICALS = 200
MAX_TONNES = 1e7
MAX_NAME = 200
MAX_FINDINGS_EACH = 5  # sentences per kind of target; the rest are counted in one


GB36894_NOTE_ZH = ("GB 36894-2018《危险化学品生产装置和储存设施风险基准》规定的是个人风险和社会风险基准，不是固定的外部"
                   "安全防护距离；外部安全防护距离须按GB/T 37243-2019用定量风险评价（涉及爆炸物时用事故后果法）确定。"
                   "下列各类防护目标的筛查半径是riskmap的假设（可在风险模型[siting]中配置），不是标准规定。")
GB36894_NOTE_EN = ("GB 36894-2018 sets individual- and societal-risk criteria, not fixed external safety distances: "
                   "the distance follows from a quantitative risk assessment (the consequence method for explosives) "
                   "under GB/T 37243-2019. The screening radius per target class below is riskmap's assumption "
                   "(configurable in the risk model's [siting] section), not a distance from the standard.")
GB36894_SOURCE = ("GB 36894-2018 §3.1.1 classes (domain.md §7 addendum); individual-risk limits confirmed for the "
                  "2014 trial criteria, their mapping onto the 2018 sub-classes inferred (domain.md §7)")

# GB 36894 protected-target classes: label, members, individual-risk limits per year for new / in-service plants
# (domain.md §7).
GB36894_CLASSES: dict[str, dict[str, Any]] = {
    "high_sensitivity": {"label": "高敏感防护目标", "members": "schools, hospitals, kindergartens, nursing homes, "
                         "prisons", "new": 3e-7, "existing": 3e-6},
    "important": {"label": "重要防护目标", "members": "military, cultural relics, government; religious and "
                  "exhibition venues [R]", "new": 3e-7, "existing": 3e-6},
    "general_1": {"label": "一般防护目标（一类）", "members": ">= 100 people: large residential areas, stadiums, hubs",
                  "new": 3e-7, "existing": 3e-6},
    "general_2": {"label": "一般防护目标（二类）", "members": "30-100 people: housing, hotels, offices, shops",
                  "new": 3e-6, "existing": 1e-5},
    "general_3": {"label": "一般防护目标（三类）", "members": "< 30 people", "new": 1e-5, "existing": 3e-5},
}

LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
VENUE_NAMES = {"hospital": ("医院", "hospital"), "school": ("学校", "school"),
               "kindergarten": ("幼儿园", "kindergarten"), "nursing_home": ("养老院", "nursing home"),
               "mall": ("商场", "mall"), "market": ("市场", "market"), "hotel": ("旅馆", "hotel"),
               "entertainment": ("娱乐场所", "entertainment venue"), "cinema": ("影剧院", "cinema"),
               "stadium": ("体育场馆", "stadium"), "exhibition": ("展览场馆", "exhibition hall"),
               "transport_hub": ("交通枢纽", "transport hub"), "religious": ("宗教场所", "religious site"),
               "square": ("广场", "square"), "other": ("人员密集场所", "crowded venue")}
MEDIUM_NAMES = {"natural_gas": ("天然气", "gas"), "crude_oil": ("原油", "crude-oil"),
                "refined_oil": ("成品油", "refined-oil"), "hazardous_chemical": ("危险化学品", "chemical")}

GB18218_SOURCE = "GB 18218-2018 (domain.md §1)"
PIPELINE_LAW = "Oil and Gas Pipeline Protection Law (2010), domain.md §4"


# ----- request ----------------------------------------------------------------------------------------------------

class ChemicalIn(BaseModel):
    """One chemical of the project: its name (a GB 18218 Table 1 name, alias or CAS number) and quantity."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME, validation_alias=AliasChoices("name", "chemical"),
                      description="Name, alias or CAS number of GB 18218-2018 Table 1 (or any name with "
                                  "hazard_category).")
    tonnes: float = Field(ge=0, le=MAX_TONNES, allow_inf_nan=False, strict=True,
                          validation_alias=AliasChoices("tonnes", "quantity_t"),
                          description="The largest quantity present (t), in process or stored.")
    hazard_category: str | None = Field(None, description="GB 18218 Table 2 category (J1-J5, W1.1-W11) for a "
                                                          "chemical not named in Table 1.")


_CHEMICAL = TypeAdapter(ChemicalIn)


class SitingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    geometry: dict[str, Any] = Field(description="GeoJSON Point or Polygon in WGS 84 (RFC 7946).")
    chemicals: Any = Field(description='A list of {"name": "氯", "tonnes": 10} (optionally "hazard_category"), '
                                       'or the import\'s text form "氯:10;氨:100".')
    name: str | None = Field(None, max_length=MAX_NAME, description="Project name.")


# ----- response ---------------------------------------------------------------------------------------------------

class Why(BaseModel):
    rule: str = Field(description="The rule that lists the target.")
    limit_m: float = Field(description="The distance the rule looks at (m).")
    source: str


class Target(BaseModel):
    kind: str
    id: int
    source_id: str
    name: str
    distance_m: float = Field(description="Geodesic distance from the project geometry (WGS 84), m.")
    why: Why


class SettlementTarget(Target):
    people: float
    population: int | None
    households: int | None
    counted_in_alpha: bool = Field(description="Counted in the GB 18218 α (point on surface within the ring, "
                                               "outside the site).")
    inside_site: bool
    gb36894_class: str


class VenueTarget(Target):
    venue_type: str
    vulnerable: bool
    occupancy: int | None
    status: str | None
    inside_site: bool
    gb36894_class: str


class Zone(BaseModel):
    code: Literal["5m", "50m", "200m"]
    limit_m: float = Field(description="The zone's outer distance from the centreline (m).")
    article: str
    article_zh: str
    rule_zh: str
    rule_en: str


class PipelineTarget(Target):
    medium: str
    diameter_mm: float | None
    pressure_mpa: float | None
    operator: str | None
    status: str | None
    crosses_site: bool
    zone: Zone


class MajorHazardTarget(Target):
    industry: str
    s_value: float | None
    r_value: float | None
    major_hazard_level: int | None
    level: str | None = Field(description="The enterprise's four-colour risk level.")


class Targets(BaseModel):
    settlements: list[SettlementTarget]
    venues: list[VenueTarget]
    pipelines: list[PipelineTarget]
    major_hazards: list[MajorHazardTarget]


class ChemicalOut(BaseModel):
    name: str = Field(description="As given.")
    tonnes: float
    hazard_category: str | None
    match: Literal["name", "category"]
    ref: str = Field(description="Table row: T1-n (Table 1) or T2-<category> (Table 2).")
    table_name: str | None = Field(description="The Table 1 name matched.")
    cas: str | None
    q_t: float = Field(description="Critical quantity Q (t).")
    beta: float
    q_ratio: float = Field(description="q/Q")
    beta_q_ratio: float = Field(description="β·q/Q")


class GB18218(BaseModel):
    people_500m: float
    alpha_radius_m: float
    alpha: float
    s_value: float
    beta_sum: float = Field(description="Σβq/Q (R before α).")
    r_value: float
    major_hazard: bool
    major_hazard_level: int | None
    level_name: str | None
    chemicals: list[ChemicalOut]
    source: str


class ScreeningClass(BaseModel):
    target_class: str
    label: str
    members: str
    screening_m: float
    individual_risk_new: float = Field(description="Individual-risk limit per year, new plant.")
    individual_risk_existing: float = Field(description="Individual-risk limit per year, in-service plant.")
    assumption: str


class ClassTarget(BaseModel):
    kind: str
    id: int
    source_id: str
    name: str
    distance_m: float


class ClassFound(BaseModel):
    target_class: str
    label: str
    screening_m: float
    count: int
    nearest_m: float
    targets: list[ClassTarget]


class GB36894(BaseModel):
    standard: str
    fixed_distances: bool = Field(description="False: the standard gives risk criteria, not fixed distances.")
    note_zh: str
    note_en: str
    source: str
    classes: list[ScreeningClass]
    found: list[ClassFound]


class Project(BaseModel):
    name: str | None
    geometry: dict[str, Any]
    geometry_type: Literal["Point", "Polygon"]
    area_m2: float | None = Field(description="Geodesic area of a polygon (WGS 84), m².")
    area_km2: float | None


class Finding(BaseModel):
    code: str
    zh: str
    en: str


class SitingReport(BaseModel):
    project: Project
    gb18218: GB18218
    targets: Targets
    gb36894: GB36894
    findings: list[Finding]
    model_version: str


# ----- input checks -----------------------------------------------------------------------------------------------

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _position(value: Any, field: str) -> tuple[float, float]:
    """A GeoJSON position [lon, lat] (an altitude is ignored), in range."""
    if not isinstance(value, list) or len(value) not in (2, 3) or not all(_is_number(v) for v in value):
        raise body_error(field, "a position must be [longitude, latitude] in numbers")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise body_error(field, "coordinates must be finite numbers")
    if not -180.0 <= lon <= 180.0:
        raise body_error(field, f"longitude {lon!r} is out of range [-180, 180] (WGS 84, longitude first)")
    if not -90.0 <= lat <= 90.0:
        raise body_error(field, f"latitude {lat!r} is out of range [-90, 90] (WGS 84, longitude first)")
    return lon, lat


def parse_geometry(geometry: dict[str, Any], max_area_km2: float) -> tuple[shapely.Geometry, float | None]:
    """The project geometry as shapely (2D, WGS 84) and a polygon's geodesic area (m²); 422 naming the field."""
    kind = geometry.get("type")
    if kind not in ("Point", "Polygon"):
        raise body_error("geometry.type", f"expected a GeoJSON Point or Polygon, not {kind!r}")
    coords = geometry.get("coordinates")
    if coords is None:
        raise body_error("geometry.coordinates", "missing coordinates")
    if not isinstance(coords, list) or not coords:
        raise body_error("geometry.coordinates", f"empty {kind}: coordinates must be a non-empty array")
    if kind == "Point":
        return shapely.Point(_position(coords, "geometry.coordinates")), None
    rings = []
    for i, ring in enumerate(coords):
        if not isinstance(ring, list):
            raise body_error(f"geometry.coordinates.{i}", "a linear ring must be an array of positions")
        points = [_position(p, f"geometry.coordinates.{i}.{j}") for j, p in enumerate(ring)]
        if len(points) < 4:
            raise body_error(f"geometry.coordinates.{i}", "a linear ring needs at least 4 positions (RFC 7946 §3.1.6)")
        if points[0] != points[-1]:
            raise body_error(f"geometry.coordinates.{i}", "a linear ring must be closed: its first and last "
                                                          "positions must be equal (RFC 7946 §3.1.6)")
        rings.append(points)
    polygon = shapely.Polygon(rings[0], rings[1:])
    if not polygon.is_valid:
        raise body_error("geometry", f"invalid polygon: {shapely.is_valid_reason(polygon)}")
    area_m2 = abs(GEOD.geometry_area_perimeter(polygon)[0])
    if not area_m2 > 0:
        raise body_error("geometry", "invalid polygon: its area is zero")
    if area_m2 > max_area_km2 * 1e6:
        raise body_error("geometry", f"the polygon covers {area_m2 / 1e6:.1f} km², more than the "
                                     f"{max_area_km2:g} km² a project site may cover")
    return polygon, area_m2


def _errors_under(e: ValidationError, prefix: tuple) -> RequestValidationError:
    return RequestValidationError([{"type": err["type"], "loc": ("body", *prefix, *err["loc"]), "msg": err["msg"]}
                                   for err in e.errors()])


def parse_project_chemicals(value: Any) -> tuple[list[dict], list[str]]:
    """The entries {chemical, quantity_t, hazard_category?} and, per entry, the field to name in an error."""
    if isinstance(value, str):
        try:
            entries = parse_chemicals(value)  # the importer's 'name:tonnes;name:tonnes' form
        except ValueError as e:
            raise body_error("chemicals", str(e)) from None
        fields = ["chemicals"] * len(entries)
    elif isinstance(value, list):
        if len(value) > MAX_CHEMICALS:
            raise body_error("chemicals", f"at most {MAX_CHEMICALS} chemicals, not {len(value)}")
        entries, fields = [], []
        for i, item in enumerate(value):
            try:
                c = _CHEMICAL.validate_python(item)
            except ValidationError as e:
                raise _errors_under(e, ("chemicals", i)) from None
            entry = {"chemical": c.name.strip(), "quantity_t": c.tonnes}
            if not entry["chemical"]:
                raise body_error(f"chemicals.{i}.name", "the chemical's name is blank")
            if c.hazard_category is not None:
                category = c.hazard_category.strip().upper()
                if category not in HAZARD_CATEGORIES:
                    raise body_error(f"chemicals.{i}.hazard_category",
                                     f"unknown GB 18218 hazard category {c.hazard_category!r}; expected one of "
                                     f"{', '.join(sorted(HAZARD_CATEGORIES))}")
                entry["hazard_category"] = category
            entries.append(entry)
            fields.append(f"chemicals.{i}.name")
    elif value is None:
        raise body_error("chemicals", "no chemicals: give the project's chemicals and quantities")
    else:
        raise body_error("chemicals", 'expected a list of {"name", "tonnes"} objects or the text form '
                                      '"name:tonnes;name:tonnes"')
    if not entries:
        raise body_error("chemicals", "no chemicals: give the project's chemicals and quantities")
    if len(entries) > MAX_CHEMICALS:
        raise body_error("chemicals", f"at most {MAX_CHEMICALS} chemicals, not {len(entries)}")
    return entries, fields


def siting_params(model: dict) -> dict[str, Any]:
    """The [siting] section of the risk model (geo/risk/model.toml documents each value)."""
    from geo.risk.config import ModelConfigError

    own = model.get("siting")
    keys = ("max_area_km2", "important_venue_types", "general_1_min_people", "general_2_min_people", "screening_m")
    missing = [k for k in keys if own is None or k not in own]
    if missing:
        raise ModelConfigError(f"the risk model has no [siting] {', '.join(missing)}: copy the [siting] section of "
                               "the shipped geo/risk/model.toml into it")
    params = dict(own)
    params["screening_m"] = {k: float(v) for k, v in own["screening_m"].items()}
    return params


# ----- GB 18218 ---------------------------------------------------------------------------------------------------

def resolve_chemicals(entries: list[dict], fields: list[str], g: dict) -> tuple[pd.DataFrame, pd.Series]:
    """Q, β, q/Q per entry (geo.risk.chemicals) and the S and Σβq/Q sums; 422 naming every unknown chemical."""
    inventory = pd.Series([None], dtype=object)
    inventory.iloc[0] = entries
    exploded, _, _ = explode_inventories(inventory)
    resolved = resolve_entries(exploded, g)
    unknown = np.flatnonzero(resolved["match"].to_numpy() == MATCH_UNKNOWN)
    if len(unknown):
        raise RequestValidationError([{
            "type": "value_error", "loc": ("body", fields[k]),
            "msg": f"unknown chemical {entries[k]['chemical']!r}: not a name, alias or CAS number of GB 18218-2018 "
                   "Table 1; give its hazard_category (Table 2: J1-J5, W1.1-W11) in the list form"}
            for k in unknown])
    sums = inventory_sums(inventory, g).iloc[0]
    return resolved, sums


def _table1_row(chemical: str, ref: str) -> pd.Series | None:
    """The Table 1 row a chemical matched by name (for its name and CAS number): the row its exact spelling
    keys, else the only row with its reference; None when that is ambiguous."""
    tables = load_tables()
    key = normalise_names(pd.Series([chemical])).iloc[0]
    row = tables.keys.get(key) if isinstance(key, str) else None
    if row is not None and tables.named.at[row, "ref"] == ref:
        return tables.named.loc[row]
    same_ref = tables.named[tables.named["ref"] == ref]
    return same_ref.iloc[0] if len(same_ref) == 1 else None


def gb18218_result(resolved: pd.DataFrame, sums: pd.Series, people: float, model: dict) -> GB18218:
    g = model["enterprise"]["gb18218"]
    alpha = float(alpha_from_people(np.array([people], dtype=float), g)[0][0])
    s_value, beta_sum = float(sums["s_value"]), float(sums["beta_sum"])
    r_value = alpha * beta_sum
    major = s_value >= float(g["major_hazard_min_s"])
    level = int(major_hazard_level(np.array([r_value]), g)[0]) if major else None
    chemicals = []
    for row in resolved.itertuples(index=False):
        table_row = _table1_row(row.chemical, row.ref) if row.match == MATCH_NAME else None
        chemicals.append(ChemicalOut(
            name=row.chemical, tonnes=float(row.quantity_t),
            hazard_category=None if pd.isna(row.hazard_category) else row.hazard_category,
            match=row.match, ref=row.ref,
            table_name=None if table_row is None else table_row["name"],
            cas=None if table_row is None else (table_row["cas"] or None),
            q_t=float(row.q_crit_t), beta=float(row.beta), q_ratio=round(float(row.ratio), 6),
            beta_q_ratio=round(float(row.beta * row.ratio), 6)))
    return GB18218(people_500m=round(people, 2), alpha_radius_m=float(model["context"]["alpha_radius_m"]),
                   alpha=alpha, s_value=round(s_value, 6), beta_sum=round(beta_sum, 6), r_value=round(r_value, 6),
                   major_hazard=bool(major), major_hazard_level=level,
                   level_name=LEVEL_NAMES.get(level) if level else None, chemicals=chemicals,
                   source=GB18218_SOURCE + "; Q and β from geo/risk/tables, α and levels from the risk model "
                                           "[enterprise.gb18218]")


# ----- targets ----------------------------------------------------------------------------------------------------

def _rows(conn, name: str, params: dict) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute(sql_text(name), params)
        columns = [d[0] for d in cur.description]
        return [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]


def _general_class(people: float | None, p: dict) -> str:
    if people is None or people >= float(p["general_1_min_people"]):
        return "general_1"
    return "general_2" if people >= float(p["general_2_min_people"]) else "general_3"


def pipeline_zone(distance_m: float, ctx: dict) -> Zone:
    """The Pipeline Protection Law zone a distance from the centreline falls in (domain.md §4)."""
    z5, z50, z200 = float(ctx["zone_5_m"]), float(ctx["zone_50_m"]), float(ctx["corridor_m"])
    if distance_m <= z5:
        return Zone(code="5m", limit_m=z5, article="Art. 30", article_zh="第三十条",
                    rule_zh=f"管道中心线两侧各{z5:g}米内禁止修建任何建筑物、构筑物，禁止取土、用火、堆放重物、机械挖掘等",
                    rule_en=f"within {z5:g} m of the centreline no building or structure may be erected, and "
                            "digging, fire, heavy stacking and mechanical excavation are forbidden")
    if distance_m <= z50:
        return Zone(code="50m", limit_m=z50, article="Art. 35(2)", article_zh="第三十五条第二项",
                    rule_zh=f"{z5:g}至{z50:g}米内新建、改建、扩建道路、铁路、河渠，架设电力线路，埋设电缆光缆，设置接地体须经许可",
                    rule_en=f"within {z5:g}-{z50:g} m new roads, railways, canals, power lines, buried cables and "
                            "earthing need a permit from the county pipeline-protection department")
    return Zone(code="200m", limit_m=z200, article="Art. 35(3)", article_zh="第三十五条第三项",
                rule_zh=f"{z200:g}米内爆破、地震法勘探、工程挖掘、工程钻探、采矿须经许可",
                rule_en=f"within {z200:g} m blasting, seismic survey, excavation, drilling and mining need a permit")


def _m(d: float) -> str:
    return f"{d:.0f} m"


# ----- the route --------------------------------------------------------------------------------------------------

@router.post("/siting-check", response_model=SitingReport, summary="Siting red line of a proposed project",
             responses={422: {"description": "Bad input, the field named (problem+json)."}})
def siting_check(body: SitingRequest, conn: Connection, model: RiskModel):
    """For a proposed hazardous-chemicals project (a GeoJSON Point or Polygon in WGS 84 and its chemicals), the
    GB 18218 result it would have (people within 500 m, α, S, R, major hazard and level), the settlements, crowded
    venues and existing major hazards within 500 m and the pipelines within 200 m (with their Pipeline Protection
    Law zone), nearest first with geodesic distances, the GB 36894 protected-target classes found within the
    screening radii (an assumption: the standard gives risk criteria, not distances), and plain findings in
    Chinese and English.  A point stands for the whole site: the rings are measured from it."""
    ctx = model["context"]
    g = model["enterprise"]["gb18218"]
    p = siting_params(model)
    site, area_m2 = parse_geometry(body.geometry, float(p["max_area_km2"]))
    entries, fields = parse_project_chemicals(body.chemicals)
    resolved, sums = resolve_chemicals(entries, fields, g)

    alpha_r, corridor = float(ctx["alpha_radius_m"]), float(ctx["corridor_m"])
    screening = p["screening_m"]
    vulnerable_types = set(model["venue"]["vulnerability"]["points"])
    important_types = set(p["important_venue_types"])
    settlement_classes = ("general_1", "general_2", "general_3")
    ewkt = "SRID=4326;" + shapely.to_wkt(site, rounding_precision=-1)
    base = {"site": ewkt}
    settlements = _rows(conn, "siting_settlements", base | {
        "radius": max(alpha_r, *(screening[c] for c in settlement_classes)), "alpha_radius": alpha_r,
        "persons_per_household": float(ctx["persons_per_household"])})
    venues = _rows(conn, "siting_venues", base | {"radius": max(alpha_r, *screening.values()), "ring": alpha_r})
    pipelines = _rows(conn, "siting_pipelines", base | {"radius": corridor})
    hazards = _rows(conn, "siting_major_hazards", base | {"radius": alpha_r})

    people = float(sum(s["people"] or 0.0 for s in settlements if s["counted"]))
    gb = gb18218_result(resolved, sums, people, model)

    ring = Why(rule="GB 18218 500 m ring (α: resident people within 500 m outside the site)", limit_m=alpha_r,
               source=GB18218_SOURCE)
    for s in settlements:
        s["gb36894_class"] = _general_class(s["people"], p)
    for v in venues:
        v["vulnerable"] = v["venue_type"] in vulnerable_types
        v["gb36894_class"] = ("high_sensitivity" if v["vulnerable"] else "important" if v["venue_type"]
                              in important_types else _general_class(v["occupancy"], p))

    def base_item(kind: str, r: dict, why: Why) -> dict:
        return {"kind": kind, "id": r["id"], "source_id": r["source_id"], "name": r["name"],
                "distance_m": round(float(r["distance_m"]), 2), "why": why}

    targets = Targets(
        settlements=[SettlementTarget(**base_item("settlement", s, ring), people=round(float(s["people"]), 2),
                                      population=s["population"], households=s["households"],
                                      counted_in_alpha=bool(s["counted"]), inside_site=bool(s["inside_site"]),
                                      gb36894_class=s["gb36894_class"])
                     for s in settlements if s["in_ring"]],
        venues=[VenueTarget(**base_item("venue", v, Why(
                    rule="GB 18218 500 m ring; crowded venue" + (" with vulnerable occupants (GB 32167 特定场所Ⅰ, "
                                                                 "GB 36894 高敏感)" if v["vulnerable"] else ""),
                    limit_m=alpha_r, source=GB18218_SOURCE + "; domain.md §5, §7")),
                    venue_type=v["venue_type"], vulnerable=v["vulnerable"], occupancy=v["occupancy"],
                    status=v["status"], inside_site=bool(v["inside_site"]), gb36894_class=v["gb36894_class"])
                for v in venues if v["in_ring"]],
        pipelines=[],
        major_hazards=[MajorHazardTarget(**base_item("enterprise", e, Why(
                           rule="existing GB 18218 major hazard within the 500 m ring (domino and cumulative risk)",
                           limit_m=alpha_r, source=GB18218_SOURCE)),
                           industry=e["industry"], s_value=e["s_value"], r_value=e["r_value"],
                           major_hazard_level=e["major_hazard_level"], level=e["level"])
                       for e in hazards],
    )
    for r in pipelines:
        zone = pipeline_zone(float(r["distance_m"]), ctx)
        targets.pipelines.append(PipelineTarget(
            **base_item("pipeline", r, Why(rule=f"Pipeline Protection Law {zone.article}: {zone.code} zone",
                                           limit_m=zone.limit_m, source=PIPELINE_LAW)),
            medium=r["medium"], diameter_mm=r["diameter_mm"], pressure_mpa=r["pressure_mpa"], operator=r["operator"],
            status=r["status"], crosses_site=bool(r["crosses_site"]), zone=zone))

    gb36894 = gb36894_section(settlements, venues, screening)
    project = Project(name=body.name, geometry=body.geometry, geometry_type=body.geometry["type"],
                      area_m2=round(area_m2, 1) if area_m2 is not None else None,
                      area_km2=round(area_m2 / 1e6, 4) if area_m2 is not None else None)
    findings = make_findings(project, gb, targets, gb36894, g)
    return SitingReport(project=project, gb18218=gb, targets=targets, gb36894=gb36894, findings=findings,
                        model_version=str(model["version"]))


def gb36894_section(settlements: list[dict], venues: list[dict], screening: dict[str, float]) -> GB36894:
    classes = [ScreeningClass(target_class=c, label=d["label"], members=d["members"], screening_m=screening[c],
                              individual_risk_new=d["new"], individual_risk_existing=d["existing"],
                              assumption="screening radius: riskmap's assumption, not a distance of GB 36894")
               for c, d in GB36894_CLASSES.items()]
    found = []
    candidates = [("settlement", s) for s in settlements] + [("venue", v) for v in venues]
    for c, d in GB36894_CLASSES.items():
        inside = sorted(((float(r["distance_m"]), kind, r) for kind, r in candidates
                         if r["gb36894_class"] == c and r["distance_m"] <= screening[c]),
                        key=lambda t: (t[0], t[1], t[2]["id"]))
        if inside:
            found.append(ClassFound(target_class=c, label=d["label"], screening_m=screening[c], count=len(inside),
                                    nearest_m=round(inside[0][0], 2),
                                    targets=[ClassTarget(kind=kind, id=r["id"], source_id=r["source_id"],
                                                         name=r["name"], distance_m=round(dist, 2))
                                             for dist, kind, r in inside]))
    return GB36894(standard="GB 36894-2018 危险化学品生产装置和储存设施风险基准", fixed_distances=False,
                   note_zh=GB36894_NOTE_ZH, note_en=GB36894_NOTE_EN, source=GB36894_SOURCE, classes=classes,
                   found=found)


def _capped(findings: list[Finding], code: str, zh_tail: str, en_tail: str) -> list[Finding]:
    """The first MAX_FINDINGS_EACH findings of a kind (nearest first), then one sentence counting the rest."""
    if len(findings) <= MAX_FINDINGS_EACH:
        return findings
    rest = len(findings) - MAX_FINDINGS_EACH
    return findings[:MAX_FINDINGS_EACH] + [Finding(code=f"{code}_more", zh=f"另有{rest}{zh_tail}（见targets）。",
                                                   en=f"{rest} more {en_tail} (see targets).")]


def make_findings(project: Project, gb: GB18218, targets: Targets, gb36894: GB36894, g: dict) -> list[Finding]:
    """Plain sentences, the most important first."""
    out: list[Finding] = []
    s_min = float(g["major_hazard_min_s"])
    if gb.major_hazard:
        out.append(Finding(
            code="major_hazard",
            zh=f"按GB 18218-2018，S = {gb.s_value:.2f} ≥ {s_min:g}，项目将构成危险化学品重大危险源；"
               f"R = {gb.r_value:.2f}（α = {gb.alpha:g}），为{gb.level_name}重大危险源。",
            en=f"Under GB 18218-2018 S = {gb.s_value:.2f} ≥ {s_min:g}: the project would be a major hazard "
               f"installation; R = {gb.r_value:.2f} (α = {gb.alpha:g}) makes it a level-{gb.major_hazard_level} "
               f"({gb.level_name}) major hazard."))
    else:
        out.append(Finding(
            code="not_major_hazard",
            zh=f"按GB 18218-2018，S = {gb.s_value:.2f} < {s_min:g}，项目不构成重大危险源（R = {gb.r_value:.2f}）。",
            en=f"Under GB 18218-2018 S = {gb.s_value:.2f} < {s_min:g}: the project would not be a major hazard "
               f"installation (R = {gb.r_value:.2f})."))
    out.append(Finding(
        code="people_500m",
        zh=f"项目边界外{gb.alpha_radius_m:g}米范围内常住人口约{gb.people_500m:.0f}人，α = {gb.alpha:g}。",
        en=f"About {gb.people_500m:.0f} residents live within {gb.alpha_radius_m:g} m outside the site: "
           f"α = {gb.alpha:g}."))
    if project.geometry_type == "Point":
        out.append(Finding(
            code="point_site",
            zh="项目以点位给出：各距离自该点量起，而非自厂区边界；请提交用地范围（面）以得到更准确的结果。",
            en="The project is given as a point: distances are measured from that point, not from the site "
               "boundary; submit the site polygon for a more accurate check."))
    inside = [s for s in targets.settlements if s.inside_site]
    out += _capped([Finding(code="settlement_inside_site",
                            zh=f"居民点“{s.name}”（约{s.people:.0f}人）位于项目用地范围内。",
                            en=f"The settlement {s.name} (about {s.people:.0f} people) lies inside the site.")
                    for s in inside], "settlement_inside_site", "处居民点位于项目用地范围内",
                   "settlements lie inside the site")
    vulnerable = []
    for v in targets.venues:
        if v.vulnerable:
            zh_type, en_type = VENUE_NAMES.get(v.venue_type, (v.venue_type, v.venue_type))
            if v.inside_site:
                where_zh, where_en = "位于项目用地范围内", "lies inside the site"
            else:
                where_zh = f"距项目{_m(v.distance_m)}，在{_m(v.why.limit_m)}范围内"
                where_en = f"lies {_m(v.distance_m)} away, within {_m(v.why.limit_m)}"
            vulnerable.append(Finding(code="vulnerable_venue", zh=f"{zh_type}“{v.name}”{where_zh}（高敏感防护目标）。",
                                      en=f"A {en_type}, {v.name}, {where_en} (a high-sensitivity protected target)."))
    out += _capped(vulnerable, "vulnerable_venue", "处医院、学校、幼儿园或养老院在500 m范围内",
                   "hospitals, schools, kindergartens or nursing homes lie within 500 m")
    pipes = []
    for pl in targets.pipelines:
        zh_medium, en_medium = MEDIUM_NAMES.get(pl.medium, (pl.medium, pl.medium))
        where_zh = "穿越项目用地" if pl.crosses_site else f"距项目{_m(pl.distance_m)}"
        where_en = "crosses the site" if pl.crosses_site else f"lies {_m(pl.distance_m)} away"
        pipes.append(Finding(
            code=f"pipeline_zone_{pl.zone.code}",
            zh=f"{zh_medium}管道“{pl.name}”{where_zh}，位于《石油天然气管道保护法》{pl.zone.limit_m:g}米范围内"
               f"（{pl.zone.article_zh}：{pl.zone.rule_zh}）。",
            en=f"A {en_medium} pipeline, {pl.name}, {where_en}, inside the {pl.zone.limit_m:g} m zone of the Oil and "
               f"Gas Pipeline Protection Law ({pl.zone.article}: {pl.zone.rule_en})."))
    out += _capped(pipes, "pipelines", "条管道在200 m范围内", "pipelines lie within 200 m")
    if targets.pipelines:
        out.append(Finding(
            code="pipeline_separation",
            zh="《石油天然气管道保护法》第三十一条：在管道附近建设易燃易爆物品生产、储存场所，须符合国家技术规范规定的安全距离。",
            en="Pipeline Protection Law Art. 31: a site producing or storing flammable or explosive goods near a "
               "pipeline must keep the separation distances of the mandatory technical codes."))
    if targets.major_hazards:
        e = targets.major_hazards[0]
        out.append(Finding(
            code="major_hazards_500m",
            zh=f"{_m(e.why.limit_m)}范围内有{len(targets.major_hazards)}处已有重大危险源，最近的“{e.name}”距项目"
               f"{_m(e.distance_m)}。",
            en=f"{len(targets.major_hazards)} existing major hazard installation(s) lie within {_m(e.why.limit_m)}; "
               f"the nearest, {e.name}, is {_m(e.distance_m)} away."))
    if gb36894.found:
        parts_zh = "；".join(f"{c.label}{c.count}处（{_m(c.screening_m)}内，最近{_m(c.nearest_m)}）"
                            for c in gb36894.found)
        parts_en = "; ".join(f"{c.count} {c.target_class.replace('_', ' ')} (within {_m(c.screening_m)}, nearest "
                             f"{_m(c.nearest_m)})" for c in gb36894.found)
        out.append(Finding(
            code="gb36894_targets",
            zh="GB 36894-2018只规定风险基准、不规定固定距离，须经定量风险评价确定外部安全防护距离；"
               f"筛查范围内的防护目标：{parts_zh}。",
            en="GB 36894-2018 gives risk criteria, not fixed distances: a quantitative risk assessment must set the "
               f"external safety distance. Protected targets within the screening radii: {parts_en}."))
    else:
        out.append(Finding(
            code="gb36894_targets",
            zh="GB 36894-2018只规定风险基准、不规定固定距离；筛查范围内未发现防护目标。",
            en="GB 36894-2018 gives risk criteria, not fixed distances; no protected target lies within the "
               "screening radii."))
    return out
