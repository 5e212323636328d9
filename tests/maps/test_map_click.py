"""Clicking the main map lists the risks near the click (issue 13, item 4): real mouse clicks on the four-colour
zoning that covers the region, in a real headless Chromium."""

from __future__ import annotations

import math

import h3
import httpx
import pytest

from tests.maps.conftest import click_at, open_map, screenshot, set_view
from tests.maps.test_main_map_phone import red_cells_on_screen

H3_ZOOM = 10  # the map shows H3 cells of resolution 7 at this zoom (and no point features yet)


@pytest.fixture(scope="module")
def park_site(demo_db) -> tuple[float, float]:
    """(lat, lon) of the enterprise with the most enterprises within 2 km among those 3 km or more from any
    pipeline: a click there lands on a zoning cell, not on a pipeline drawn over it."""
    with demo_db.cursor() as cur:
        cur.execute("""
            SELECT ST_Y(ST_PointOnSurface(e.geom)), ST_X(ST_PointOnSurface(e.geom))
            FROM enterprise e
            WHERE NOT EXISTS (SELECT 1 FROM pipeline p
                              WHERE p.geom && ST_Expand(e.geom, 0.05)
                                AND ST_DWithin(p.geom::geography, e.geom::geography, 3000))
            ORDER BY (SELECT count(*) FROM enterprise o WHERE o.geom && ST_Expand(e.geom, 0.03)
                      AND ST_DWithin(o.geom::geography, e.geom::geography, 2000)) DESC, e.id
            LIMIT 1""")
        return cur.fetchone()


def clicked_point(page) -> tuple[float, float]:
    """(lon, lat) the panel says it searched around."""
    return (float(page.locator(".riskmap-coords input[name=lon]").input_value()),
            float(page.locator(".riskmap-coords input[name=lat]").input_value()))


def near_answer(server, lon: float, lat: float, radius_m: int) -> dict:
    return httpx.get(f"{server.url}/risks/near", params={"lon": f"{lon:.6f}", "lat": f"{lat:.6f}",
                                                        "radius_m": radius_m, "limit": 50}).json()


def listed(page) -> list[list]:
    return page.locator(".riskmap-near-list li").evaluate_all(
        "lis => lis.map(li => [li.dataset.kind, Number(li.dataset.id)])")


def wait_for_radius(page, radius_m: int) -> None:
    page.wait_for_function(f"() => {{ const n = document.querySelector('.riskmap-near');"
                           f" return n.dataset.radius === '{radius_m}' && n.querySelector('li, p'); }}")


def search_marks(page) -> dict:
    """Where the map shows the last search: the marker's position, the circle's centre and radius, and the
    circle's width on screen in pixels."""
    return page.evaluate("""() => {
        const r = riskmap.current, marks = {};
        r.search.eachLayer(l => {
            if (l instanceof L.Circle) {
                marks.centre = [l.getLatLng().lat, l.getLatLng().lng];
                marks.radius = l.getRadius();
                marks.width_px = l.getElement().getBoundingClientRect().width;
            } else if (l instanceof L.Marker) {
                marks.marker = [l.getLatLng().lat, l.getLatLng().lng];
                marks.marker_visible = l.getElement().getBoundingClientRect().width > 0;
            }
        });
        return marks; }""")


def metres_per_pixel(page, lat: float) -> float:
    zoom = page.evaluate("riskmap.current.map.getZoom()")
    return 2 * math.pi * 6378137 * math.cos(math.radians(lat)) / (256 * 2 ** zoom)


