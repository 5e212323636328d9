"""A QGIS project (.qgs) of riskmap's published layers, read live from a riskmap server (issue 16).

Each layer of geo/layers.py becomes a vector layer of QGIS's OGC API – Features provider (``OAPIF``, whose data
source is ``url='<server>/ogc' typename='<collection id>'``), styled as the web map draws it (``styled_by``):
sites, segments and areas with the four colours, a categorised renderer on the ``level`` property, red / orange /
yellow / blue (maps/main_map.py LEVEL_COLOURS); hidden dangers as the web map's danger markers (maps/static/
riskmap.css: a magenta ring while open, filled once overdue; rectified and verified ones listed, not drawn, as the
web map shows only the open ones); plan routes in their team's colour (maps/main_map.py TEAM_COLOURS, as the plan
page draws them), categorised on an expression of ``team``.
Names are in Chinese, with English in each layer's abstract.  The map opens on the data's extent, in EPSG:4326.

The document is built with xml.etree from the layer descriptions, in the shape QGIS 3 writes: a ``qgis`` root with
a ``version``, the project CRS, the layer tree, the map canvas, the ``projectlayers`` with one ``maplayer`` each
and the layer order.  Symbol layers carry their properties as an ``Option`` map, as QGIS writes them since 3.16
(older 3.x releases read that form too).  Only what a layer needs is written; QGIS fills in its defaults for the
rest when it opens the file, and writes them back if the project is saved.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from geo.layers import Layer
from maps.main_map import LEVEL_COLOURS, LEVEL_LABELS, TEAM_COLOURS

QGIS_VERSION = "3.34.0-Prizren"  # the long-term release whose project format this follows
PROVIDER = "OAPIF"  # QGIS's OGC API - Features provider
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
LEVELS = ("red", "orange", "yellow", "blue")  # the legend's order: the worst first
AREA_FILL_ALPHA = 115  # of 255: the web map's area fill opacity (0.45, maps/static/riskmap.js)
AREA_OUTLINE = "85,85,85,255"  # the web map's area outline (#555)
WGS84 = {"proj4": "+proj=longlat +datum=WGS84 +no_defs", "srsid": "3452", "srid": "4326", "authid": "EPSG:4326",
         "description": "WGS 84", "projectionacronym": "longlat", "ellipsoidacronym": "EPSG:7030",
         "geographicflag": "true"}
SYMBOL_TYPES = {"Point": "marker", "Line": "line", "Polygon": "fill"}
DEFAULT_MARKER = ("circle", "2.8")
# hidden dangers as the web map's markers (maps/static/riskmap.css .riskmap-danger-icon): a ring of the danger
# colour while open, filled (with a darker ring) once past its deadline; the rectified and verified ones are not
# drawn (the web map shows the open ones), but listed in the legend, to be switched on
DANGER_COLOUR, DANGER_OVERDUE_RING = "#c51b7d", "#67001f"
DANGER_STATE = ("CASE WHEN \"status\" IN ('open', 'reopened') AND to_date(\"deadline\") < to_date(now()) "
                "THEN 'overdue' WHEN \"status\" IN ('open', 'reopened') THEN 'open' ELSE 'closed' END")
DANGER_STATES = (("overdue", "逾期隐患 Overdue hidden danger"), ("open", "未整改隐患 Open hidden danger"),
                 ("closed", "已整改 / 已验收 Rectified or verified"))
# plan routes: the team's colour, cycling through the palette as the plan page does (team_colour)
TEAM_KEY = f'("team" - 1) % {len(TEAM_COLOURS)}'
DISPLAY_FIELDS = {"danger": "description", "team": "team_name"}  # what names a feature (else its "name")
ROUTE_ALPHA = 217  # of 255: the plan page's route opacity (0.85)


@dataclass(frozen=True)
class Extent:
    """A box in EPSG:4326 degrees."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float


def qgis_layer_id(layer: Layer) -> str:
    """The layer's id inside the project (QGIS ids are unique names; the collection id keeps them readable)."""
    return f"riskmap_{layer.id}"


