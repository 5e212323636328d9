"""The main map at / in a real headless Chromium (Debian's), on a closed network (issue 5)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import httpx

from tests.maps.conftest import open_map, screenshot, set_view


def zoning_area_types(page) -> set[str]:
    return set(page.evaluate(
        "riskmap.current.zoning.getLayers().map(l => l.feature.properties.area_type)"))


def test_page_loads_offline_with_no_console_errors(page, server):
    """The map opens with every outside host unreachable: no console errors, every request to riskmap itself,
    Leaflet and all layers present."""
    open_map(page, server)
    assert page.log.errors() == []
    assert page.log.failed == []
    hosts = {urlparse(u).netloc for u in page.log.requests if not u.startswith("data:")}
    assert hosts == {f"127.0.0.1:{server.port}"}
    assert page.evaluate("typeof riskmapHeat.layer === 'function' && typeof L.markerClusterGroup === 'function'")
    overlays = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [o.strip() for o in overlays] == ["四色分区", "行政边界", "暴露热力图", "企业", "尾矿库", "管道",
                                                "人员密集场所", "隐患（未整改 / 逾期）"]
    assert page.evaluate("riskmap.current.zoning.getLayers().length") > 0
    # the zoning is shown, the heatmap and the change since a date one click away (not loaded until shown)
    assert page.evaluate("riskmap.current.map.hasLayer(riskmap.current.zoning)")
    assert not page.evaluate("riskmap.current.map.hasLayer(riskmap.current.heat)")
    assert page.locator(".riskmap-mode a").all_inner_texts() == ["四色分区", "热力图", "等级变化"]
    assert not [u for u in page.log.requests if "/exposure" in u or "/level-changes" in u]
    # the demo's 14 counties are outlined over the zoning (the map reads without a basemap)
    assert page.evaluate("riskmap.current.outlines.getLayers().length") == 14
    screenshot(page, "main-map")


def test_legend_shows_the_four_levels(page, server):
    """The legend lists red, orange, yellow and blue, worst first, with their colours and Chinese names."""
    open_map(page, server)
    rows = page.locator(".riskmap-legend-row")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.level)") == ["red", "orange", "yellow", "blue"]
    assert rows.all_inner_texts() == ["重大风险", "较大风险", "一般风险", "低风险"]
    colours = rows.evaluate_all("rs => rs.map(r => getComputedStyle(r.querySelector('i')).backgroundColor)")
    assert colours == ["rgb(215, 25, 28)", "rgb(253, 141, 60)", "rgb(255, 217, 47)", "rgb(43, 131, 186)"]


def test_zoom_switches_counties_to_cells(page, server):
    """Zoomed out the zoning shows counties; zoomed in, H3 cells of a finer resolution the closer one gets."""
    open_map(page, server)
    set_view(page, 39.65, 118.2, 7)
    assert zoning_area_types(page) == {"admin"}
    assert page.evaluate("document.querySelector('.leaflet-container').dataset.zoning") == "county"
    set_view(page, 39.65, 118.2, 10)
    assert zoning_area_types(page) == {"h3"}
    assert page.evaluate("document.querySelector('.leaflet-container').dataset.zoning") == "h3:7"
    resolutions = set(page.evaluate("riskmap.current.zoning.getLayers().map(l => l.feature.properties.resolution)"))
    assert resolutions == {7}
    screenshot(page, "zoning-h3")


def test_features_appear_close_up(page, server):
    """From zoom 12 each feature class loads for the view and is drawn in its level's colour."""
    open_map(page, server)
    set_view(page, 39.63, 118.18, 13)
    counts = page.evaluate("Object.fromEntries(Object.entries(riskmap.current.kinds)"
                           ".map(([k, g]) => [k, g.getLayers().length]))")
    assert counts["enterprise"] > 0 and counts["venue"] > 0
    screenshot(page, "features-close-up")


