"""The main map on a phone (390 × 844, touch) in a real headless Chromium: the controls fold behind one toggle so
that most of the map shows, every control stays on screen, uncovered and at least 40 px, the toggle opens the
layer switcher and the search, a tap on the map opens the search as a sheet that leaves the point in view; and on a
wide screen the controls keep their places."""

from __future__ import annotations

import h3
import httpx

from tests.maps.conftest import open_map, screenshot, wait_idle

MIN_TARGET_PX = 40

# every control of the map that takes a tap, with its size, whether it lies wholly on screen and whether it is the
# topmost element at its centre (nothing covers it); the basemap's credits are text, not a control
CONTROLS_JS = """() => {
    const out = [];
    const els = document.querySelectorAll('.leaflet-control-container a, .leaflet-control-container button,'
        + ' .leaflet-control-container input, .leaflet-control-container select, .leaflet-control-layers label');
    for (const el of els) {
        if (el.closest('.leaflet-control-attribution')) continue;
        if (el.tagName === 'INPUT' && el.closest('.leaflet-control-layers label')) continue;  // (its row is the target)
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height) continue;  // (not shown)
        const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        out.push({what: (el.className || el.tagName) + ' ' + el.textContent.trim().slice(0, 24),
                  width: r.width, height: r.height,
                  on_screen: r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight,
                  uncovered: !!top && (top === el || el.contains(top))});
    }
    return out; }"""

# the share of the screen (sampled every 10 px) under a control rather than the map
COVERED_JS = """() => {
    let n = 0, covered = 0;
    for (let y = 5; y < innerHeight; y += 10) for (let x = 5; x < innerWidth; x += 10) {
        n += 1;
        const el = document.elementFromPoint(x, y);
        if (!el || el.closest('.leaflet-control')) covered += 1;
    }
    return covered / n; }"""


# the pairs of controls (by their first class) whose boxes overlap, among those shown
OVERLAPS_JS = """() => {
    const shown = Array.from(document.querySelectorAll('.leaflet-control')).map(el => [el.classList[0],
        el.getBoundingClientRect()]).filter(([, r]) => r.width && r.height);
    const out = [];
    shown.forEach(([a, r], i) => shown.slice(i + 1).forEach(([b, q]) => {
        if (r.left < q.right && q.left < r.right && r.top < q.bottom && q.top < r.bottom) out.push([a, b]); }));
    return out; }"""


def controls(page) -> list[dict]:
    return page.evaluate(CONTROLS_JS)


def assert_every_control_usable(page) -> None:
    """Every control shown is wholly on screen, covered by nothing and at least 40 px both ways, and no control
    (the legend and the demo banner too) overlaps another."""
    assert page.evaluate(OVERLAPS_JS) == []
    shown = controls(page)
    assert shown
    bad = [c for c in shown if not (c["on_screen"] and c["uncovered"]
                                    and c["width"] >= MIN_TARGET_PX and c["height"] >= MIN_TARGET_PX)]
    assert bad == []


def map_share(page) -> float:
    return 1 - page.evaluate(COVERED_JS)


def tap_at(page, lat: float, lon: float) -> None:
    """A real tap on the map where (lat, lon) is on screen."""
    x, y = page.evaluate(f"() => {{ const p = riskmap.current.map.latLngToContainerPoint([{lat}, {lon}]);"
                         " return [p.x, p.y]; }")
    box = page.locator(".leaflet-container").bounding_box()
    page.touchscreen.tap(box["x"] + x, box["y"] + y)


def container_classes(page) -> list[str]:
    return page.evaluate("Array.from(document.querySelector('.leaflet-container').classList)")


