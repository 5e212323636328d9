"""POST /plans, GET /plans and GET /plans/{id} as JSON, GeoJSON, CSV and HTML, against the scored demo."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from api.access import key_fingerprint
from api.app import create_app
from api.settings import Settings

KEY = "k-plans-a1b2c3d4e5f6"
LUBEI = "130203"
ASK = {"teams": 2, "days": 2, "area": LUBEI, "min_level": "orange", "max_sites": 150, "time_limit_s": 2}


@pytest.fixture(scope="module")
def api(demo_url):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url, api_keys=KEY,
                                        plan_max_time_s=30))) as c:
        yield c


@pytest.fixture(scope="module")
def made(api):
    r = api.post("/plans", json=ASK, headers={"X-API-Key": KEY})
    assert r.status_code == 201, r.text
    return r


def test_a_plan_is_made_stored_and_served(api, made):
    """201 with a Location; GET of it returns the same plan; it is listed first, with who made it."""
    doc = made.json()
    assert made.headers["location"] == f"/plans/{doc['id']}"
    got = api.get(made.headers["location"])
    assert got.status_code == 200 and got.json() == doc
    assert api.get("/plans").json()[0]["id"] == doc["id"]
    assert doc["request"]["area"] == LUBEI and doc["request"]["teams"] == 2
    # it keeps who made it: the API key's fingerprint, as the records' history does (not a bare 'api')
    assert api.get("/plans").json()[0]["created_by"] == f"api:{key_fingerprint(KEY)}"


def test_each_day_fits_its_hours_and_sites_are_visited_once(made):
    """Every team-day leaves at the day's start and is back within its hours; stops are numbered from 1 and
    every departure follows its arrival; no site twice; the totals add up."""
    doc = made.json()
    assert len(doc["teams"]) == 2 and all(len(t["days"]) == 2 for t in doc["teams"])
    seen = []
    for team in doc["teams"]:
        for day in team["days"]:
            assert day["leave"] == "08:30" and day["hours"] <= 8.0
            if day["stops"]:
                assert day["back"] <= "16:30"
            assert [s["seq"] for s in day["stops"]] == list(range(1, len(day["stops"]) + 1))
            for s in day["stops"]:
                assert s["arrival"] <= s["start"] < s["departure"] and s["level"] in ("red", "orange")
            seen += [(s["kind"], s["id"]) for s in day["stops"]]
    assert len(seen) == len(set(seen)) == doc["totals"]["visits"] > 0
    risk = sum(t["risk"] for t in doc["teams"])
    assert doc["totals"]["risk_covered"] == pytest.approx(risk, abs=0.05)
    assert 0 < doc["totals"]["risk_share"] <= 1


def test_geojson_csv_and_html(api, made):
    """The same plan as GeoJSON (a route per team-day with stops), CSV (a row per stop) and the printable HTML
    schedule (a section per team, the stops' names)."""
    doc = made.json()
    gj = api.get(f"/plans/{doc['id']}", params={"format": "geojson"})
    assert gj.headers["content-type"].startswith("application/geo+json")
    features = gj.json()["features"]
    stops = [f for f in features if f["properties"]["role"] == "stop"]
    routes = [f for f in features if f["properties"]["role"] == "route"]
    assert len(stops) == doc["totals"]["visits"]
    assert len(routes) == sum(1 for t in doc["teams"] for d in t["days"] if d["stops"])
    rows = list(csv.DictReader(io.StringIO(api.get(f"/plans/{doc['id']}", params={"format": "csv"}).text)))
    assert len(rows) == doc["totals"]["visits"]
    assert {(r["kind"], int(r["id"])) for r in rows} == {(f["properties"]["kind"], f["properties"]["feature_id"])
                                                          for f in stops}
    page = api.get(f"/plans/{doc['id']}", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count('class="riskmap-plan-team"') == 2
    first = doc["teams"][0]["days"][0]["stops"] or doc["teams"][1]["days"][0]["stops"]
    assert first[0]["name"] in page.text


def test_the_same_seed_gives_the_same_plan(api, made):
    """With an iteration cap ending the search, the same request and seed give the same routes (two plans
    stored); another seed may differ but is as valid."""
    small = {**ASK, "teams": 2, "days": 2, "min_level": "orange", "max_sites": 60, "time_limit_s": 20,
             "iterations": 400}
    a = api.post("/plans", json=small, headers={"X-API-Key": KEY}).json()
    b = api.post("/plans", json=small, headers={"X-API-Key": KEY}).json()
    assert a["id"] != b["id"] and a["teams"] == b["teams"]


@pytest.mark.parametrize(("body", "words"), [
    ({"teams": 0, "days": 1}, "teams"),
    ({"teams": 1, "days": 1, "hours_per_day": 0}, "hours_per_day"),
    ({"teams": 1, "days": 1, "area": "999999"}, "999999"),
    ({"teams": 1, "days": 1, "time_limit_s": 31}, "at most 30"),
    ({"teams": 1, "days": 1, "min_level": "purple"}, "min_level"),
    ({"teams": 1, "days": 1, "must_visit": ["enterprise.999999999"]}, "enterprise.999999999"),
    ({"teams": 1}, "days"),
])
def test_bad_requests_are_422_with_a_reason(api, body, words):
    r = api.post("/plans", json=body, headers={"X-API-Key": KEY})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert words in r.text


def test_an_unreachable_must_visit_site_says_which_and_why(api, conn):
    """A must-visit site that no team can reach and inspect within its working day: 422 naming the site and
    the hours it would take."""
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM enterprise ORDER BY id LIMIT 1")
        (eid,) = cur.fetchone()
    r = api.post("/plans", json={**ASK, "bases": [[100.0, 30.0]], "must_visit": [f"enterprise.{eid}"]},
                 headers={"X-API-Key": KEY})
    assert r.status_code == 422
    assert f"enterprise.{eid}" in r.json()["detail"] and "more than a team's budget" in r.json()["detail"]


def test_too_many_must_visit_hours_are_422_in_hours_and_team_days_with_what_to_change(api):
    """Every orange and red site of the county overdue (the first day years after the demo's inspections) does not
    fit in one team's 2-hour day: 422 saying the hours needed and had, the team-days, and the options to change;
    nothing is stored."""
    before = api.get("/plans", params={"limit": 1}).json()
    r = api.post("/plans", json={**ASK, "teams": 1, "days": 1, "hours_per_day": 2, "overdue": True,
                                 "first_day": "2029-01-01"}, headers={"X-API-Key": KEY})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "h of inspection alone (travel not counted), more than the 2 h the teams have (1 team x 1 day" in detail
    assert "team-days of 2 h" in detail
    for option in ("teams, --teams", "days, --days", "hours_per_day, --hours", "--overdue-days"):
        assert option in detail
    assert api.get("/plans", params={"limit": 1}).json() == before


def test_writes_need_a_key_and_unknown_plans_are_404(api):
    assert api.post("/plans", json=ASK).status_code == 401
    assert api.post("/plans", json=ASK, headers={"X-API-Key": "wrong"}).status_code == 401
    r = api.get("/plans/999999999")
    assert r.status_code == 404 and "no inspection plan" in r.json()["detail"]