def test_coordinate_box_asks_for_that_point(page, server):
    """Typing coordinates into the panel's box lists the risks near them."""
    open_map(page, server)
    page.fill(".riskmap-coords input[name=lon]", "118.2")
    page.fill(".riskmap-coords input[name=lat]", "39.65")
    page.click(".riskmap-coords button[type=submit]")
    page.wait_for_selector(".riskmap-near-list li")
    answer = httpx.get(f"{server.url}/risks/near", params={"lon": "118.200000", "lat": "39.650000",
                                                            "radius_m": 2000, "limit": 20}).json()
    first = page.locator(".riskmap-near-list li").first
    assert first.get_attribute("data-id") == str(answer["features"][0]["properties"]["id"])


def test_language_switch_to_english(page, server):
    """The switch turns the labels to English, and back."""
    open_map(page, server)
    page.click(".riskmap-lang")
    assert page.locator(".riskmap-legend-row").all_inner_texts() == ["Major", "High", "Moderate", "Low"]
    assert "Risks near here" in page.locator(".riskmap-panel").inner_text()
    page.click(".riskmap-lang")
    assert page.locator(".riskmap-legend-row").first.inner_text() == "重大风险"


def test_english_by_parameter(page, server):
    """/?lang=en opens in English."""
    open_map(page, server, "?lang=en")
    assert page.locator(".riskmap-legend-zoning b").inner_text() == "Risk level"


def test_synthetic_demo_is_marked(page, server):
    """The demo's synthetic data are marked as such on the map."""
    open_map(page, server)
    assert "演示数据" in page.locator(".riskmap-synthetic").inner_text()


def test_map_works_when_the_basemap_is_unreachable(page, osm_server):
    """With the default OpenStreetMap basemap out of reach (a closed network), only the tiles fail: the risk
    layers still load and the page raises no script errors."""
    open_map(page, osm_server)
    assert page.evaluate("riskmap.current.zoning.getLayers().length") > 0
    assert all("tile.openstreetmap.org" in u for u in page.log.failed) and page.log.failed
    assert [e for e in page.log.errors() if not re.search(r"Failed to load resource", e)] == []


def test_page_is_small_and_names_no_outside_address(server):
    """The HTML carries no data and loads nothing from outside: a few kilobytes, every script and stylesheet
    a path on riskmap itself."""
    html = httpx.get(f"{server.url}/").text
    assert len(html.encode()) < 50_000
    sources = [s for s in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
               if s != "data:,"]  # (the empty favicon)
    assert sources and all(s.startswith("/static/maps/") for s in sources)
    for src in sources:
        assert httpx.get(f"{server.url}{src}").status_code == 200


def test_feature_detail_page(page, server):
    """A feature's link opens its page in the browser: the map around it and every factor of its score, the same
    as the GeoJSON explanation, with no console errors and nothing fetched from outside."""
    # the first enterprise with other risks within 1 km (most of the demo's stand in industrial parks)
    for feature in httpx.get(f"{server.url}/features", params={"kind": "enterprise", "limit": 50}).json()["features"]:
        if feature["geometry"]["type"] != "Point":
            continue
        lon, lat = feature["geometry"]["coordinates"]
        around = httpx.get(f"{server.url}/risks/near",
                           params={"lon": lon, "lat": lat, "radius_m": 1000, "limit": 100}).json()["features"]
        around = [f for f in around if f["id"] != feature["id"]]
        if around:
            break
    assert around, "no enterprise of the first 50 has a risk within 1 km"
    kind, fid = feature["properties"]["kind"], feature["properties"]["id"]
    explained = httpx.get(f"{server.url}/features/{kind}/{fid}").json()["properties"]
    page.goto(f"{server.url}/features/{kind}/{fid}")
    page.wait_for_selector(".riskmap-factor-table")
    assert page.log.errors() == [] and page.log.failed == []
    assert {urlparse(u).netloc for u in page.log.requests if not u.startswith("data:")} == {f"127.0.0.1:{server.port}"}
    assert page.locator(".riskmap-detail h1").inner_text().startswith(explained["name"])
    titles = page.locator(".riskmap-factor-table tbody tr td:first-child").all_inner_texts()
    assert titles == [f["title"] for f in explained["factors"]]
    assert page.locator(".riskmap-detail").get_attribute("data-level") == explained["level"]
    last = explained.get("latest_inspection")  # the latest record, else the register's date
    history = page.locator(".riskmap-history").inner_text()
    assert (last["date"] in history) if last else ("没有检查记录" in history)
    # the risks within 1 km are drawn around it: those /risks/near lists
    nearby = int(page.locator(".riskmap-detail").get_attribute("data-nearby"))
    assert nearby == len(around)
    assert page.evaluate("document.querySelectorAll('.leaflet-interactive').length") >= 1 + nearby
    screenshot(page, "feature-detail")