def test_on_a_phone_the_controls_fold_and_most_of_the_map_shows(phone_page, server):
    """At 390 × 844 the layer switcher and the search are folded away after load: at least 60 % of the screen is
    map; what shows (the zoom, the toggle, the view switch with its change-since button) is on screen, uncovered
    and at least 40 px; the legend is compact (the four levels in two rows, no heading); no console errors."""
    page = phone_page
    open_map(page, server)
    assert "riskmap-narrow" in container_classes(page)
    assert not page.locator(".leaflet-control-layers").is_visible()
    assert not page.locator(".riskmap-panel").is_visible()
    assert map_share(page) >= 0.6
    assert_every_control_usable(page)
    shown = " ".join(c["what"] for c in controls(page))
    assert "☰ 图层" in shown and "等级变化" in shown and "leaflet-control-zoom-in" in shown
    legend = page.locator(".riskmap-legend")
    assert legend.is_visible() and not legend.locator(".riskmap-legend-zoning b").is_visible()
    rows = legend.locator(".riskmap-legend-row").evaluate_all("rs => rs.map(r => r.getBoundingClientRect().top)")
    assert len(rows) == 4 and len({round(t) for t in rows}) == 2  # (two levels a row)
    assert legend.bounding_box()["height"] < 60
    screenshot(page, "phone-main-map")
    assert page.log.errors() == []


def test_the_toggle_opens_the_layer_switcher_and_the_search(phone_page, server):
    """A tap on the toggle shows the layer switcher (a row of at least 40 px a layer) and the search with its
    coordinate box, every control uncovered; a tap on a row turns its layer on; the toggle folds them again."""
    page = phone_page
    open_map(page, server)
    page.tap(".riskmap-toggle a")
    assert "riskmap-open" in container_classes(page)
    assert page.locator(".riskmap-toggle a").get_attribute("aria-expanded") == "true"
    assert page.locator(".leaflet-control-layers").is_visible() and page.locator(".riskmap-panel").is_visible()
    assert page.locator(".leaflet-control-layers label").count() == 8
    assert_every_control_usable(page)
    screenshot(page, "phone-controls-open")
    page.locator(".leaflet-control-layers label", has_text="暴露热力图").tap()
    assert page.evaluate("riskmap.current.map.hasLayer(riskmap.current.heat)")
    wait_idle(page)
    page.tap(".riskmap-toggle a")
    assert not page.locator(".leaflet-control-layers").is_visible()
    assert not page.locator(".riskmap-panel").is_visible()
    assert map_share(page) >= 0.6


def red_cells_on_screen(page, server) -> list[dict]:
    """The red cells the page has drawn, by id, whose centre is on the map and not under a control, each with
    /risks/near's answer within 2 km of its centre."""
    cells = page.evaluate("""() => riskmap.current.zoning.getLayers()
        .map(l => l.feature.properties).filter(p => p.area_type === 'h3' && p.level === 'red')
        .map(p => ({id: p.area_id, level: p.level, resolution: p.resolution}))""")
    found = []
    for cell in sorted(cells, key=lambda c: c["id"]):
        lat, lon = h3.cell_to_latlng(cell["id"])
        free = page.evaluate(f"""() => {{
            const p = riskmap.current.map.latLngToContainerPoint([{lat}, {lon}]);
            const box = document.querySelector('.leaflet-container').getBoundingClientRect();
            const x = box.left + p.x, y = box.top + p.y;
            if (x < 20 || y < 20 || x > innerWidth - 20 || y > innerHeight - 20) return false;
            const el = document.elementFromPoint(x, y);
            return !!el && !el.closest('.leaflet-control'); }}""")
        if free:
            answer = httpx.get(f"{server.url}/risks/near", params={"lon": f"{lon:.6f}", "lat": f"{lat:.6f}",
                                                                   "radius_m": 2000, "limit": 50}).json()
            found.append({**cell, "lat": lat, "lon": lon, "worst": answer["summary"]["worst_level"]})
    return found


