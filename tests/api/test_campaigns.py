"""POST /campaigns, GET /campaigns/{id} and DELETE /campaigns/{id} against the scored demo: a small campaign
solved in the background runs to done and is stored as one plan (red sites at their frequency, must-visit sites
always), a cancelled one keeps a whole, feasible plan, bad bodies are 422s naming the field, a second campaign
while one runs is a 429 naming it, and a county's planner plans their county's sites only."""

from __future__ import annotations

import csv
import io
import math
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo import users
from geo.planning.instance import EARTH_RADIUS_KM

KEY = "k-campaigns-7d41e9a0c2b5"
LUBEI, ZUNHUA = "130203", "130281"
ASK = {"teams": 2, "days": 4, "area": LUBEI, "min_level": "orange", "max_sites": 80, "spacing_days": 2,
       "first_day": "2026-06-01", "time_limit_s": 3}
WAIT_S = 300  # a bound on waiting for the background process on a loaded machine, not a timing claim


@pytest.fixture(scope="module")
def api(demo_url, conn):
    tokens = {}
    for name, areas in [("lubei", [LUBEI]), ("zunhua", [ZUNHUA])]:
        _, tokens[name] = users.add(conn, f"campaign-{name}", "planner", areas, "test")
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url, api_keys=KEY))) as c:
        yield c, {"admin": {"X-API-Key": KEY},
                  **{k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}}


def wait_for(client, location: str, headers: dict, until) -> dict:
    deadline = time.monotonic() + WAIT_S
    while True:
        state = client.get(location, headers=headers).json()
        if until(state) or state["state"] == "failed":
            return state
        assert time.monotonic() < deadline, f"the campaign did not get there: {state}"
        time.sleep(0.2)


def ended(state: dict) -> bool:
    return state["state"] in ("done", "failed")


def stops(doc: dict) -> list[tuple[int, dict, dict]]:
    return [(t["team"], d, s) for t in doc["teams"] for d in t["days"] for s in d["stops"]]


def hours(a, b, req: dict) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h))) * req["circuity"] / req["speed_kmh"]


def check_feasible(doc: dict) -> None:
    """Every team-day again from its stops: it starts where the team slept (its base on the first day), its
    travel, inspections and way home (when it drives home) fit in the day."""
    req = doc["request"]
    for team in doc["teams"]:
        here = tuple(team["base"])
        assert [d["day"] for d in team["days"]] == list(range(1, req["days"] + 1))
        for d in team["days"]:
            assert tuple(d["start_point"]) == here
            spent = 0.0
            for s in d["stops"]:
                spent += hours(here, (s["lon"], s["lat"]), req) + s["inspection_h"]
                here = (s["lon"], s["lat"])
            if d["overnight"] is None:
                spent += hours(here, team["base"], req)
                here = tuple(team["base"])
            assert spent <= req["hours_per_day"] + 1e-6
            assert abs(spent - d["hours"]) < 1e-3


@pytest.fixture(scope="module")
def finished(api, conn):
    """A 2-team x 4-day campaign of Lubei's red and orange sites with one yellow site named must-visit, run to
    its end: (its last state, the stored plan, the must-visit site)."""
    client, who = api
    with conn.cursor() as cur:
        cur.execute("SELECT r.kind, r.feature_id FROM feature_risk r JOIN area a ON a.admin_code = %s "
                    "JOIN enterprise e ON r.kind = 'enterprise' AND e.id = r.feature_id "
                    "AND ST_Intersects(a.geom, ST_PointOnSurface(e.geom)) WHERE r.level = 'yellow' "
                    "ORDER BY r.score LIMIT 1", (LUBEI,))
        kind, fid = cur.fetchone()
    must = f"{kind}.{fid}"
    started = client.post("/campaigns", json={**ASK, "must_visit": [must]}, headers=who["admin"])
    assert started.status_code == 202, started.text
    assert started.headers["location"] == f"/campaigns/{started.json()['id']}"
    assert started.json()["state"] in ("queued", "running")
    state = wait_for(client, started.headers["location"], who["admin"], ended)
    assert state["state"] == "done", state
    plan = client.get(f"/plans/{state['plan_id']}", headers=who["admin"])
    assert plan.status_code == 200
    return state, plan.json(), must


