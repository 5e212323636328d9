"""The hidden-danger layer of the main map and the records timeline of the feature page (issue 14, item 2), in a
real headless Chromium on the scored demo, with records written into it by plain SQL for this module (and
removed afterwards).

Dates: the map asks for the dangers open on the server's date, so the records here have deadlines far in the
past (overdue whatever the date) or far in the future (never overdue); the feature page takes a fixed as_of."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from tests.maps.conftest import open_map, screenshot, set_view

ZOOM = 14
LAYER_ZH = "隐患（未整改 / 逾期）"


def enterprises_near_each_other(conn) -> tuple[dict, dict, dict]:
    """Three enterprises 1 to 3 km apart, away from venues (whose markers would share the marker pane) and from
    pipelines: the first is the one with the fewest features within 300 m among those in a county."""
    with conn.cursor() as cur:
        cur.execute("""
            SELECT e.id, e.name, ST_X(e.geom), ST_Y(e.geom)
            FROM enterprise e
            JOIN area a ON a.level = 'county' AND ST_Intersects(a.geom, e.geom)
            WHERE NOT EXISTS (SELECT 1 FROM venue v WHERE v.geom && ST_Expand(e.geom, 0.01)
                              AND ST_DWithin(v.geom::geography, e.geom::geography, 600))
              AND NOT EXISTS (SELECT 1 FROM pipeline p WHERE p.geom && ST_Expand(e.geom, 0.03)
                              AND ST_DWithin(p.geom::geography, e.geom::geography, 2000))
              AND NOT EXISTS (SELECT 1 FROM enterprise o WHERE o.id <> e.id AND o.geom && ST_Expand(e.geom, 0.01)
                              AND ST_DWithin(o.geom::geography, e.geom::geography, 300))
            ORDER BY e.id
            LIMIT 1""")
        first = cur.fetchone()
        cur.execute("""
            SELECT o.id, o.name, ST_X(o.geom), ST_Y(o.geom)
            FROM enterprise o, enterprise e
            WHERE e.id = %s AND o.id <> e.id AND o.geom && ST_Expand(e.geom, 0.05)
              AND ST_DWithin(o.geom::geography, e.geom::geography, 3000)
              AND NOT ST_DWithin(o.geom::geography, e.geom::geography, 1000)
            ORDER BY o.id
            LIMIT 2""", (first[0],))
        others = cur.fetchall()
    assert len(others) == 2
    return tuple({"id": r[0], "name": r[1], "lon": r[2], "lat": r[3]} for r in (first, *others))


@pytest.fixture(scope="module")
def records(demo_db):
    """On the first enterprise: an overdue major danger (deadline 2020-01-01), an open general one (deadline
    2099-12-31), an inspection, an enforcement action and an accident, and the major danger rectified then
    reopened by two people; on the second, an open general danger; on the third, only a verified one (not on the
    map).  Removed at the end of the module."""
    a, b, c = enterprises_near_each_other(demo_db)
    with demo_db.cursor() as cur:
        def danger(site, source_id, grade, status, found, deadline, description, **dates):
            cur.execute("INSERT INTO hidden_danger (source_id, site_kind, site_id, description, grade, found_on, "
                        "deadline, status, status_changed_on, rectified_on, verified_on, synthetic) "
                        "VALUES (%s, 'enterprise', %s, %s, %s, %s, %s, %s, %s, %s, %s, true) RETURNING id",
                        (source_id, site["id"], description, grade, found, deadline, status,
                         max(x for x in (found, *dates.values()) if x), dates.get("rectified"),
                         dates.get("verified")))
            return cur.fetchone()[0]

        ids = {
            "overdue": danger(a, "maptest-1", "major", "open", dt.date(2019, 12, 1), dt.date(2020, 1, 1),
                              "液氨储罐区未设置泄漏报警"),
            "open": danger(a, "maptest-2", "general", "open", dt.date(2026, 3, 20), dt.date(2099, 12, 31),
                           "消防通道堆放杂物"),
            "other": danger(b, "maptest-3", "general", "open", dt.date(2026, 4, 1), dt.date(2099, 12, 31),
                            "配电箱未接地"),
            "verified": danger(c, "maptest-4", "general", "verified", dt.date(2026, 1, 5), dt.date(2026, 2, 1),
                               "安全标志缺失", rectified=dt.date(2026, 1, 20), verified=dt.date(2026, 1, 25)),
        }
        cur.execute("INSERT INTO inspection (source_id, site_kind, site_id, inspected_on, team, inspection_type, "
                    "outcome, synthetic) VALUES ('maptest-i1', 'enterprise', %s, '2026-03-20', '第2组', 'special', "
                    "'dangers_found', true)", (a["id"],))
        cur.execute("INSERT INTO enforcement_action (source_id, site_kind, site_id, decided_on, measure, lifted_on, "
                    "synthetic) VALUES ('maptest-e1', 'enterprise', %s, '2026-03-25', 'suspension', '2026-04-30', "
                    "true)", (a["id"],))
        cur.execute("INSERT INTO accident (source_id, occurred_on, accident_type, accident_class, deaths, "
                    "serious_injuries, site_kind, site_id, synthetic, geom) VALUES ('maptest-a1', '2026-05-08', "
                    "'中毒窒息', 'general', 1, 0, 'enterprise', %s, true, ST_SetSRID(ST_Point(%s, %s), 4326))",
                    (a["id"], a["lon"], a["lat"]))
        for actor, change in (("张工", "status = 'rectified', rectified_on = '2026-04-10', status_changed_on = "
                                      "'2026-04-10'"),
                              ("王科", "status = 'reopened', reopened_on = '2026-05-06', status_changed_on = "
                                      "'2026-05-06'")):
            cur.execute("BEGIN")
            cur.execute("SELECT set_config('riskmap.actor', %s, true)", (actor,))
            cur.execute(f"UPDATE hidden_danger SET {change} WHERE id = %s", (ids["overdue"],))
            cur.execute("COMMIT")
    yield {"sites": (a, b, c), "dangers": ids}
    with demo_db.cursor() as cur:
        for table in ("hidden_danger", "inspection", "enforcement_action", "accident"):
            cur.execute(f"DELETE FROM {table} WHERE source_id LIKE 'maptest-%%'")


def danger_markers(page) -> dict[str, dict]:
    """The danger markers drawn: site key -> overdue, major."""
    return {m["site"]: m for m in page.locator(".leaflet-marker-pane .riskmap-danger-icon").evaluate_all(
        "ms => ms.map(m => ({site: m.dataset.site, overdue: m.dataset.overdue, major: m.dataset.major}))")}


def screen_point(page, lat: float, lon: float) -> tuple[float, float]:
    x, y = page.evaluate(f"() => {{ const p = riskmap.current.map.latLngToContainerPoint([{lat}, {lon}]);"
                         " return [p.x, p.y]; }")
    box = page.locator(".leaflet-container").bounding_box()
    return box["x"] + x, box["y"] + y


def test_layer_is_off_until_switched_on_then_a_marker_opens_its_dangers(page, server, records):
    """The layer is in the switcher, off, and asks for nothing; switched on (a real click), it loads the open
    dangers of the view by bbox and draws a marker per site, filled for the site with an overdue danger; a real
    click on what covers the map at that site opens the popup of its dangers, overdue first, with the days
    overdue the API gives, and the link to the site's page."""
    a, b, c = records["sites"]
    open_map(page, server)
    set_view(page, a["lat"], a["lon"], ZOOM)
    label = page.locator(".leaflet-control-layers-overlays label", has_text=LAYER_ZH)
    assert not label.locator("input").is_checked()
    assert not page.locator(".leaflet-marker-pane .riskmap-danger-icon").count()
    assert not page.locator(".riskmap-legend-dangers").is_visible()
    assert not [u for u in page.log.requests if "/hidden-dangers" in u]
    before = page.evaluate("document.querySelector('.leaflet-container').dataset.idle")
    label.click()
    page.wait_for_function(f"document.querySelector('.leaflet-container').dataset.idle !== '{before}'"
                           " && document.querySelector('.leaflet-container').dataset.loading === '0'")
    asked = [u for u in page.log.requests if "/hidden-dangers" in u]
    assert asked and all("bbox=" in u and "format=geojson" in u and "status=open%2Creopened" in u for u in asked)
    markers = danger_markers(page)
    assert markers[f"enterprise.{a['id']}"] == {"site": f"enterprise.{a['id']}", "overdue": "true", "major": "true"}
    assert markers[f"enterprise.{b['id']}"]["overdue"] == "false"
    assert f"enterprise.{c['id']}" not in markers  # its only danger is verified
    legend = page.locator(".riskmap-legend-dangers")
    assert legend.is_visible() and legend.locator(".riskmap-danger-row").count() == 3
    # a real click where the site is: the topmost element there is its marker
    x, y = screen_point(page, a["lat"], a["lon"])
    on_top = page.evaluate(f"() => {{ const el = document.elementFromPoint({x}, {y});"
                           " const m = el && el.closest('.riskmap-danger-icon'); return m && m.dataset.site; }")
    assert on_top == f"enterprise.{a['id']}"
    page.mouse.click(x, y)
    popup = page.locator(f".riskmap-danger-popup[data-site='enterprise.{a['id']}']")
    popup.wait_for()
    items = popup.locator("li").evaluate_all("ls => ls.map(l => [Number(l.dataset.danger), l.dataset.overdue])")
    assert items == [[records["dangers"]["overdue"], "true"], [records["dangers"]["open"], "false"]]
    api = httpx.get(f"{server.url}/hidden-dangers", params={"status": "open,reopened", "overdue": "true",
                                                             "kind": "enterprise"}).json()
    days = next(it["days_overdue"] for it in api["items"] if it["id"] == records["dangers"]["overdue"])
    text = popup.inner_text()
    assert a["name"] in text and "重大事故隐患" in text and "液氨储罐区未设置泄漏报警" in text
    assert f"逾期 {days} 天" in text and "整改期限 2099-12-31" in text
    assert popup.locator("a").get_attribute("href") == f"/features/enterprise/{a['id']}?lang=zh"
    assert page.log.errors() == []
    screenshot(page, "hidden-danger-layer")


