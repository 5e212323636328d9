"""The layers riskmap publishes as OGC collections: for each layer of geo/layers.py (the one list of published
layers, with their ids, titles and descriptions), where its rows live and the properties each feature carries,
with a JSON Schema type and a description.  A layer of geo/layers.py without its entry here stops the import
(``FIXED``), so that no layer is published one way and missed in another.

Five families: sites (enterprise, tailings_pond, venue and their outline layers: a table of their own with an
integer id and a date of last inspection; one SQL for them), pipeline segments (integer id, no date), hidden dangers
(records at their site's location, dated by when they were found), plan routes (the routes of the stored inspection
plans, dated by when the plan was made) and area risk (admin counties and H3 cells of one resolution, keyed by their
text code). Every site, segment and area feature has its ``score``, its ``level`` (blue, yellow, orange, red: what
the four-colour styling keys on) and, where it has factors, its ``top_factors``.

Sites are stored as points or polygons, and a GIS layer has one geometry type: ``enterprise``, ``tailings_pond`` and
``venue`` serve every site as a point (a polygon's point on its surface, ``point``), ``enterprise_area``,
``tailings_pond_area`` and ``venue_area`` the sites stored as polygons (``polygons``) with their outline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from geo import layers as published

LEVELS = ("blue", "yellow", "orange", "red")
COUNTY = 3  # area_risk.resolution of an admin area at county level (1 province, 2 city, 3 county, 4 township)
H3_PREFIX = published.H3_PREFIX


@dataclass(frozen=True)
class Prop:
    name: str
    type: str  # JSON Schema: string, number, integer, boolean
    description: str
    format: str | None = None  # "date" for dates
    enum: tuple[str, ...] | None = None

    def schema(self) -> dict:
        s: dict = {"title": self.name, "description": self.description, "type": self.type}
        if self.format:
            s["format"] = self.format
        if self.enum:
            s["enum"] = list(self.enum)
        return s


RISK_PROPS = (
    Prop("score", "number", "Risk score, 0 to 100 (two decimals)."),
    Prop("level", "string", "Risk level: blue (low), yellow, orange, red (major).", enum=LEVELS),
    Prop("direct_red", "string", "The direct-red rule that set the level to red, if any."),
    Prop("top_factors", "string", "The factors that gave the most points, highest first (up to three, comma "
                                  "separated; their titles are in /features/{kind}/{id})."),
)
SITE_PROPS = (
    Prop("source_id", "string", "The id in the source register."),
    Prop("name", "string", "Name."),
)
STATUS = Prop("status", "string", "operating, suspended, closed or under_construction.")
MAJOR = Prop("major_hidden_danger", "boolean", "A major hidden danger is recorded in the register.")
LAST_INSPECTION = Prop("last_inspection", "string", "The register's date of the last inspection.", format="date")


@dataclass(frozen=True)
class Layer:
    id: str
    title: str
    description: str
    family: str  # "site", "segment", "danger", "plan" or "area"
    props: tuple[Prop, ...]
    table: str | None = None  # site and segment families
    kind: str | None = None  # feature_risk.kind
    date: str | None = None  # the column datetime filters on
    area_type: str | None = None
    resolution: int | None = None
    extra: tuple[str, ...] = field(default=())  # the table's own columns among the props (site family)
    point: bool = False  # site family: each feature at its geometry's point on surface (one geometry type)
    polygons: bool = False  # site family: only the rows stored as polygons

    @property
    def geometry_sql(self) -> str:
        """The SQL of a site feature's geometry (its row ``f``)."""
        return "ST_PointOnSurface(f.geom)" if self.point else "f.geom"

    @property
    def kept_sql(self) -> str:
        """The SQL condition on a site's row ``f`` that keeps the rows of this layer."""
        return "ST_Dimension(f.geom) = 2" if self.polygons else "TRUE"

    @property
    def text_ids(self) -> bool:
        return self.family == "area"


def _titled(layer: published.Layer) -> tuple[str, str]:
    return layer.title_en, layer.description


BY_ID = {layer.id: layer for layer in published.FIXED_LAYERS}


def _site(id_: str, own: tuple[Prop, ...], date: str, table: str | None = None, **shape: bool) -> Layer:
    return Layer(id_, *_titled(BY_ID[id_]), "site", SITE_PROPS + own + RISK_PROPS, table=table or id_,
                 kind=table or id_, date=date, extra=tuple(p.name for p in own), **shape)


ENTERPRISE = _site(
    "enterprise",
    (Prop("industry", "string", "Industry (hazardous_chemicals, metallurgy, mining, ...)."), STATUS,
     Prop("employees", "integer", "Employees."),
     Prop("open_hidden_dangers", "integer", "Open hidden dangers in the register."), MAJOR, LAST_INSPECTION),
    "last_inspection", point=True)
ENTERPRISE_AREA = _site("enterprise_area", ENTERPRISE.props[len(SITE_PROPS):-len(RISK_PROPS)], "last_inspection",
                        table="enterprise", polygons=True)
POND_PROPS = (
    Prop("ore", "string", "Ore."), STATUS,
     Prop("safety_state", "string", "normal, ill, dangerous or critical."),
     Prop("dam_height_m", "number", "Dam height (m)."),
     Prop("capacity_10k_m3", "number", "Capacity (10,000 m³)."),
     Prop("downstream_population", "integer", "People living downstream."),
     Prop("downstream_direction_deg", "number", "Downstream direction (degrees from north)."), MAJOR,
     LAST_INSPECTION)
TAILINGS_POND = _site("tailings_pond", POND_PROPS, "last_inspection", point=True)
TAILINGS_POND_AREA = _site("tailings_pond_area", POND_PROPS, "last_inspection", table="tailings_pond",
                           polygons=True)
