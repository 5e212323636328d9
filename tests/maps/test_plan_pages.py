"""An inspection plan in headless Chromium: the printable schedule (GET /plans/{id}, html) and the plan layer on
the main map (/?plan=ID): one coloured line per team-day, a numbered marker per stop, no errors."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

from geo import store
from geo.planning import schedule
from geo.planning import store as plan_store
from geo.planning.plan import PlanRequest, plan
from maps.main_map import TEAM_COLOURS
from tests.maps.conftest import screenshot, wait_idle


@pytest.fixture(scope="module")
def stored_plan(map_demo_url):
    """A 3-team x 2-day plan of Lubei's orange and red sites, stored in the map tests' database."""
    conn = store.connect(map_demo_url)
    conn.autocommit = True
    try:
        req = PlanRequest(teams=3, days=2, area="130203", min_level="orange", max_sites=200, time_limit_s=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cands, inst, solution = plan(conn, req)
        yield plan_store.save(conn, schedule.build(req, cands, inst, solution), "test")
    finally:
        conn.close()


def visits(doc: dict) -> list[dict]:
    return [s for t in doc["teams"] for d in t["days"] for s in d["stops"]]


def test_schedule_page_lists_every_stop_and_maps_them(page, server, stored_plan):
    """The printable page shows a section per team and a table row per stop, in order; its map has one
    numbered marker per stop in its team's colour; nothing fails."""
    doc = stored_plan
    page.goto(f"{server.url}/plans/{doc['id']}?format=html&lang=en")
    page.wait_for_selector(".riskmap-plan-stop")
    assert page.locator(".riskmap-plan-team").count() == 3
    rows = page.locator(".riskmap-plan-table tbody tr")
    assert rows.count() == len(visits(doc))
    assert [rows.nth(i).get_attribute("data-id") for i in range(rows.count())] == [str(s["id"]) for s in visits(doc)]
    markers = page.locator(".riskmap-plan-stop")
    assert markers.count() == len(visits(doc))
    colours = page.eval_on_selector_all(".riskmap-plan-stop", "els => els.map(e => [e.dataset.team, "
                                        "getComputedStyle(e).backgroundColor])")
    for team, colour in colours:
        r, g, b = (int(TEAM_COLOURS[int(team) - 1][i:i + 2], 16) for i in (1, 3, 5))
        assert colour == f"rgb({r}, {g}, {b})"
    assert page.locator(".leaflet-interactive").count() >= sum(1 for t in doc["teams"] for d in t["days"]
                                                               if d["stops"])  # the route lines
    assert page.log.errors() == []
    assert all(u.startswith(server.url) for u in page.log.requests)
    screenshot(page, "plan-schedule")
    page.emulate_media(media="print")
    assert page.locator(".riskmap-noprint").first.is_hidden()


def test_plan_layer_on_the_main_map(page, server, stored_plan):
    """/?plan=ID draws the plan over the risk layers: a numbered marker per stop, the layer in the switcher."""
    doc = stored_plan
    page.goto(f"{server.url}/?plan={doc['id']}&lang=en")
    wait_idle(page)
    page.wait_for_function("() => { const c = document.querySelector('.leaflet-container');"
                           " return c.dataset.plan && c.dataset.plan !== 'loading'; }")
    assert page.eval_on_selector(".leaflet-container", "c => c.dataset.plan") == str(len(visits(doc)))
    numbers = page.eval_on_selector_all(".riskmap-plan-stop", "els => els.map(e => [e.dataset.team, e.dataset.day,"
                                        " e.textContent])")
    expected = [(str(t["team"]), str(d["day"]), str(s["seq"])) for t in doc["teams"] for d in t["days"]
                for s in d["stops"]]
    assert sorted(map(tuple, numbers)) == sorted(expected)
    assert f"Inspection plan {doc['id']}" in page.inner_text(".leaflet-control-layers")
    assert page.log.errors() == []
    screenshot(page, "plan-layer")


