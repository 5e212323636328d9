"""The scripts and stylesheets of the map pages, all served by riskmap itself (maps/static, vendored libraries
in maps/static/vendor: see maps/vendor.py), never from a CDN.

folium's classes declare their libraries as CDN addresses (``default_js`` / ``default_css``); ``offline`` replaces
them on a map with these local ones and drops the ones the pages do not use (jQuery, Bootstrap, Font Awesome,
awesome-markers).
"""

from __future__ import annotations

from importlib import resources

import folium

STATIC_URL = "/static/maps"  # where api/app.py mounts maps/static


def static_dir() -> str:
    """The folder holding maps/static (package data)."""
    return str(resources.files("maps").joinpath("static"))


def vendor_url(path: str, base: str = STATIC_URL) -> str:
    return f"{base}/vendor/{path}"


def leaflet_js(base: str = STATIC_URL) -> list[tuple[str, str]]:
    return [("leaflet", vendor_url("leaflet/leaflet.js", base))]


def leaflet_css(base: str = STATIC_URL) -> list[tuple[str, str]]:
    return [("leaflet_css", vendor_url("leaflet/leaflet.css", base))]


def basemap_js(base: str = STATIC_URL) -> list[tuple[str, str]]:
    """The basemap layer, with GCJ-02 tiles moved onto WGS 84."""
    return [("riskmap_basemap", f"{base}/basemap.js")]


def risk_layers_js(base: str = STATIC_URL) -> list[tuple[str, str]]:
    """Marker clusters, riskmap's exposure heat layer, its hidden-danger layer and riskmap's own map code."""
    return [("markercluster", vendor_url("leaflet.markercluster/leaflet.markercluster.js", base)),
            ("riskmap_heat", f"{base}/heat.js"),
            ("riskmap_dangers", f"{base}/dangers.js"),
            ("riskmap", f"{base}/riskmap.js")]


def risk_layers_css(base: str = STATIC_URL) -> list[tuple[str, str]]:
    return [("markercluster_css", vendor_url("leaflet.markercluster/MarkerCluster.css", base)),
            ("markercluster_default_css", vendor_url("leaflet.markercluster/MarkerCluster.Default.css", base)),
            ("riskmap_css", f"{base}/riskmap.css")]


def offline(m: folium.Map, base: str = STATIC_URL) -> folium.Map:
    """``m`` with only local Leaflet (no CDN addresses, no unused libraries)."""
    m.default_js = leaflet_js(base)
    m.default_css = leaflet_css(base)
    return m