def test_clicking_a_zoning_cell_lists_the_risks_near_it(page, server, park_site):
    """A real click on an H3 zoning cell lists the risks /risks/near gives within 2 km of the click, nearest first,
    with the cell's counts per level, and marks the point and the 2 km circle on the map."""
    lat, lon = park_site
    open_map(page, server)
    set_view(page, lat, lon, H3_ZOOM)
    cell = h3.latlng_to_cell(lat, lon, 7)
    zoning = {z["area_id"]: z for z in page.evaluate(
        "riskmap.current.zoning.getLayers().map(l => l.feature.properties)")}
    assert cell in zoning  # the click lands on a drawn zoning cell
    click_at(page, lat, lon)
    wait_for_radius(page, 2000)
    clon, clat = clicked_point(page)
    assert h3.latlng_to_cell(clat, clon, 7) == cell
    answer = near_answer(server, clon, clat, 2000)
    assert listed(page) == [[f["properties"]["kind"], f["properties"]["id"]] for f in answer["features"]]
    assert len(answer["features"]) > 5
    # the counts of the cell clicked, as /areas has them
    assert page.locator(".riskmap-near .riskmap-area").get_attribute("data-area") == cell
    totals: dict[str, int] = {}
    for by_level in zoning[cell]["counts"].values():
        for level, n in by_level.items():
            totals[level] = totals.get(level, 0) + n
    rows = page.locator(".riskmap-near .riskmap-area tr").evaluate_all(
        "trs => trs.map(tr => [tr.dataset.level, Number(tr.cells[1].textContent)])")
    assert rows == [[lv, totals.get(lv, 0)] for lv in ("red", "orange", "yellow", "blue")]
    # where it searched: a marker at the point and a circle of 2 km around it, 4 km wide on screen
    marks = search_marks(page)
    assert marks["marker"] == pytest.approx([clat, clon], abs=1e-5) and marks["marker_visible"]
    assert marks["centre"] == pytest.approx([clat, clon], abs=1e-5) and marks["radius"] == 2000
    assert marks["width_px"] == pytest.approx(4000 / metres_per_pixel(page, clat), rel=0.05)
    screenshot(page, "click-zoning-cell")


def test_search_radius_is_chosen_in_the_panel(page, server, park_site):
    """Choosing 5 km in the panel searches the last point again within 5 km: the list is /risks/near's for
    that radius, reaching past 2 km, and the circle grows to 5 km; the list stops at the nearest 50, and the panel's
    highest level says it is theirs."""
    lat, lon = park_site
    open_map(page, server)
    set_view(page, lat, lon, H3_ZOOM)
    click_at(page, lat, lon)
    wait_for_radius(page, 2000)
    first = listed(page)
    page.select_option(".riskmap-radius select", "5000")
    wait_for_radius(page, 5000)
    clon, clat = clicked_point(page)
    answer = near_answer(server, clon, clat, 5000)
    assert listed(page) == [[f["properties"]["kind"], f["properties"]["id"]] for f in answer["features"]]
    assert max(f["properties"]["distance_m"] for f in answer["features"]) > 2000
    assert len(listed(page)) > len(first)
    # the demo's parks hold more than 50 risks within 5 km: the panel says the list stops at the nearest 50
    assert not answer["summary"]["complete"] and page.locator(".riskmap-near-more").count() == 1
    # and its highest level is called the highest of those 50, not of everything within 5 km
    assert page.locator(".riskmap-near-summary").inner_text().startswith("半径 5 km 内最近的 50 个风险点中最高等级")
    marks = search_marks(page)
    assert marks["radius"] == 5000 and marks["centre"] == pytest.approx([clat, clon], abs=1e-5)
    assert marks["width_px"] == pytest.approx(10000 / metres_per_pixel(page, clat), rel=0.05)
    screenshot(page, "click-radius-5km")


def test_clicking_a_county_shows_its_counts_and_the_risks_near(page, server, demo_db):
    """Zoomed out to the counties, a click on a county lists the risks near the click and shows that county's
    counts per level, as /areas gives them."""
    with demo_db.cursor() as cur:  # a point inside the county with the most enterprises, and its code
        cur.execute("""
            SELECT a.admin_code, ST_Y(ST_PointOnSurface(a.geom)), ST_X(ST_PointOnSurface(a.geom))
            FROM area a WHERE a.level = 'county'
            ORDER BY (SELECT count(*) FROM enterprise e WHERE ST_Intersects(e.geom, a.geom)) DESC LIMIT 1""")
        code, lat, lon = cur.fetchone()
    open_map(page, server)
    set_view(page, lat, lon, 8)
    assert page.evaluate("document.querySelector('.leaflet-container').dataset.zoning") == "county"
    click_at(page, lat, lon)
    wait_for_radius(page, 2000)
    clon, clat = clicked_point(page)
    answer = near_answer(server, clon, clat, 2000)
    assert listed(page) == [[f["properties"]["kind"], f["properties"]["id"]] for f in answer["features"]]
    assert page.locator(".riskmap-near .riskmap-area").get_attribute("data-area") == code
    county = httpx.get(f"{server.url}/areas/{code}").json()["properties"]
    totals: dict[str, int] = {}
    for by_level in county["counts"].values():
        for level, n in by_level.items():
            totals[level] = totals.get(level, 0) + n
    rows = page.locator(".riskmap-near .riskmap-area tr").evaluate_all(
        "trs => trs.map(tr => [tr.dataset.level, Number(tr.cells[1].textContent)])")
    assert rows == [[lv, totals.get(lv, 0)] for lv in ("red", "orange", "yellow", "blue")]
    assert sum(totals.values()) > 0