def test_layer_switched_off_hides_markers_and_legend(page, server, records):
    """Switched off again, the markers and the legend's rows go; the page carries no danger in its HTML."""
    a = records["sites"][0]
    html = httpx.get(f"{server.url}/").text
    assert "maptest" not in html and "液氨" not in html
    open_map(page, server)
    set_view(page, a["lat"], a["lon"], ZOOM)
    label = page.locator(".leaflet-control-layers-overlays label", has_text=LAYER_ZH)
    label.click()
    page.wait_for_function("document.querySelectorAll('.leaflet-marker-pane .riskmap-danger-icon').length > 0")
    label.click()
    assert page.locator(".leaflet-marker-pane .riskmap-danger-icon").count() == 0
    assert not page.locator(".riskmap-legend-dangers").is_visible()


def test_feature_page_shows_the_records_newest_first(page, server, records):
    """The site's page lists its records newest first, by their dates: the accident, the enforcement action, the
    general danger and the inspection that found it (same day: the danger first), the major danger (found in
    2019) with its status history (open, rectified by 张工, reopened by 王科) and its days overdue on the page's
    as_of; in Chinese, and in English with lang=en."""
    a = records["sites"][0]
    page.goto(f"{server.url}/features/enterprise/{a['id']}?format=html&lang=zh&as_of=2026-06-12")
    section = page.locator(".riskmap-timeline")
    section.wait_for()
    rows = section.locator("tbody tr").evaluate_all("rs => rs.map(r => [r.dataset.event, r.dataset.on])")
    assert rows == [["accident", "2026-05-08"], ["enforcement_action", "2026-03-25"],
                    ["hidden_danger", "2026-03-20"], ["inspection", "2026-03-20"],
                    ["hidden_danger", "2019-12-01"]]
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)
    major = section.locator(f"tr[data-event=hidden_danger][data-id='{records['dangers']['overdue']}']")
    history = major.locator(".history span").evaluate_all("ss => ss.map(s => s.dataset.status)")
    assert history == ["open", "rectified", "reopened"]
    text = major.inner_text()
    assert "张工" in text and "王科" in text and "逾期 2354 天" in text  # 2020-01-01 to 2026-06-12
    assert "停产整顿" in section.inner_text() and "2026-04-30 解除" in section.inner_text()
    section.scroll_into_view_if_needed()
    screenshot(page, "feature-page-timeline")
    page.goto(f"{server.url}/features/enterprise/{a['id']}?format=html&lang=en&as_of=2026-06-12")
    en = page.locator(".riskmap-timeline")
    assert "newest first" in en.locator("h2").inner_text()
    assert "2354 days overdue" in en.inner_text() and "production suspension" in en.inner_text()
    assert page.log.errors() == []
    en.scroll_into_view_if_needed()
    screenshot(page, "feature-page-timeline-en")