def test_a_campaign_runs_to_done_and_is_stored_as_one_plan(api, finished):
    """The state ends done with the stored plan's id; the plan is a campaign of 2 teams x 4 dated working days,
    listed by GET /plans, each day feasible from where the team slept."""
    client, who = api
    state, doc, _ = finished
    assert doc["kind"] == "campaign" and doc["id"] == state["plan_id"] and state["plan"] == f"/plans/{doc['id']}"
    assert state["interrupted"] is False and state["progress"]["days_done"] == 4
    assert [len(t["days"]) for t in doc["teams"]] == [4, 4]
    assert [d["date"] for d in doc["teams"][0]["days"]] == ["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04"]
    check_feasible(doc)
    listed = client.get("/plans", headers=who["admin"]).json()
    assert listed[0]["id"] == doc["id"] and listed[0]["days"] == 4 and listed[0]["area"] == LUBEI
    assert client.get("/campaigns", headers=who["admin"]).json()[0]["id"] == state["id"]



def test_a_stored_campaign_as_csv_and_geojson(api, finished):
    """Its CSV has a row per stop with the day's date and the site's visit number; its GeoJSON a route per
    team-day with stops, from where the team started."""
    client, who = api
    _, doc, _ = finished
    rows = client.get(f"/plans/{doc['id']}?format=csv", headers=who["admin"]).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(rows)))
    header = lines[0]
    assert header[:3] == ["team", "day", "date"] and "visit" in header
    assert len(lines) - 1 == len(stops(doc))
    assert {line[header.index("visit")] for line in lines[1:]} == {"1", "2"}
    routes = [f for f in client.get(f"/plans/{doc['id']}?format=geojson", headers=who["admin"]).json()["features"]
              if f["properties"]["role"] == "route"]
    days = [d for t in doc["teams"] for d in t["days"] if d["stops"]]
    assert len(routes) == len(days)
    assert sorted(r["geometry"]["coordinates"][0] for r in routes) == sorted(d["start_point"] for d in days)


def test_red_sites_at_their_frequency_and_must_visit_sites_always(finished):
    """Every red candidate is visited twice (visits 1 and 2, at least spacing_days apart), the named site at
    least once; the totals say so."""
    _, doc, must = finished
    seen: dict[str, list[tuple[int, int]]] = {}
    for _, d, s in stops(doc):
        seen.setdefault(f"{s['kind']}.{s['id']}", []).append((d["day"], s["visit"]))
    red = doc["totals"]["by_level"]["red"]
    assert red["sites"] > 0 and red["at_frequency"] == red["sites"]
    reds = {f"{s['kind']}.{s['id']}" for _, _, s in stops(doc) if s["level"] == "red"}
    assert len(reds) == red["sites"]
    for key in reds:
        days = sorted(seen[key])
        assert [v for _, v in days] == [1, 2] and days[1][0] - days[0][0] >= ASK["spacing_days"]
    assert must in seen
    assert doc["totals"]["must_visit_missed"] == [] and doc["totals"]["required_visits_missed"] == {}


def test_a_cancelled_campaign_keeps_its_best_plan_and_a_second_one_waits(api):
    """While a campaign runs, another POST is a 429 naming it; DELETE stops it, and the stored plan is whole
    (every day of every team) and feasible, saying it was interrupted."""
    client, who = api
    long = {**ASK, "days": 10, "max_sites": 200, "min_level": "yellow", "time_limit_s": 600}
    started = client.post("/campaigns", json=long, headers=who["admin"])
    assert started.status_code == 202, started.text
    where = started.headers["location"]
    running = wait_for(client, where, who["admin"], lambda s: s["state"] == "running")
    assert running["state"] == "running"
    busy = client.post("/campaigns", json=ASK, headers=who["admin"])
    assert busy.status_code == 429 and f"campaign {started.json()['id']}" in busy.json()["detail"]
    assert "Retry-After" in busy.headers
    cancelled = client.delete(where, headers=who["admin"])
    assert cancelled.status_code == 202 and cancelled.json()["cancel_requested"] is True
    state = wait_for(client, where, who["admin"], ended)
    assert state["state"] == "done" and state["interrupted"] is True, state
    doc = client.get(f"/plans/{state['plan_id']}", headers=who["admin"]).json()
    assert doc["solver"]["interrupted"] is True
    assert all(len(t["days"]) == 10 for t in doc["teams"])
    check_feasible(doc)
    again = client.delete(where, headers=who["admin"])  # an ended one stays as it is
    assert again.status_code == 200 and again.json()["state"] == "done"


