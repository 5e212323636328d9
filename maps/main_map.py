"""The main map (issue 5, item 1): four-colour zoning, the exposure heatmap, the feature classes, the legend, the
layer switcher and the "risks near here" panel, built with folium.

The page carries no data: maps/static/riskmap.js loads every layer from the API for the visible box and zoom
(admin areas at low zoom, H3 cells further in, features close up), so the HTML stays the same size whatever the
number of features.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import asdict, dataclass, field

import folium
from folium.elements import JSCSSMixin
from folium.template import Template

from geo.risk.framework import LEVELS
from maps import assets
from maps.basemaps import Basemap
from maps.plain_text import RawHtml

# The four colours of the zoning maps (red, orange, yellow, blue), and their labels.
LEVEL_COLOURS = {"red": "#d7191c", "orange": "#fd8d3c", "yellow": "#ffd92f", "blue": "#2b83ba"}
LEVEL_LABELS = {"red": ("重大风险", "Major"), "orange": ("较大风险", "High"), "yellow": ("一般风险", "Moderate"),
                "blue": ("低风险", "Low")}
# a glyph per venue type on its marker (the colour is its level)
VENUE_GLYPHS = {"mall": ("商", "Mall"), "market": ("市", "Market"), "hospital": ("医", "Hospital"),
                "nursing_home": ("老", "Nursing home"), "kindergarten": ("幼", "Kindergarten"),
                "school": ("校", "School"), "hotel": ("宿", "Hotel"), "entertainment": ("娱", "Entertainment"),
                "cinema": ("影", "Cinema or theatre"), "stadium": ("体", "Stadium"), "exhibition": ("展", "Exhibition"),
                "transport_hub": ("站", "Transport hub"), "religious": ("宗", "Religious site"),
                "square": ("场", "Square"), "other": ("其", "Other")}
# enforcement measures (the record kind's values: geo/records/kinds.py)
MEASURE_LABELS = {"rectify_order": ("责令整改", "rectification order"), "suspension": ("停产整顿", "suspension"),
                  "closure": ("关闭取缔", "closure"), "fine": ("罚款", "fine")}
KIND_LABELS = {"enterprise": ("企业", "Enterprises"), "tailings_pond": ("尾矿库", "Tailings ponds"),
               "pipeline": ("管道", "Pipelines"), "venue": ("人员密集场所", "Crowded venues")}
# one colour a team on plan layers (ColorBrewer "Dark2" then "Set1"): distinct on a light basemap and in print
TEAM_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
                "#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#999999")
LANGUAGES = ("zh", "en")
MAX_ZOOM = 18
CHANGE_DAYS = 90  # the change view compares with this many days before today unless the address gives a date


def default_change_since(today: dt.date) -> str:
    """The date the change view compares with when the address gives none: CHANGE_DAYS before ``today``."""
    return (today - dt.timedelta(days=CHANGE_DAYS)).isoformat()


@dataclass
class MapConfig:
    """What riskmap.js needs to know, passed to it as JSON."""

    api: str = ""  # the API's address ("" = the page's own server)
    language: str = "zh"
    synthetic: bool = False  # the data are the synthetic demo: say so on the map
    h3_resolutions: list[int] = field(default_factory=lambda: [5, 6, 7, 8, 9])
    county_max_zoom: int = 8  # up to this zoom the zoning shows counties, then H3 cells
    feature_min_zoom: int = 12  # features are drawn from this zoom
    min_zoom: int = 3
    max_zoom: int = MAX_ZOOM  # (set on the map by riskmap.js: folium puts zoom limits on its tile layers only)
    levels: list[dict] = field(default_factory=lambda: [
        {"name": lv, "colour": LEVEL_COLOURS[lv], "zh": LEVEL_LABELS[lv][0], "en": LEVEL_LABELS[lv][1]}
        for lv in reversed(LEVELS)])
    kinds: list[dict] = field(default_factory=lambda: [
        {"name": k, "zh": zh, "en": en} for k, (zh, en) in KIND_LABELS.items()])
    venue_glyphs: dict = field(default_factory=lambda: {k: {"glyph": g, "en": en}
                                                        for k, (g, en) in VENUE_GLYPHS.items()})
    # a tailings pond's downstream sector (the model's overhead-pond test: [context] downstream_radius_m and
    # sector_half_angle_deg)
    pond_sector: dict = field(default_factory=lambda: {"radius_m": 1000.0, "half_angle_deg": 45.0})
    plan: int | None = None  # a stored inspection plan to show (routes and numbered stops), or none
    change_since: str = ""  # the change view's date (YYYY-MM-DD) when the address has no ?since=
    team_colours: list[str] = field(default_factory=lambda: list(TEAM_COLOURS))


class BasemapLayer(JSCSSMixin):
    """The basemap (maps/static/basemap.js: tile layers, GCJ-02 ones moved onto WGS 84)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            riskmapBasemap.add({{ this._parent.get_name() }}, {{ this.basemap | tojson }});
        {% endmacro %}
    """)

    def __init__(self, basemap: Basemap, static_url: str = assets.STATIC_URL):
        super().__init__()
        self._name = "BasemapLayer"
        self.basemap = asdict(basemap)
        self.default_js = assets.basemap_js(static_url)  # put in the page's head by JSCSSMixin


class RiskLayers(JSCSSMixin):
    """The risk layers, legend and panels of riskmap.js, started on the map once the page has loaded."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            riskmap.init({{ this._parent.get_name() }}, {{ this.config | tojson }});
        {% endmacro %}
    """)

    def __init__(self, config: MapConfig, static_url: str = assets.STATIC_URL):
        super().__init__()
        self._name = "RiskLayers"
        self.config = asdict(config)
        self.default_js = assets.risk_layers_js(static_url)
        self.default_css = assets.risk_layers_css(static_url)


def main_map(config: MapConfig, basemap: Basemap, center: tuple[float, float] = (39.63, 118.18), zoom: int = 9,
             static_url: str = assets.STATIC_URL) -> folium.Map:
    """The main map: ``center`` is (lat, lon)."""
    if config.language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {config.language!r}")
    m = folium.Map(location=list(center), zoom_start=zoom, tiles=None, control_scale=True, prefer_canvas=True)
    assets.offline(m, static_url)
    if basemap.url:
        BasemapLayer(basemap, static_url).add_to(m)
    RiskLayers(config, static_url).add_to(m)
    return m


def detail_map(basemap: Basemap, static_url: str = assets.STATIC_URL) -> folium.Map:
    """The map of a detail page (a feature, a plan, an allocation): local Leaflet and the basemap, if any."""
    m = folium.Map(tiles=None, control_scale=True)
    assets.offline(m, static_url)
    if basemap.url:
        BasemapLayer(basemap, static_url).add_to(m)
    return m


def detail_page(m: folium.Map, body: str, title: str, language: str, static_url: str = assets.STATIC_URL,
                map_height: str = "45vh") -> str:
    """A detail page: the map ``m`` on top, ``body`` (HTML) below it, riskmap's stylesheet."""
    root = m.get_root()
    root.header.add_child(folium.CssLink(f"{static_url}/riskmap.css"), name="riskmap_css")
    root.header.add_child(RawHtml(
        "<style>html, body {height: auto;} body {display: flex; flex-direction: column;}"
        f" .folium-map {{order: 0; height: {map_height} !important; position: relative !important; flex: none;}}"
        " .riskmap-detail {order: 1;}</style>"), name="detail_layout")
    root.html.add_child(RawHtml(body), name="detail")
    return render(m, title, language)


def render(m: folium.Map, title: str = "riskmap", language: str | None = None) -> str:
    """The map as a whole HTML page: its title, no /favicon.ico request, and the language of its text."""
    root = m.get_root()
    root.header.add_child(RawHtml(f"<title>{html.escape(title)}</title>"), name="title")
    root.header.add_child(RawHtml('<link rel="icon" href="data:,">'), name="favicon")  # no /favicon.ico
    page = root.render()
    if language:
        page = page.replace("<html>", f'<html lang="{"zh-CN" if language == "zh" else "en"}">', 1)
    return page