def test_feature_page_without_records_says_so(page, server, records):
    """A site with no record (a venue: the module's records are all at enterprises) says that none is
    recorded."""
    venue = httpx.get(f"{server.url}/features", params={"kind": "venue", "limit": 1}).json()["features"][0]
    page.goto(f"{server.url}/features/venue/{venue['properties']['id']}?format=html")
    assert page.locator(".riskmap-timeline-none").inner_text() == "尚无检查、隐患、执法或事故记录。"


def test_major_risks_page_prints_on_a4_landscape(page, server, records):
    """The printable list of major risks and hidden dangers shows the rows of GET /major-risks (the demo's red and
    orange sites, then the open major danger of this module, overdue), and prints on A4 landscape sheets."""
    a = records["sites"][0]
    doc = httpx.get(f"{server.url}/major-risks", params={"format": "json", "as_of": "2026-06-12"}).json()
    page.goto(f"{server.url}/major-risks?format=html&as_of=2026-06-12")
    rows = page.locator("table.riskmap-major-risks tbody tr").evaluate_all(
        "rs => rs.map(r => [r.dataset.entry, r.dataset.kind, Number(r.dataset.id)])")
    assert rows == [[it["entry"], it["site"]["kind"], it["site"]["id"]] for it in doc["items"]]
    assert rows[-1] == ["major_hidden_danger", "enterprise", a["id"]]
    assert doc["counts"]["major_risk"] > 20 and doc["counts"]["overdue"] == 1
    last = page.locator("table.riskmap-major-risks tbody tr").last
    assert "逾期 2354 天" in last.inner_text() and "液氨储罐区未设置泄漏报警" in last.inner_text()
    screenshot(page, "major-risks-page")
    last.scroll_into_view_if_needed()
    screenshot(page, "major-risks-page-end")
    # as printed: A4 landscape at 96 dpi (the print stylesheet)
    page.set_viewport_size({"width": 1123, "height": 794})
    page.emulate_media(media="print")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "major-risks-print")
    pdf = page.pdf(prefer_css_page_size=True)
    boxes = {tuple(round(float(v)) for v in box.split()) for box in re.findall(rb"/MediaBox \[([\d. ]+)\]", pdf)}
    assert boxes == {(0, 0, 842, 595)}  # A4 landscape, in points