def test_feature_detail_format(server):
    """The same address gives GeoJSON to API clients and HTML to browsers or with format=html; an unknown
    feature is a 404 either way."""
    r = httpx.get(f"{server.url}/features/venue/1")
    assert r.headers["content-type"].startswith("application/geo+json")
    r = httpx.get(f"{server.url}/features/venue/1", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.headers["content-type"].startswith("text/html") and "riskmap-factor-table" in r.text
    r = httpx.get(f"{server.url}/features/venue/1", params={"format": "html", "lang": "en"})
    assert "Factors of the score" in r.text
    assert httpx.get(f"{server.url}/features/venue/999999", params={"format": "html"}).status_code == 404


def test_pipelines_are_drawn_by_segment(page, server):
    """Close up, pipelines are their scored segments, each in its own level's colour, as /pipeline-segments has
    them for the view."""
    open_map(page, server)
    set_view(page, 39.55, 118.3, 13)
    drawn = page.evaluate("""riskmap.current.kinds.pipeline.getLayers().map(l => {
        const inner = l.getLayers()[0];
        return [l.getLayers()[0].feature.properties.id, inner.options.color]; })""")
    bbox = page.evaluate("riskmap.current.bbox()")
    segments = httpx.get(f"{server.url}/pipeline-segments", params={"bbox": bbox, "limit": 1000}).json()["features"]
    colours = {"red": "#d7191c", "orange": "#fd8d3c", "yellow": "#ffd92f", "blue": "#2b83ba"}
    assert sorted(drawn) == sorted([s["properties"]["id"], colours[s["properties"]["level"]]] for s in segments)
    assert len(drawn) > 0


def test_ponds_show_their_downstream_sector(page, server):
    """A tailings pond with a downstream direction gets its downstream sector drawn; hiding the ponds hides the
    sectors."""
    pond = next(f for f in httpx.get(f"{server.url}/features", params={"kind": "tailings_pond", "limit": 1000})
                .json()["features"] if f["properties"]["downstream_direction_deg"] is not None)
    lon, lat = pond["geometry"]["coordinates"][:2] if pond["geometry"]["type"] == "Point" else (None, None)
    if lon is None:
        ring = pond["geometry"]["coordinates"][0] if pond["geometry"]["type"] == "Polygon" else \
            pond["geometry"]["coordinates"][0][0]
        lon, lat = sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)
    open_map(page, server)
    set_view(page, lat, lon, 14)
    assert page.evaluate("riskmap.current.sectors.getLayers().length") >= 1
    assert page.evaluate("riskmap.current.map.hasLayer(riskmap.current.sectors)")
    page.locator(".leaflet-control-layers-overlays label", has_text="尾矿库").click()
    assert not page.evaluate("riskmap.current.map.hasLayer(riskmap.current.sectors)")  # (drawn on a canvas)
    page.locator(".leaflet-control-layers-overlays label", has_text="尾矿库").click()
    assert page.evaluate("riskmap.current.map.hasLayer(riskmap.current.sectors)")
    screenshot(page, "pond-sector")


def test_venues_show_their_type(page, server):
    """Close up, each venue's marker shows its type's glyph on its level's colour."""
    open_map(page, server)
    set_view(page, 39.63, 118.18, 16)
    markers = page.locator(".riskmap-venue span")
    assert markers.count() > 0
    pairs = markers.evaluate_all("ss => ss.map(s => [s.dataset.type, s.textContent])")
    glyphs = {"mall": "商", "market": "市", "hospital": "医", "nursing_home": "老", "kindergarten": "幼",
              "school": "校", "hotel": "宿", "entertainment": "娱", "cinema": "影", "stadium": "体", "exhibition": "展",
              "transport_hub": "站", "religious": "宗", "square": "场", "other": "其"}
    assert all(glyphs[t] == g for t, g in pairs)
    screenshot(page, "venues")