def test_clicking_an_enterprise_opens_its_popup_and_lists_its_neighbours(page, server, park_site):
    """Close up, a click on an enterprise's marker opens its popup (score, a link to its page and one to its field
    form) and lists the risks around it, the enterprise itself first at 0 m."""
    lat, lon = park_site
    open_map(page, server)
    set_view(page, lat, lon, 17)  # (no clusters from zoom 17)
    click_at(page, lat, lon)
    page.wait_for_selector(".leaflet-popup-content .riskmap-popup")
    wait_for_radius(page, 2000)
    first = page.locator(".riskmap-near-list li").first
    popup = page.locator(".leaflet-popup-content .riskmap-popup")
    assert first.get_attribute("data-kind") == "enterprise"
    assert first.locator("small").inner_text().startswith("0 m")
    name = first.evaluate("li => li.querySelector('i').nextSibling.textContent.trim()")
    assert popup.locator("b").inner_text() == name
    links = popup.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    site = first.get_attribute("data-id")
    assert links == [f"/features/enterprise/{site}", f"/inspect/enterprise/{site}?lang=zh"]  # its page, its field form
    clon, clat = clicked_point(page)
    assert listed(page) == [[f["properties"]["kind"], f["properties"]["id"]]
                            for f in near_answer(server, clon, clat, 2000)["features"]]


def test_clicking_a_red_cell_the_panel_says_red_and_what_the_radius_holds(page, server):
    """A real click on a red H3 cell of the zoning (one the page drew, at the opening zoom: resolution 6; one whose
    2 km hold no red risk when there is one, the case where the panel used to call a lower level the highest):
    the panel names the cell in red first, then calls the highest level of the risks within 2 km what it is, the
    one /risks/near gives, and says why the cell is higher; in English too (the language button searches nowhere)."""
    open_map(page, server)
    cells = red_cells_on_screen(page, server)
    assert cells, "no red cell of the zoning lies on the map"
    cell = next((c for c in cells if c["worst"] != "red"), cells[0])
    click_at(page, cell["lat"], cell["lon"])
    wait_for_radius(page, 2000)
    clon, clat = clicked_point(page)
    assert h3.latlng_to_cell(clat, clon, cell["resolution"]) == cell["id"]
    area = page.locator(".riskmap-near .riskmap-area")
    assert area.get_attribute("data-area") == cell["id"] and area.get_attribute("data-level") == "red"
    assert "重大风险" in area.locator(".riskmap-area-level").inner_text()
    assert area.locator(".riskmap-area-level i").evaluate("i => getComputedStyle(i).backgroundColor") == \
        "rgb(215, 25, 28)"
    summary = near_answer(server, clon, clat, 2000)["summary"]
    shown = page.locator(".riskmap-near-summary")
    assert shown.get_attribute("data-worst") == (summary["worst_level"] or "")
    names = {"red": "重大风险", "orange": "较大风险", "yellow": "一般风险", "blue": "低风险"}
    if summary["returned"] == 0:
        assert shown.inner_text().startswith("半径 2 km 内没有风险点")
    else:
        assert shown.inner_text().startswith(f"半径 2 km 内的风险点中最高等级: {names[summary['worst_level']]}")
    note = page.locator(".riskmap-near-note")
    if summary["worst_level"] == "red":
        assert note.count() == 0
    else:
        assert "就高" in note.inner_text() and "重大风险" in note.inner_text() and "2 km" in note.inner_text()
    screenshot(page, "click-red-cell")
    page.click(".riskmap-lang")  # (the panel is written again: the click must not search where the button was)
    assert "Here on the map" in area.inner_text() and "Major" in area.inner_text()
    assert clicked_point(page) == (clon, clat)
    if summary["worst_level"] not in (None, "red"):
        assert page.locator(".riskmap-near-summary").inner_text().startswith("Highest level of the risks within 2 km")
        assert "not among those listed within 2 km" in page.locator(".riskmap-near-note").inner_text()
    assert page.log.errors() == []
