"""The layers riskmap publishes to GIS clients (issue 16): one id, title, description and geometry type each.

The one list of them, for every way out: the OGC API – Features collections (``/ogc/collections/{id}``:
api/ogc/layers.py adds each one's properties and SQL, and refuses to load if a layer here has none), the vector
tile layers (``/tiles/{id}/...``) and the QGIS project (``riskmap qgis``, ``GET /qgis``) use the ids listed here,
in this order (tests/api/test_published_layers.py checks that all three publish exactly these).  Site layers carry
``score``, ``level`` (blue / yellow / orange / red) and their top factors, and are styled on ``level``; hidden
dangers are styled as the web map draws them (``styled_by="danger"``) and plan routes by team
(``styled_by="team"``).  The H3 layers are one per resolution that has cells stored in ``area_risk``
(``area_h3_7``), so the list is made from those resolutions (``published_layers``).

A layer of a GIS client has one geometry type, and sites (enterprises, tailings ponds, crowded venues) are stored as
points or polygons: each site layer (``enterprise``, ``tailings_pond``, ``venue``) gives every site as a point (a
polygon's point on its surface), so that it lists every site as a marker, and its ``_area`` layer
(``enterprise_area``, ``tailings_pond_area``, ``venue_area``) gives the sites stored as polygons with their outline.
The vector tiles carry both in the one tile layer of the class (a tile may mix geometry types), so the ``_area``
layers have no tile layer of their own (``tiles=False``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Geometry = Literal["Point", "Line", "Polygon"]
Styling = Literal["level", "danger", "team"]


@dataclass(frozen=True)
class Layer:
    """One published layer.  ``geometry`` is how a client draws it (a marker, a line or a filled area)."""

    id: str
    title_zh: str
    title_en: str
    description: str  # English, one or two sentences
    geometry: Geometry
    area: bool = False  # an area layer (admin areas, H3 cells): their risk aggregated, not a site's own
    styled_by: Styling = "level"  # what its styling keys on: the risk level, a danger's state, a route's team
    tiles: bool = True  # a vector tile layer of its own id


FEATURE_LAYERS = (
    Layer("enterprise", "企业", "Enterprises",
          "Every enterprise under supervision (hazardous chemicals, mines, metallurgy and others) as a point (one "
          "stored as a polygon at its point on surface), with its risk score, four-colour level and top risk "
          "factors.", "Point"),
    Layer("tailings_pond", "尾矿库", "Tailings ponds",
          "Every tailings pond as a point (a pond stored as a polygon at its point on surface), with its grade, "
          "safety state, the 1 km downstream 'overhead' check and its risk score, level and top factors.", "Point"),
    Layer("venue", "人员密集场所", "Crowded venues",
          "Every crowded place (malls, schools, hospitals, stations and others) as a point (one stored as a polygon "
          "at its point on surface), with its occupant load, exits and risk score, level and top factors.",
          "Point"),
    Layer("pipeline_segment", "管道分段", "Pipeline segments",
          "Oil and gas pipelines in scored segments of about 1 km, each with its high-consequence areas, "
          "third-party damage pressure and risk score, level and top factors.", "Line"),
)
ENTERPRISE_AREA_LAYER = Layer("enterprise_area", "企业范围", "Enterprise outlines",
                              "The enterprises stored as polygons (their plant's outline), with the same properties "
                              "as the enterprise layer (risk score, level and top factors).", "Polygon", tiles=False)
POND_AREA_LAYER = Layer("tailings_pond_area", "尾矿库范围", "Tailings pond outlines",
                        "The tailings ponds stored as polygons, with their outline and the same properties as "
                        "the tailings_pond layer (risk score, level and top factors).", "Polygon", tiles=False)
VENUE_AREA_LAYER = Layer("venue_area", "人员密集场所范围", "Crowded venue outlines",
                         "The crowded venues stored as polygons (their building's outline), with the same properties "
                         "as the venue layer (risk score, level and top factors).", "Polygon", tiles=False)
OUTLINE_LAYERS = (ENTERPRISE_AREA_LAYER, POND_AREA_LAYER, VENUE_AREA_LAYER)
HIDDEN_DANGER_LAYER = Layer("hidden_danger", "隐患", "Hidden dangers",
                            "Hidden danger records at their site's location, with their grade, status and dates, "
                            "and their site's score, level and top factors.", "Point", styled_by="danger")
PLAN_ROUTE_LAYER = Layer("plan_route", "检查计划路线", "Inspection plan routes",
                         "The routes of the stored inspection plans: one line per team and working day through its "
                         "stops in visiting order, with the day's km, hours and risk covered.", "Line",
                         styled_by="team")
COUNTY_LAYER = Layer("area_county", "县级区域风险", "County risk",
                     "Counties with their area risk: the score, the four-colour level and the counts of sites per "
                     "level inside.", "Polygon", area=True)
FIXED_LAYERS = FEATURE_LAYERS + OUTLINE_LAYERS + (HIDDEN_DANGER_LAYER, PLAN_ROUTE_LAYER, COUNTY_LAYER)
H3_PREFIX = "area_h3_"


def h3_layer(resolution: int) -> Layer:
    """The layer of the H3 cells of one resolution."""
    return Layer(f"{H3_PREFIX}{resolution}", f"H3 网格风险（{resolution} 级）",
                 f"H3 cell risk (resolution {resolution})",
                 f"H3 cells of resolution {resolution} with their area risk: the score, the four-colour level and "
                 "the counts of sites per level inside.", "Polygon", area=True)


def published_layers(h3_resolutions: list[int] | tuple[int, ...]) -> tuple[Layer, ...]:
    """Every published layer: the fixed ones, then the H3 cells from coarse to fine."""
    return FIXED_LAYERS + tuple(h3_layer(r) for r in sorted(set(h3_resolutions)))