@pytest.mark.parametrize(("body", "field"), [
    ({"teams": 0}, "teams"),
    ({"teams": 2, "days": 61}, "days"),
    ({"teams": 2, "visits": {"purple": 2}}, "visits"),
    ({"teams": 2, "visits": {"red": 4}, "days": 10, "spacing_days": 5}, "visits[red]"),
    ({"teams": 2, "spacing_days": -1}, "spacing_days"),
    ({"teams": 2, "overnight_h": 9}, "overnight_h"),
    ({"teams": 2, "time_limit_s": 0}, "time_limit_s"),
    ({"teams": 2, "time_limit_s": 4000}, "time_limit_s"),
    ({"teams": 2, "min_level": "grey"}, "min_level"),
    ({"teams": 2, "area": "999999"}, "area"),
    ({"teams": 2, "must_visit": ["enterprise.x"]}, "must_visit"),
    ({"teams": 2, "bases": [[200, 39]]}, "bases[0]"),
    ({"teams": 2, "colour": "red"}, "colour"),
])
def test_bad_bodies_are_422_naming_the_field(api, body, field):
    client, who = api
    r = client.post("/campaigns", json=body, headers=who["admin"])
    assert r.status_code == 422, r.text
    problem = r.json()
    named = [e["field"] for e in problem.get("errors", [])] + [problem["detail"]]
    assert any(field in text for text in named), problem


def test_campaigns_need_a_planner(api):
    client, _ = api
    assert client.post("/campaigns", json=ASK).status_code == 401
    assert client.get("/campaigns/123456", headers={"X-API-Key": KEY}).status_code == 404


def test_a_countys_planner_campaigns_in_their_county_only(api, conn):
    """A planner of Lubei must name the area, may not plan Zunhua's, and their campaign's plan holds Lubei's
    sites only; Zunhua's planner sees neither the campaign nor its plan."""
    client, who = api
    no_area = client.post("/campaigns", json={k: v for k, v in ASK.items() if k != "area"}, headers=who["lubei"])
    assert no_area.status_code == 422 and "area" in no_area.json()["detail"]
    other = client.post("/campaigns", json={**ASK, "area": ZUNHUA}, headers=who["lubei"])
    assert other.status_code == 422 and "area" in other.json()["detail"]
    started = client.post("/campaigns", json={**ASK, "min_level": "yellow"}, headers=who["lubei"])
    assert started.status_code == 202, started.text
    where = started.headers["location"]
    assert client.get(where, headers=who["zunhua"]).status_code == 404
    state = wait_for(client, where, who["lubei"], ended)
    assert state["state"] == "done", state
    doc = client.get(f"/plans/{state['plan_id']}", headers=who["lubei"]).json()
    assert doc["totals"]["visits"] > 0
    with conn.cursor() as cur:
        for _, _, s in stops(doc):
            cur.execute(f"SELECT ST_Intersects(a.geom, ST_PointOnSurface(f.geom)) FROM {s['kind']} f "  # noqa: S608
                        "JOIN area a ON a.admin_code = %s WHERE f.id = %s", (LUBEI, s["id"]))
            assert cur.fetchone() == (True,), s
    assert client.get(f"/plans/{doc['id']}", headers=who["zunhua"]).status_code == 404
    with conn.cursor() as cur:
        cur.execute("SELECT actor, request FROM audit_event WHERE table_name = 'inspection_plan' "
                    "AND action = 'insert' AND row_key = %s", (str(doc["id"]),))
        assert cur.fetchall() == [("user:campaign-lubei", "POST /campaigns")]