def test_unknown_plan_on_the_map_is_marked_not_fatal(page, server):
    """A plan id that does not exist: the map still loads its layers and marks the plan as an error."""
    page.goto(f"{server.url}/?plan=999999999")
    wait_idle(page)
    page.wait_for_function("() => document.querySelector('.leaflet-container').dataset.plan === 'error'")
    assert page.locator(".riskmap-plan-stop").count() == 0


def test_allocation_page_maps_the_teams(page, server):
    """GET /allocations as html: every county shaded with its number of teams, the numbers adding up."""
    page.goto(f"{server.url}/allocations?teams=16&format=html&lang=en")
    page.wait_for_selector(".riskmap-alloc-label")
    labels = page.eval_on_selector_all(".riskmap-alloc-label", "els => els.map(e => +e.textContent)")
    assert len(labels) == 14 and sum(labels) == 16
    assert page.locator(".leaflet-interactive").count() >= 14
    assert page.log.errors() == []
    screenshot(page, "allocation")


@pytest.fixture(scope="module")
def stored_campaign(map_demo_url):
    """A 3-team x 3-day campaign of Lubei's orange and red sites (red twice, a day apart), stored as a plan."""
    from geo.planning.campaign import CampaignRequest, make_campaign

    conn = store.connect(map_demo_url)
    conn.autocommit = True
    try:
        req = PlanRequest(teams=3, days=3, area="130203", min_level="orange", max_sites=200, travel="great_circle",
                          today=dt.date(2026, 6, 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            doc = make_campaign(conn, CampaignRequest(req, spacing_days=1, time_limit_s=3))
        yield plan_store.save(conn, doc, "test")
    finally:
        conn.close()


def test_a_campaigns_page_shows_its_days_one_at_a_time(page, server, stored_campaign):
    """A campaign's page lists every stop under its team and dated day (a red site's second visit marked); its map
    shows the first day's routes and stops, and the layer switcher brings each other day; nothing fails."""
    doc = stored_campaign
    page.goto(f"{server.url}/plans/{doc['id']}?format=html&lang=en")
    page.wait_for_selector(".riskmap-plan-stop")
    assert page.locator(".riskmap-plan[data-kind='campaign']").count() == 1
    assert page.locator(".riskmap-plan-team").count() == 3
    rows = page.locator(".riskmap-plan-table tbody tr")
    assert rows.count() == len(visits(doc))
    second = [s for s in visits(doc) if s["visit"] == 2]
    assert second and page.locator(".riskmap-visit").count() == len(second)
    assert "2026-06-03" in page.inner_text(".riskmap-plan")

    def shown_days() -> set[str]:
        return set(page.eval_on_selector_all(".riskmap-plan-stop", "els => els.map(e => e.dataset.day)"))

    assert shown_days() == {"1"}
    assert page.locator(".riskmap-plan-stop").count() == sum(len(d["stops"]) for t in doc["teams"]
                                                             for d in t["days"] if d["day"] == 1)
    page.locator(".leaflet-control-layers").get_by_text("Day 2 2026-06-02", exact=True).click()
    assert shown_days() == {"1", "2"}
    screenshot(page, "campaign-schedule")
    assert page.log.errors() == []
    assert all(u.startswith(server.url) for u in page.log.requests)


def test_a_campaign_on_the_main_map(page, server, stored_campaign):
    """/?plan=ID draws a stored campaign as it draws a plan: a numbered marker per stop of every day, by team."""
    doc = stored_campaign
    page.goto(f"{server.url}/?plan={doc['id']}&lang=en")
    wait_idle(page)
    page.wait_for_function("() => { const c = document.querySelector('.leaflet-container');"
                           " return c.dataset.plan && c.dataset.plan !== 'loading'; }")
    assert page.eval_on_selector(".leaflet-container", "c => c.dataset.plan") == str(len(visits(doc)))
    numbers = page.eval_on_selector_all(".riskmap-plan-stop", "els => els.map(e => [e.dataset.team, e.dataset.day,"
                                        " e.textContent])")
    assert sorted(map(tuple, numbers)) == sorted((str(t["team"]), str(d["day"]), str(s["seq"]))
                                                 for t in doc["teams"] for d in t["days"] for s in d["stops"])
    assert page.log.errors() == []
    screenshot(page, "campaign-layer")