def test_gcj02_offset_in_the_browser_matches_geo_crs(page, server):
    """The map's GCJ-02 offset (maps/static/basemap.js) is the one riskmap imports with (geo/crs.py), to well
    under a millimetre, across China; outside China it is zero."""
    import numpy as np

    from geo.crs import wgs84_to_gcj02

    open_map(page, server)
    page.add_script_tag(url="/static/maps/basemap.js")
    points = [(116.39, 39.91), (118.18, 39.63), (121.47, 31.23), (87.6, 43.8), (126.6, 45.75), (109.5, 18.25),
              (100.0, 30.0), (-0.13, 51.5)]
    offsets = page.evaluate("pts => pts.map(p => riskmapBasemap.gcj02Offset(p[0], p[1]))", points)
    lon, lat = np.array(points).T
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert np.allclose(np.array(offsets), np.column_stack([glon - lon, glat - lat]), atol=1e-9)
    assert offsets[-1] == [0, 0]
    assert 0.001 < abs(offsets[1][0]) < 0.01  # Tangshan: a few hundred metres


def test_amap_tiles_are_moved_onto_wgs84(page, amap_server):
    """With the AMap basemap (GCJ-02 tiles, unreachable here), each tile is placed where its content belongs in
    WGS 84: shifted from the plain grid by the GCJ-02 offset at its centre, in pixels at its zoom."""
    open_map(page, amap_server)
    shift = page.evaluate("""() => {
        let layer = null;
        riskmap.current.map.eachLayer(l => { if (l instanceof riskmapBasemap.ShiftedTileLayer) layer = l; });
        const coords = L.point(Object.values(layer._tiles)[0].coords.x, Object.values(layer._tiles)[0].coords.y);
        coords.z = layer._tileZoom;
        const plain = L.TileLayer.prototype._getTilePos.call(layer, coords);
        const moved = layer._getTilePos(coords);
        const centre = riskmap.current.map.unproject(coords.scaleBy(layer.getTileSize()).add([128, 128]), coords.z);
        const o = riskmapBasemap.gcj02Offset(centre.lng, centre.lat);
        const expect = riskmap.current.map.project(centre, coords.z).subtract(
            riskmap.current.map.project([centre.lat + o[1], centre.lng + o[0]], coords.z));
        return {moved: [moved.x - plain.x, moved.y - plain.y], expect: [expect.x, expect.y]}; }""")
    assert shift["moved"] != [0, 0]
    assert abs(shift["moved"][0] - shift["expect"][0]) <= 1.5 and abs(shift["moved"][1] - shift["expect"][1]) <= 1.5


def test_whole_pipelines_at_middle_zoom(page, server):
    """Between the county view and the close-up, pipelines are drawn whole, in their worst segment's colour."""
    open_map(page, server)
    set_view(page, 39.55, 118.3, 10)
    kinds = set(page.evaluate("riskmap.current.kinds.pipeline.getLayers().map(l => "
                              "l.getLayers()[0].feature.properties.kind)"))
    assert kinds == {"pipeline"}
    assert page.evaluate("riskmap.current.kinds.enterprise.getLayers().length") == 0
    set_view(page, 39.55, 118.3, 7)
    assert page.evaluate("riskmap.current.kinds.pipeline.getLayers().length") == 0


def test_clusters_show_their_worst_level(page, server):
    """A cluster of features is drawn in the colour of the worst level among them, with their number."""
    open_map(page, server)
    set_view(page, 39.63, 118.18, 12)
    clusters = page.locator(".riskmap-cluster div")
    assert clusters.count() > 0
    checked = page.evaluate("""() => {
        const order = ['red', 'orange', 'yellow', 'blue'];
        const out = [];
        riskmap.current.kinds.enterprise._featureGroup.eachLayer(l => {
            if (!l.getAllChildMarkers) return;
            const levels = l.getAllChildMarkers().map(m => m.options.level).filter(v => v);
            levels.sort((a, b) => order.indexOf(a) - order.indexOf(b));
            out.push([levels[0], l._icon.querySelector('div').dataset.level,
                      l.getChildCount(), Number(l._icon.textContent)]);
        });
        return out; }""")
    assert checked and all(want == shown and n == label for want, shown, n, label in checked)