def test_a_tap_on_a_red_cell_opens_the_search_sheet_which_says_red(phone_page, server):
    """A real tap on a red cell of the zoning (one of the map's own, whose 2 km holds no red risk when there is
    one, as the user found) opens the search as a sheet at the bottom: it names the cell and its level, red, first,
    then the highest level within 2 km as such; the point stays in view above the sheet; every control is usable;
    the sheet's close button folds it."""
    page = phone_page
    open_map(page, server)
    cells = red_cells_on_screen(page, server)
    assert cells, "no red cell of the zoning lies on the phone's map"
    cell = next((c for c in cells if c["worst"] != "red"), cells[0])
    tap_at(page, cell["lat"], cell["lon"])
    page.wait_for_function("() => document.querySelector('.riskmap-near').dataset.radius === '2000'")
    assert "riskmap-near-open" in container_classes(page) and "riskmap-open" not in container_classes(page)
    sheet = page.locator(".riskmap-panel")
    assert sheet.is_visible()
    area = sheet.locator(".riskmap-area")
    clat, clon = (float(page.locator(f".riskmap-coords input[name={k}]").input_value()) for k in ("lat", "lon"))
    assert h3.latlng_to_cell(clat, clon, cell["resolution"]) == cell["id"] == area.get_attribute("data-area")
    assert area.get_attribute("data-level") == "red" and "重大风险" in area.locator(".riskmap-area-level").inner_text()
    assert "半径 2 km 内" in sheet.locator(".riskmap-near-summary").inner_text()
    # the point is on screen above the sheet (the map moves it there if the sheet would hide it)
    page.wait_for_function("""() => { let r = null; riskmap.current.search.eachLayer(l => {
        if (l instanceof L.Marker) r = l.getElement().getBoundingClientRect(); });
        const sheet = document.querySelector('.riskmap-panel').getBoundingClientRect();
        return r && r.top > 0 && r.bottom < sheet.top; }""")
    wait_idle(page)
    assert_every_control_usable(page)
    screenshot(page, "phone-near-sheet")
    page.tap(".riskmap-close")
    assert not sheet.is_visible() and "riskmap-near-open" not in container_classes(page)
    assert page.log.errors() == []


def corners(page) -> dict[str, list[str]]:
    """The controls in each corner of the map, top to bottom, by their first class."""
    return page.evaluate("""() => Object.fromEntries(['topleft', 'topright', 'bottomleft', 'bottomright'].map(c => [c,
        Array.from(riskmap.current.map._controlCorners[c].children)
             .filter(el => getComputedStyle(el).display !== 'none').map(el => el.classList[0])]))""")


def test_on_a_wide_screen_the_controls_keep_their_places(page, server):
    """At 1280 × 860 the layout is the one before phones were thought of: no toggle, the layer switcher open and the
    search panel (300 px wide) top right, the zoom, the demo banner and the view switch top left, the legend bottom
    right with its headings, Leaflet's own zoom buttons (smaller than a phone's); the change view's date box goes
    under the view switch."""
    open_map(page, server)
    assert "riskmap-narrow" not in container_classes(page)
    assert corners(page) == {"topleft": ["leaflet-control-zoom", "riskmap-synthetic", "riskmap-mode"],
                             "topright": ["leaflet-control-layers", "riskmap-panel"],
                             "bottomleft": ["leaflet-control-scale"],
                             "bottomright": ["riskmap-legend", "leaflet-control-attribution"]}
    assert not page.locator(".riskmap-toggle").is_visible() and not page.locator(".riskmap-close").is_visible()
    assert page.locator(".leaflet-control-layers label").first.is_visible()
    assert page.locator(".riskmap-panel").bounding_box()["width"] == 300 + 2 * 9  # (and its padding)
    assert page.locator(".leaflet-control-zoom-in").bounding_box()["height"] < MIN_TARGET_PX  # (Leaflet's own size)
    assert page.locator(".riskmap-legend-zoning b").is_visible()
    page.locator(".riskmap-mode a", has_text="等级变化").click()
    wait_idle(page)
    assert corners(page)["topleft"] == ["leaflet-control-zoom", "riskmap-synthetic", "riskmap-mode",
                                        "riskmap-change-control"]
    screenshot(page, "desktop-main-map-change")


def test_a_phone_turned_on_its_side_keeps_the_controls_usable(phone_page, server):
    """Turned to 844 × 390 after load, the map keeps the phone's layout (the screen is low, not narrow): most of it
    shows, every control is usable, and a tap on the map opens the search sheet, every control still usable."""
    page = phone_page
    open_map(page, server)
    page.set_viewport_size({"width": 844, "height": 390})
    page.wait_for_function("() => riskmap.current.map.getSize().x === 844")
    assert "riskmap-narrow" in container_classes(page)
    assert map_share(page) >= 0.6
    assert_every_control_usable(page)
    page.touchscreen.tap(422, 200)
    page.wait_for_function("() => document.querySelector('.riskmap-near').dataset.radius === '2000'")
    assert page.locator(".riskmap-panel").is_visible()
    assert_every_control_usable(page)
    screenshot(page, "phone-landscape-near")
    assert page.log.errors() == []