def oapif_source(base_url: str, collection: str) -> str:
    """The OAPIF provider's data source of one collection: QGIS's ``key='value'`` URI, the server's /ogc landing
    page as ``url`` and the collection id as ``typename``, with features asked for by the view's box (the
    provider pages through them)."""
    return " ".join(f"{key}='{_quoted(value)}'" for key, value in (
        ("restrictToRequestBBOX", "1"), ("typename", collection), ("url", base_url.rstrip("/") + "/ogc")))


def qgis_project(layers: Sequence[Layer], base_url: str, extent: Extent | None, title: str = "riskmap 风险地图"
                 ) -> bytes:
    """The .qgs document (UTF-8) of ``layers`` served by the riskmap at ``base_url``, opening on ``extent`` (the
    whole world when there is no data).  The feature layers and the counties are shown; the H3 layers are listed,
    switched off."""
    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    _text(root, "title", title)
    _crs(ET.SubElement(root, "projectCrs"))
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for layer in layers:
        node = ET.SubElement(tree, "layer-tree-layer", id=qgis_layer_id(layer), name=layer.title_zh,
                             source=oapif_source(base_url, layer.id), providerKey=PROVIDER, expanded="1",
                             checked="Qt::Checked" if _shown(layer) else "Qt::Unchecked")
        ET.SubElement(node, "customproperties")
    _canvas(ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1"),
            extent or Extent(-180.0, -90.0, 180.0, 90.0))
    project_layers = ET.SubElement(root, "projectlayers")
    for layer in layers:
        _map_layer(ET.SubElement(project_layers, "maplayer"), layer, base_url)
    order = ET.SubElement(root, "layerorder")
    for layer in layers:
        ET.SubElement(order, "layer", id=qgis_layer_id(layer))
    ET.indent(root, space="  ")
    return (DOCTYPE + "\n" + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def _shown(layer: Layer) -> bool:
    return not layer.id.startswith("area_h3_")


def _canvas(canvas: ET.Element, extent: Extent) -> None:
    _text(canvas, "units", "degrees")
    box = ET.SubElement(canvas, "extent")
    for name in ("xmin", "ymin", "xmax", "ymax"):
        _text(box, name, repr(float(getattr(extent, name))))
    _text(canvas, "rotation", "0")
    _crs(ET.SubElement(canvas, "destinationsrs"))
    _text(canvas, "rendermaptile", "0")


def _map_layer(element: ET.Element, layer: Layer, base_url: str) -> None:
    element.attrib.update(type="vector", geometry=layer.geometry, readOnly="1", hasScaleBasedVisibilityFlag="0",
                          minScale="100000000", maxScale="0", styleCategories="AllStyleCategories")
    _text(element, "id", qgis_layer_id(layer))
    _text(element, "datasource", oapif_source(base_url, layer.id))
    _text(element, "title", layer.title_zh)
    abstract = f"{layer.title_en}: {layer.description}"
    _text(element, "abstract", abstract)
    keywords = ET.SubElement(element, "keywordList")
    for word in ("riskmap", layer.id, layer.title_en):
        _text(keywords, "value", word)
    _text(element, "layername", layer.title_zh)
    _crs(ET.SubElement(element, "srs"))
    metadata = ET.SubElement(element, "resourceMetadata")
    _text(metadata, "identifier", layer.id)
    _text(metadata, "title", layer.title_zh)
    _text(metadata, "abstract", abstract)
    _text(metadata, "language", "zh")
    _text(element, "provider", PROVIDER).set("encoding", "UTF-8")
    style = ET.SubElement(element, "map-layer-style-manager", current="default")
    ET.SubElement(style, "map-layer-style", name="default")
    _renderer(ET.SubElement(element, "renderer-v2"), layer)
    _text(element, "blendMode", "0")
    _text(element, "featureBlendMode", "0")
    _text(element, "layerOpacity", "1")
    _text(element, "displayfield", DISPLAY_FIELDS.get(layer.styled_by, "name"))


def _renderer(renderer: ET.Element, layer: Layer) -> None:
    """A categorised renderer: on ``level`` with the web map's four colours (one category and one symbol per
    level), on a danger's state for hidden dangers, on the team for plan routes."""
    if layer.styled_by == "danger":
        attr = DANGER_STATE
        white, ring, dark = "255,255,255,255", f"{_rgb(DANGER_COLOUR)},255", f"{_rgb(DANGER_OVERDUE_RING)},255"
        looks = {"overdue": (ring, dark), "open": (white, ring), "closed": (white, "150,150,150,255")}
        classes = [(state, label, _marker(*looks[state], "4", "0.8"), state != "closed")
                   for state, label in DANGER_STATES]
    elif layer.styled_by == "team":
        attr = TEAM_KEY
        # (team n + 16 has team n's colour, as on the plan page)
        classes = [(str(i), f"第 {i + 1} 队 team {i + 1}", _line(f"{_rgb(colour)},{ROUTE_ALPHA}", "0.8"), True)
                   for i, colour in enumerate(TEAM_COLOURS)]
    else:
        attr = "level"
        classes = [(level, " ".join(LEVEL_LABELS[level]), _level_symbol(layer, _rgb(LEVEL_COLOURS[level])), True)
                   for level in LEVELS]
    renderer.attrib.update(type="categorizedSymbol", attr=attr, symbollevels="0", forceraster="0",
                           enableorderby="0", referencescale="-1")
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for index, (value, label, (layer_class, props), shown) in enumerate(classes):
        ET.SubElement(categories, "category", value=value, symbol=str(index), label=label,
                      render="true" if shown else "false", type="string")
        _symbol(symbols, str(index), SYMBOL_TYPES[layer.geometry], layer_class, props)
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")


def _marker(fill: str, outline: str, size: str, outline_width: str = "0.3") -> tuple[str, dict[str, str]]:
    return "SimpleMarker", {"name": "circle", "color": fill, "outline_color": outline, "outline_style": "solid",
                            "outline_width": outline_width, "outline_width_unit": "MM", "size": size,
                            "size_unit": "MM", "scale_method": "diameter"}


def _line(colour: str, width: str) -> tuple[str, dict[str, str]]:
    return "SimpleLine", {"line_color": colour, "line_style": "solid", "line_width": width,
                          "line_width_unit": "MM", "capstyle": "round", "joinstyle": "round"}


def _level_symbol(layer: Layer, rgb: str) -> tuple[str, dict[str, str]]:
    """A site, segment or area in its level's colour."""
    kind = SYMBOL_TYPES[layer.geometry]
    if kind == "marker":
        return _marker(f"{rgb},255", "255,255,255,255", DEFAULT_MARKER[1])
    if kind == "line":
        return _line(f"{rgb},255", "0.9")
    return "SimpleFill", {"color": f"{rgb},{AREA_FILL_ALPHA}", "style": "solid", "outline_color": AREA_OUTLINE,
                          "outline_style": "solid", "outline_width": "0.16", "outline_width_unit": "MM",
                          "joinstyle": "bevel"}


def _symbol(symbols: ET.Element, name: str, kind: str, layer_class: str, props: dict[str, str]) -> None:
    symbol = ET.SubElement(symbols, "symbol", type=kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0")
    symbol_layer = ET.SubElement(symbol, "layer", {"class": layer_class, "enabled": "1", "locked": "0", "pass": "0"})
    options = ET.SubElement(symbol_layer, "Option", type="Map")
    for key, value in props.items():
        ET.SubElement(options, "Option", name=key, type="QString", value=value)


def _rgb(hex_colour: str) -> str:
    """'#d7191c' -> '215,25,28' (QGIS's colour form, before its alpha)."""
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i:i + 2], 16)) for i in (0, 2, 4))


def _crs(parent: ET.Element) -> None:
    srs = ET.SubElement(parent, "spatialrefsys")
    for key, value in WGS84.items():
        _text(srs, key, value)


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, tag)
    child.text = text
    return child


def _quoted(value: str) -> str:
    """A value inside QGIS's ``key='value'`` data source: a backslash and a single quote escaped by a backslash
    (QgsDataSourceUri)."""
    return value.replace("\\", "\\\\").replace("'", "\\'")
