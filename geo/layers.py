"""The layers riskmap publishes to GIS clients (issue 16): one id, title, description and geometry type each.

The one list of them, for every way out: the OGC API – Features collections (``/ogc/collections/{id}``), the
vector tile layers (``/tiles/{id}/...``) and the QGIS project (``riskmap qgis``, ``GET /qgis``) use the same ids.
Each layer's features carry ``score``, ``level`` (blue / yellow / orange / red) and their top factors; ``level``
is what the four-colour styling keys on.  The H3 layers are one per resolution that has cells stored in
``area_risk`` (``area_h3_7``), so the list is made from those resolutions (``published_layers``).  Hidden dangers
(``hidden_danger``, at their site's location) join the list when the OGC API serves them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Geometry = Literal["Point", "Line", "Polygon"]


@dataclass(frozen=True)
class Layer:
    """One published layer.  ``geometry`` is how a client draws it (a marker, a line or a filled area)."""

    id: str
    title_zh: str
    title_en: str
    description: str  # English, one or two sentences
    geometry: Geometry
    area: bool = False  # an area layer (admin areas, H3 cells): their risk aggregated, not a site's own


FEATURE_LAYERS = (
    Layer("enterprise", "企业", "Enterprises",
          "Enterprises under supervision (hazardous chemicals, mines, metallurgy and others) with their risk "
          "score, four-colour level and top risk factors.", "Point"),
    # ponds are stored as points or polygons; clients draw every pond as a marker (its point for a polygon), as
    # the web map does, since a layer of QGIS has one geometry type
    Layer("tailings_pond", "尾矿库", "Tailings ponds",
          "Tailings ponds with their grade, safety state, the 1 km downstream 'overhead' check and their risk "
          "score, level and top factors.", "Point"),
    Layer("venue", "人员密集场所", "Crowded venues",
          "Crowded places (malls, schools, hospitals, stations and others) with their occupant load, exits and "
          "risk score, level and top factors.", "Point"),
    Layer("pipeline_segment", "管道分段", "Pipeline segments",
          "Oil and gas pipelines in scored segments of about 1 km, each with its high-consequence areas, "
          "third-party damage pressure and risk score, level and top factors.", "Line"),
)
COUNTY_LAYER = Layer("area_county", "县级区域风险", "County risk",
                     "Counties with their area risk: the score, the four-colour level and the counts of sites per "
                     "level inside.", "Polygon", area=True)


def h3_layer(resolution: int) -> Layer:
    """The layer of the H3 cells of one resolution."""
    return Layer(f"area_h3_{resolution}", f"H3 网格风险（{resolution} 级）", f"H3 cell risk (resolution {resolution})",
                 f"H3 cells of resolution {resolution} with their area risk: the score, the four-colour level and "
                 "the counts of sites per level inside.", "Polygon", area=True)


def published_layers(h3_resolutions: list[int] | tuple[int, ...]) -> tuple[Layer, ...]:
    """Every published layer: the feature layers, the counties, then the H3 cells from coarse to fine."""
    return FEATURE_LAYERS + (COUNTY_LAYER,) + tuple(h3_layer(r) for r in sorted(set(h3_resolutions)))
