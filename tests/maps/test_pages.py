"""The map pages' Python side: basemap settings and the rendered HTML (no browser needed)."""

from __future__ import annotations

import re

import pytest

from geo.errors import InvalidSetting
from maps import assets
from maps.basemaps import NONE, OSM, basemap
from maps.main_map import MapConfig, main_map, render


def test_basemap_choices():
    """osm and none are built in, a tile URL template is taken as it is, tianditu needs its key."""
    assert basemap("osm") is OSM and basemap("none") is NONE and basemap(" OSM ") is OSM
    assert basemap("amap").gcj02 and "autonavi.com" in basemap("amap").url
    custom = basemap("https://tiles.example.org/{z}/{x}/{y}.png")
    assert custom.url == "https://tiles.example.org/{z}/{x}/{y}.png"
    t = basemap("tianditu", "abc123")
    assert "tianditu.gov.cn" in t.url and "tk=abc123" in t.url


@pytest.mark.parametrize(("choice", "words"), [
    ("tianditu", "RISKMAP_BASEMAP_KEY"),
    ("google", "unknown basemap 'google'"),
    ("https://tiles.example.org/{z}/{x}.png", "{y}"),
])
def test_bad_basemap_settings_name_the_problem(choice, words):
    """An unusable basemap setting is refused with a message saying what is wrong and what is accepted."""
    with pytest.raises(InvalidSetting, match=re.escape(words)):
        basemap(choice)


def test_main_map_html_names_only_local_assets():
    """The rendered page loads Leaflet, its plugins and riskmap.js from riskmap's own paths, and hands the
    configuration (language, synthetic flag, H3 resolutions) to riskmap.init."""
    html = render(main_map(MapConfig(language="en", synthetic=True, h3_resolutions=[6, 8]), NONE))
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert [s for s in sources if s != "data:,"] == [
        "/static/maps/vendor/leaflet/leaflet.js", "/static/maps/vendor/leaflet/leaflet.css",
        "/static/maps/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/static/maps/heat.js", "/static/maps/dangers.js", "/static/maps/riskmap.js",
        "/static/maps/vendor/leaflet.markercluster/MarkerCluster.css",
        "/static/maps/vendor/leaflet.markercluster/MarkerCluster.Default.css", "/static/maps/riskmap.css"]
    assert '"language": "en"' in html and '"synthetic": true' in html and '"h3_resolutions": [6, 8]' in html
    assert "riskmapBasemap" not in html  # no basemap asked for
    osm = render(main_map(MapConfig(), OSM))
    assert "/static/maps/basemap.js" in osm and "tile.openstreetmap.org" in osm and '"gcj02": false' in osm
    assert '"gcj02": true' in render(main_map(MapConfig(), basemap("amap")))


def test_vendored_files_exist_with_their_licences():
    """Every vendored library the pages name is in maps/static/vendor, with its licence beside it."""
    from pathlib import Path

    static = Path(assets.static_dir())
    for name, url in (assets.leaflet_js() + assets.leaflet_css() + assets.risk_layers_js() + assets.risk_layers_css()
                      + assets.basemap_js()):
        path = static / url.removeprefix(assets.STATIC_URL + "/")
        assert path.is_file() and path.stat().st_size > 0, name
        if "/vendor/" in url:
            assert (path.parent / "LICENSE").is_file()


def test_unknown_language_is_refused():
    """Only Chinese and English labels exist."""
    with pytest.raises(ValueError, match="language"):
        main_map(MapConfig(language="fr"), NONE)
