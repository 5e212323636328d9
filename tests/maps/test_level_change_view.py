"""The main map's "change since" view (issue 14 item 5), in a real headless Chromium, on a small region of its own
whose score history was made by real scoring runs on fixed dates (tests/geo/risk/change_region.py): the marks of
the sites that rose and fell, a real click on a risen site's mark and its popup, the per-county counts zoomed out,
the legend, the date box and the address, in both languages."""

from __future__ import annotations

import datetime as dt

import pytest

from api.settings import Settings
from geo import store
from maps.main_map import default_change_since
from tests.conftest import throwaway_database
from tests.geo.risk.change_region import EAST, SECOND_RUN, SINCE, WEST, build_change_region, levels
from tests.maps.conftest import LiveServer, open_map, screenshot, set_view, wait_idle
from tests.maps.test_main_map_phone import assert_every_control_usable, map_share

CLOSE_UP = (39.61, 118.18, 12)  # lat, lon, zoom: every site of the region drawn (the features' zoom)
COLOUR_NAMES = {"zh": {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"},
                "en": {"red": "red", "orange": "orange", "yellow": "yellow", "blue": "blue"}}


@pytest.fixture(scope="module")
def region(cluster):
    """The change region with 14 more unchanged enterprises and a venue, served with no basemap; the ids, the
    levels now and as of the first run, and each site's point."""
    with throwaway_database(cluster[1]) as url:
        db = store.connect(url)
        sites = build_change_region(db, quiet_sites=14)
        now, then = levels(db)
        with db.cursor() as cur:
            cur.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM enterprise")
            points = {i: (x, y) for i, x, y in cur.fetchall()}
        db.close()
        with LiveServer(Settings(anonymous_reads=True, database_url=url, basemap="none")) as live:
            yield {"server": live, "sites": sites, "now": now, "then": then, "points": points}


def mark_at(page, lon: float, lat: float) -> dict:
    """What covers the map where (lon, lat) is on screen: the change mark there (its data), or the element's
    class."""
    return page.evaluate(f"""() => {{
        const p = riskmap.current.map.latLngToContainerPoint([{lat}, {lon}]);
        const box = document.querySelector('.leaflet-container').getBoundingClientRect();
        const el = document.elementFromPoint(box.left + p.x, box.top + p.y);
        const icon = el && el.closest('.riskmap-change');  // (the marker's icon, holding the mark)
        const inner = icon && icon.querySelector('.riskmap-change-mark');
        return inner ? Object.assign({{}}, inner.dataset) : {{cls: el ? String(el.className) : null}};
    }}""")


def click_on(page, lon: float, lat: float) -> None:
    """A real mouse click where (lon, lat) is on screen."""
    x, y = page.evaluate(f"() => {{ const p = riskmap.current.map.latLngToContainerPoint([{lat}, {lon}]);"
                         " return [p.x, p.y]; }")
    box = page.locator(".leaflet-container").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_a_click_on_a_risen_sites_mark_says_from_which_level_to_which(page, region):
    """Opened with ?view=change&since=2026-02-15 (English): the change view is on, with its date in the box and
    its legend; close up the risen site has an up mark in the colour of its level now, which covers the map at its
    point; a real click there opens its popup, saying "<then> → red since 2026-02-15" with its scores.  The fallen
    site has a down mark, the site scored later a "+", the unchanged ones no mark (faint dots)."""
    server, sites, now, then = region["server"], region["sites"], region["now"], region["then"]
    open_map(page, server, f"?view=change&since={SINCE.isoformat()}&lang=en")
    assert page.evaluate("document.querySelector('.leaflet-container').dataset.mode") == "change"
    assert page.locator(".riskmap-mode a.riskmap-mode-on").inner_text() == "Change since"
    assert page.locator(".riskmap-change-control input").input_value() == SINCE.isoformat()
    legend = page.locator(".riskmap-legend-change")
    assert legend.is_visible() and f"since {SINCE.isoformat()}" in legend.inner_text()
    assert [r.get_attribute("data-change") for r in legend.locator(".riskmap-change-row").all()] == [
        "up", "down", "new", "same"]
    assert page.locator(".riskmap-legend-zoning").is_visible()  # (the marks are in the levels' colours)
    assert not page.evaluate("riskmap.current.map.hasLayer(riskmap.current.zoning)")
    assert not page.evaluate("riskmap.current.map.hasLayer(riskmap.current.kinds.enterprise)")

    set_view(page, *CLOSE_UP)
    lon, lat = region["points"][sites["rose"]]
    drawn = {m.get_attribute("data-site"): m.get_attribute("data-change")
             for m in page.locator(".riskmap-change-mark[data-site]").all()}
    assert drawn == {f"enterprise.{sites['rose']}": "up", f"enterprise.{sites['fell']}": "down",
                     f"enterprise.{sites['late']}": "new"}
    under = mark_at(page, lon, lat)
    assert under["site"] == f"enterprise.{sites['rose']}" and under["change"] == "up" and under["level"] == "red"
    colour = page.locator(f".riskmap-change-mark[data-site='enterprise.{sites['rose']}']").evaluate(
        "el => getComputedStyle(el).color")
    assert colour == "rgb(215, 25, 28)"  # the red of the levels' legend (#d7191c)
    # every site is drawn, the unchanged ones (the other enterprises and the venue) as faint dots
    assert page.evaluate("riskmap.current.change.sites.getLayers().length") == len(now) + 1

    click_on(page, lon, lat)
    popup = page.locator(".riskmap-change-popup")
    popup.wait_for()
    page.wait_for_function("getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")  # (faded in)
    level_then, score_then = then[sites["rose"]]
    level_now, score_now = now[sites["rose"]]
    assert level_then != "red" and level_now == "red"
    text = popup.inner_text()
    assert f"{COLOUR_NAMES['en'][level_then]} → red since {SINCE.isoformat()}" in text
    assert f"{score_then:g} → {score_now:g}" in text
    assert popup.get_attribute("data-site") == f"enterprise.{sites['rose']}"
    screenshot(page, "change-view-popup")
    assert page.log.errors() == []


def test_the_fallen_site_and_the_chinese_popup(page, region):
    """In Chinese, the fallen site's popup says "自 2026-02-15 起：红 → <now>", and the new one's that it was not
    scored on the date."""
    server, sites, now = region["server"], region["sites"], region["now"]
    open_map(page, server, f"?view=change&since={SINCE.isoformat()}")
    assert page.locator(".riskmap-mode a.riskmap-mode-on").inner_text() == "等级变化"
    set_view(page, *CLOSE_UP)
    lon, lat = region["points"][sites["fell"]]
    click_on(page, lon, lat)
    popup = page.locator(".riskmap-change-popup[data-change='down']")
    popup.wait_for()
    assert f"自 {SINCE.isoformat()} 起：红 → {COLOUR_NAMES['zh'][now[sites['fell']][0]]}" in popup.inner_text()
    lon, lat = region["points"][sites["late"]]
    click_on(page, lon, lat)
    popup = page.locator(".riskmap-change-popup[data-change='new']")
    popup.wait_for()
    assert f"{SINCE.isoformat()} 时未评分 → {COLOUR_NAMES['zh'][now[sites['late']][0]]}" in popup.inner_text()
    assert page.log.errors() == []


def test_zoomed_out_each_county_shows_its_counts(page, region):
    """At the counties' zoom each county shows how many of its sites rose and fell (and are new) at a point
    inside it: the west one ▲1 ▼1 (the boundary site counts there, unchanged), the east one ▲0 ▼0 +1."""
    server = region["server"]
    open_map(page, server, f"?view=change&since={SINCE.isoformat()}")
    set_view(page, 39.6, 118.2, 8)  # (the counties' zoom)
    assert page.evaluate("document.querySelector('.leaflet-container').dataset.change") == "areas:2"
    labels = {a.get_attribute("data-area"): a.locator("span").all_inner_texts()
              for a in page.locator(".riskmap-change-area").all()}
    assert labels == {WEST: ["▲1", "▼1"], EAST: ["▲0", "▼0", "+1"]}
    assert page.locator(".riskmap-change-mark[data-site]").count() == 0
    counts = page.locator(".riskmap-change-counts").inner_text()
    assert "▲1" in counts and "▼1" in counts and "+1" in counts
    screenshot(page, "change-view-counties")


def test_the_date_box_changes_the_date_and_the_address(page, region):
    """A new date in the box reloads the view and the address keeps it: on the date of the second run every site
    is unchanged (no marks); the legend names the new date."""
    server = region["server"]
    open_map(page, server, f"?view=change&since={SINCE.isoformat()}&lang=en")
    set_view(page, *CLOSE_UP)
    assert page.locator(".riskmap-change-mark[data-site]").count() == 3
    before = page.evaluate("document.querySelector('.leaflet-container').dataset.idle")
    page.locator(".riskmap-change-control input").fill(SECOND_RUN.isoformat())
    page.wait_for_function(f"document.querySelector('.leaflet-container').dataset.idle !== '{before}'")
    wait_idle(page)
    assert page.locator(".riskmap-change-mark[data-site]").count() == 0
    assert f"since={SECOND_RUN.isoformat()}" in page.url and "view=change" in page.url
    assert f"since {SECOND_RUN.isoformat()}" in page.locator(".riskmap-legend-change").inner_text()


def test_the_switch_enters_and_leaves_the_view(page, region):
    """From the zoning, the switch's third button opens the change view at the default date (the server's: 90
    days before its date) and puts it in the address; back on the zoning the view's marks, control and legend go,
    the feature classes come back and the address drops the date."""
    server = region["server"]
    open_map(page, server, "?lang=en")
    assert page.locator(".riskmap-mode a").all_inner_texts() == ["Zoning", "Heatmap", "Change since"]
    assert page.locator(".riskmap-change-control").count() == 0
    before = page.evaluate("document.querySelector('.leaflet-container').dataset.idle")
    page.locator(".riskmap-mode a", has_text="Change since").click()
    page.wait_for_function(f"document.querySelector('.leaflet-container').dataset.idle !== '{before}'")
    wait_idle(page)
    default = page.evaluate("riskmap.current.cfg.change_since")
    assert page.locator(".riskmap-change-control input").input_value() == default
    assert f"view=change&since={default}" in page.url
    assert page.locator(".riskmap-legend-change").is_visible()
    page.locator(".riskmap-mode a", has_text="Zoning").click()
    wait_idle(page)
    assert page.locator(".riskmap-change-control").count() == 0
    assert not page.locator(".riskmap-legend-change").is_visible()
    assert page.evaluate("riskmap.current.map.hasLayer(riskmap.current.kinds.enterprise)")
    assert page.evaluate("riskmap.current.map.hasLayer(riskmap.current.zoning)")
    assert not page.evaluate("riskmap.current.map.hasLayer(riskmap.current.change.group)")
    assert "since=" not in page.url and "view=" not in page.url
    assert page.log.errors() == []


def test_the_default_date_is_90_days_before_today():
    """The view's default date is 90 days before the server's date (here a fixed one)."""
    assert default_change_since(dt.date(2026, 11, 29)) == "2026-08-31"


def test_on_a_phone_the_change_view_opens_and_its_date_box_works(phone_page, region):
    """At 390 × 844 with touch, the switch's change-since button is on screen and takes a tap; the view opens with
    its date box at the bottom, every control usable (on screen, uncovered, 40 px); a date typed there reloads the
    marks (the risen and the fallen site since the first run, none since the second) and the address keeps it; most
    of the map still shows."""
    page, server = phone_page, region["server"]
    open_map(page, server, "?lang=en")
    button = page.locator(".riskmap-mode a", has_text="Change since")
    assert_every_control_usable(page)
    set_view(page, 39.61, 118.10, 11)  # (the risen and the fallen site on the phone's narrow screen)
    before = page.evaluate("document.querySelector('.leaflet-container').dataset.idle")
    button.tap()
    page.wait_for_function(f"document.querySelector('.leaflet-container').dataset.idle !== '{before}'")
    wait_idle(page)
    assert page.evaluate("document.querySelector('.leaflet-container').dataset.mode") == "change"
    date_box = page.locator(".riskmap-change-control input")
    assert date_box.is_visible() and date_box.bounding_box()["y"] > 844 / 2  # (at the bottom, within thumb reach)
    assert_every_control_usable(page)
    for since, marks in ((SINCE, 2), (SECOND_RUN, 0)):
        before = page.evaluate("document.querySelector('.leaflet-container').dataset.idle")
        date_box.fill(since.isoformat())
        page.wait_for_function(f"document.querySelector('.leaflet-container').dataset.idle !== '{before}'")
        wait_idle(page)
        assert page.locator(".riskmap-change-mark[data-site]").count() == marks
        assert f"since={since.isoformat()}" in page.url
        if marks:
            screenshot(page, "phone-change-view")
    assert map_share(page) >= 0.6
    assert page.log.errors() == []