VENUE = _site(
    "venue",
    (Prop("venue_type", "string", "Type (mall, school, hospital, ...)."), STATUS,
     Prop("occupancy", "integer", "Occupancy (people)."),
     Prop("storey", "integer", "Storeys."),
     Prop("floor_area_m2", "number", "Floor area (m²)."),
     Prop("exits", "integer", "Exits."),
     Prop("sprinklers", "boolean", "Sprinklers installed."),
     Prop("fire_alarm", "boolean", "Fire alarm installed."),
     Prop("last_fire_inspection", "string", "The register's date of the last fire inspection.", format="date")),
    "last_fire_inspection", point=True)
VENUE_AREA = _site("venue_area", VENUE.props[len(SITE_PROPS):-len(RISK_PROPS)], "last_fire_inspection",
                   table="venue", polygons=True)
PIPELINE_SEGMENT = Layer(
    "pipeline_segment", *_titled(BY_ID["pipeline_segment"]), "segment",
    (Prop("pipeline_id", "integer", "The pipeline's id."), Prop("name", "string", "The pipeline's name."),
     Prop("seq", "integer", "The segment's place along its pipeline, from 0."),
     Prop("length_m", "number", "Length (m).")) + RISK_PROPS,
    table="pipeline_segment", kind="pipeline_segment")
HIDDEN_DANGER = Layer(
    "hidden_danger", *_titled(BY_ID["hidden_danger"]), "danger",
    (Prop("source_id", "string", "The record's id in its source."),
     Prop("site_kind", "string", "The site's class (enterprise, tailings_pond, pipeline, venue)."),
     Prop("site_id", "integer", "The site's id."),
     Prop("description", "string", "What was found."),
     Prop("category", "string", "Category."),
     Prop("grade", "string", "general or major.", enum=("general", "major")),
     Prop("status", "string", "open, rectified, verified or reopened.",
          enum=("open", "rectified", "verified", "reopened")),
     Prop("found_on", "string", "The day it was found.", format="date"),
     Prop("deadline", "string", "The deadline for rectifying it.", format="date"),
     Prop("rectified_on", "string", "The day it was rectified.", format="date"),
     Prop("verified_on", "string", "The day its rectification was verified.", format="date"))
    + tuple(Prop(p.name, p.type, f"The site's {p.description[0].lower()}{p.description[1:]}", p.format, p.enum)
            for p in RISK_PROPS),
    table="hidden_danger", date="found_on")
PLAN_ROUTE = Layer(
    "plan_route", *_titled(BY_ID["plan_route"]), "plan",
    (Prop("plan_id", "integer", "The plan's id (/plans/{id})."),
     Prop("created_at", "string", "When the plan was made (UTC).", format="date-time"),
     Prop("area", "string", "The admin code of the area planned (none: everywhere)."),
     Prop("model_version", "string", "The risk model version of the scores the plan was made from."),
     Prop("team", "integer", "The team, from 1."),
     Prop("team_name", "string", "The team's name."),
     Prop("day", "integer", "The working day, from 1."),
     Prop("stops", "integer", "Sites inspected that day."),
     Prop("km", "number", "Distance travelled that day (km), base to base."),
     Prop("hours", "number", "Hours that day, from leaving the base to coming back."),
     Prop("risk", "number", "Risk covered that day: the sum of the scores of its stops."),
     Prop("leave", "string", "The time the team leaves its base (HH:MM)."),
     Prop("back", "string", "The time the team is back (HH:MM).")),
    table="plan_route", date="created_at")
AREA_PROPS = (
    Prop("name", "string", "The area's name (admin areas; none for H3 cells)."),
    Prop("score", "number", "The area's aggregate risk score (two decimals)."),
    Prop("level", "string", "The area's risk level by the model's area rule.", enum=LEVELS),
    Prop("level_max", "string", "The highest level of a feature inside.", enum=LEVELS),
    Prop("level_banded", "string", "The aggregate score banded into a level.", enum=LEVELS),
    Prop("features", "integer", "Scored features inside."),
    Prop("red", "integer", "Red features inside."),
    Prop("orange", "integer", "Orange features inside."),
    Prop("population_exposed", "number", "People exposed."),
)
AREA_COUNTY = Layer("area_county", *_titled(BY_ID["area_county"]), "area", AREA_PROPS, area_type="admin",
                    resolution=COUNTY)


def h3_layer(resolution: int) -> Layer:
    return Layer(f"{H3_PREFIX}{resolution}", *_titled(published.h3_layer(resolution)), "area", AREA_PROPS,
                 area_type="h3", resolution=resolution)


_OGC = {layer.id: layer for layer in (ENTERPRISE, ENTERPRISE_AREA, TAILINGS_POND, TAILINGS_POND_AREA, VENUE,
                                      VENUE_AREA, PIPELINE_SEGMENT,
                                      HIDDEN_DANGER, PLAN_ROUTE, AREA_COUNTY)}
if set(_OGC) != set(BY_ID):  # (a layer of geo/layers.py with no collection here, or one here not listed there)
    raise RuntimeError(f"api/ogc/layers.py and geo/layers.py list different layers: {sorted(set(_OGC) ^ set(BY_ID))}")
FIXED = {layer_id: _OGC[layer_id] for layer_id in BY_ID}  # in geo/layers.py's order


def h3_resolution(layer_id: str) -> int | None:
    """The resolution an ``area_h3_<res>`` id names, or None."""
    m = re.fullmatch(rf"{H3_PREFIX}(\d{{1,2}})", layer_id)
    return int(m.group(1)) if m else None
