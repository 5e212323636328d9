"""Pages keep register text as text (maps/plain_text.py): a name written in the page template language is shown
as written, never run on the server, wherever folium puts it."""

from __future__ import annotations

import folium
import pytest

from maps.main_map import detail_page

NAME = "{{ 7 * 191 }}化工{% for x in range(3) %}{{ x }}{% endfor %}"
RAN = ("1337", "化工012")


def _feature_collection() -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.2, 39.6]}, "properties": {"name": NAME}}]}


@pytest.mark.parametrize("add", [
    pytest.param(lambda m: folium.GeoJson(_feature_collection()).add_to(m), id="layer data"),
    pytest.param(lambda m: folium.GeoJson(_feature_collection(), tooltip=folium.GeoJsonTooltip(["name"])).add_to(m),
                 id="layer tooltip"),
    pytest.param(lambda m: folium.GeoJson(_feature_collection(), popup=folium.GeoJsonPopup(["name"])).add_to(m),
                 id="layer popup"),
    pytest.param(lambda m: folium.Marker([39.6, 118.2], tooltip=NAME).add_to(m), id="marker tooltip"),
    pytest.param(lambda m: folium.Marker([39.6, 118.2], popup=NAME).add_to(m), id="marker popup"),
    pytest.param(lambda m: folium.CircleMarker([39.6, 118.2], tooltip=NAME, popup=NAME).add_to(m),
                 id="circle marker"),
])
def test_text_in_a_map_layer_is_not_run(add):
    """Wherever a name goes into a map (a layer's GeoJSON, a tooltip, a popup), the page holds it as written
    (JSON-escaped where it sits in a script) and nothing of it was evaluated."""
    m = folium.Map(tiles=None)
    add(m)
    page = m.get_root().render()
    assert not any(r in page for r in RAN)
    assert "{{ 7 * 191 }}" in page and "{% for x in range(3) %}" in page


def test_text_in_a_detail_pages_body_is_not_run():
    """A detail page's body (the feature's attributes, its factors) goes into the page as written."""
    page = detail_page(folium.Map(tiles=None), f"<h1>{NAME}</h1>", NAME, "zh")
    assert f"<h1>{NAME}</h1>" in page
    assert not any(r in page for r in RAN)
