"""The routes of the stored inspection plans as a layer (issue 16: "hidden dangers and plan routes where they
exist"): the OGC collection ``plan_route`` read by GDAL over a real `riskmap serve`, and its vector tiles.  The
reference for each route is the plan's own GeoJSON export (geo/planning/schedule.as_geojson of the stored
document): one line per team and day with stops, base to base through the stops in order."""

from __future__ import annotations

import datetime as dt
import json
import math
import urllib.parse

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, shape

from api.app import create_app
from api.routes.tiles import tile_of
from api.settings import Settings
from geo import users
from geo.planning import schedule
from geo.planning import store as plans
from geo.planning.plan import PlanRequest
from geo.planning.planner import make_plan
from tests.api.ogc_server import gdal, get, get_json, running_server
from tests.api.test_area_scope import OWN

EVERYWHERE_BASE = (118.18, 39.63)


@pytest.fixture(scope="module")
def made(conn) -> dict[int, dict]:
    """Two real plans (PyVRP, one second each): three teams for two days in 路北区, two teams for two days of the
    whole region from one base; their stored documents by plan id."""
    docs = {}
    for req in (PlanRequest(teams=3, days=2, area=OWN, min_level="yellow", max_sites=120, time_limit_s=1),
                PlanRequest(teams=2, days=2, bases=(EVERYWHERE_BASE,), min_level="orange", max_sites=80,
                            time_limit_s=1)):
        saved = plans.save(conn, make_plan(conn, req), "test")
        docs[saved["id"]] = plans.load(conn, saved["id"])
    return docs


@pytest.fixture(scope="module")
def server(demo_url, conn, made, tmp_path_factory):
    """(base URL of /ogc, token of a viewer of every area, token of a viewer of 路北区, a work directory)."""
    _, everywhere = users.add(conn, "plan-viewer", "viewer", [], "test")
    _, lubei = users.add(conn, "plan-lubei", "viewer", [OWN], "test")
    work = tmp_path_factory.mktemp("plan-routes")
    with running_server(demo_url, work / "server.log") as base:
        yield f"{base}/ogc", everywhere, lubei, work


def routes(made: dict[int, dict], plan_ids=None) -> dict[tuple[int, int, int], dict]:
    """The route features of the plans' GeoJSON export, by (plan, team, day)."""
    out = {}
    for plan_id, doc in made.items():
        if plan_ids is not None and plan_id not in plan_ids:
            continue
        for f in schedule.as_geojson(doc)["features"]:
            if f["properties"]["role"] == "route":
                out[(plan_id, f["properties"]["team"], f["properties"]["day"])] = f
    return out


def copy(server, token: str, *options: str) -> list[dict]:
    base, _, _, work = server
    out = work / f"plan_route-{abs(hash(options))}.geojson"
    out.unlink(missing_ok=True)
    r = gdal(["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{base}", "plan_route", *options], token, work)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(out.read_text())["features"]


def key(feature: dict) -> tuple[int, int, int]:
    p = feature["properties"]
    return p["plan_id"], p["team"], p["day"]


def test_ogr2ogr_copies_every_route_with_its_line_and_figures(server, made):
    """ogr2ogr follows the next links (pages of 2) and gets each team-day with stops once, its line through the
    base and the stops in order as the plan's GeoJSON draws it, and the day's stops, km and risk."""
    _, token, _, _ = server
    expected = routes(made)
    got = copy(server, token, "-oo", "PAGE_SIZE=2")
    assert len(expected) >= 6 and sorted(map(key, got)) == sorted(expected)
    for f in got:
        want = expected[key(f)]
        assert f["geometry"]["type"] == "LineString"
        coords = f["geometry"]["coordinates"]
        assert len(coords) == len(want["geometry"]["coordinates"])
        assert all(abs(a - b) < 1e-6 for p, q in zip(coords, want["geometry"]["coordinates"], strict=True)
                   for a, b in zip(p, q, strict=True))
        day = next(d for t in made[f["properties"]["plan_id"]]["teams"] if t["team"] == f["properties"]["team"]
                   for d in t["days"] if d["day"] == f["properties"]["day"])
        assert f["properties"]["stops"] == len(day["stops"]) == want["properties"]["visits"]
        assert f["properties"]["km"] == day["km"] and f["properties"]["risk"] == day["risk"]


def test_a_route_is_an_item_of_its_own_and_bad_ids_are_a_404(server, made):
    """/items/{id} returns one route (id: plan x 10^8 + team x 10^4 + day); an id of no route is a 404 with the OGC
    exception body."""
    base, token, _, _ = server
    plan_id = min(made)
    one = get_json(f"{base}/collections/plan_route/items/{plan_id * 10**8 + 2 * 10**4 + 1}", token)
    assert (one["properties"]["plan_id"], one["properties"]["team"], one["properties"]["day"]) == (plan_id, 2, 1)
    status, _, body = get(f"{base}/collections/plan_route/items/{plan_id * 10**8 + 9 * 10**4 + 1}", token)
    assert status == 404 and json.loads(body)["code"] == "NotFound"


def test_bbox_cql2_and_datetime_return_the_routes_sql_and_shapely_do(server, made, conn):
    """ogr2ogr -spat keeps the routes whose line meets the box; a CQL2 -where (pushed down) the ones it names; the
    datetime of the day the plans were made keeps them all, another day none, and a plan dated back a year is found
    by its day."""
    base, token, _, _ = server
    expected = routes(made)
    x, y = EVERYWHERE_BASE
    area = (x - 0.05, y - 0.05, x + 0.05, y + 0.05)
    got = copy(server, token, "-spat", *map(str, area), "-oo", "PAGE_SIZE=3")
    inside = {k for k, f in expected.items() if shape(f["geometry"]).intersects(box(*area))}
    assert inside and sorted(map(key, got)) == sorted(inside)
    got = copy(server, token, "-where", "team = 2 AND stops >= 3", "-oo", "PAGE_SIZE=3")
    assert sorted(map(key, got)) == sorted(k for k, f in expected.items()
                                           if k[1] == 2 and f["properties"]["visits"] >= 3)
    url = f"{base}/collections/plan_route/items?limit=1000&datetime="
    today = dt.datetime.now(dt.UTC).date()
    assert len(get_json(url + f"{today - dt.timedelta(days=1)}/..", token)["features"]) == len(expected)
    assert get_json(url + "2020-01-01/2020-12-31", token)["features"] == []
    old = max(made)
    with conn.cursor() as cur:
        cur.execute("UPDATE inspection_plan SET created_at = '2025-06-01 10:00+00' WHERE id = %s", (old,))
    try:
        dated = get_json(url + "2025-06-01", token)["features"]
        assert dated and {f["properties"]["plan_id"] for f in dated} == {old}
        assert all(f["properties"]["created_at"] == "2025-06-01T10:00:00Z" for f in dated)
        filtered = get_json(f"{base}/collections/plan_route/items?limit=1000&filter="
                            + urllib.parse.quote("created_at < TIMESTAMP('2026-01-01T00:00:00Z')"), token)
        assert {f["id"] for f in filtered["features"]} == {f["id"] for f in dated}
    finally:
        with conn.cursor() as cur:
            cur.execute("UPDATE inspection_plan SET created_at = now() WHERE id = %s", (old,))


def test_a_county_user_sees_only_the_routes_of_their_countys_plans(server, made):
    """A viewer of 路北区 gets the routes of the plan made for 路北区 and not those of the plan for everywhere
    (row-level security on inspection_plan, through the view)."""
    base, _, lubei, _ = server
    mine = get_json(f"{base}/collections/plan_route/items?limit=1000", lubei)["features"]
    own = [i for i, d in made.items() if d["request"]["area"] == OWN]
    assert sorted(map(key, mine)) == sorted(routes(made, own))


def test_the_collection_has_its_extent_and_queryables(server, made):
    """The collection's spatial extent holds every route; its temporal extent is the day the plans were made; its
    queryables name the route's properties and the geometry."""
    base, token, _, _ = server
    doc = get_json(f"{base}/collections/plan_route", token)
    x0, y0, x1, y1 = doc["extent"]["spatial"]["bbox"][0]
    for f in routes(made).values():
        bx0, by0, bx1, by1 = shape(f["geometry"]).bounds
        assert x0 <= bx0 + 1e-7 and y0 <= by0 + 1e-7 and x1 >= bx1 - 1e-7 and y1 >= by1 - 1e-7
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert doc["extent"]["temporal"]["interval"][0][1] in (today, (dt.date.fromisoformat(today)
                                                                   - dt.timedelta(days=1)).isoformat())
    names = set(get_json(f"{base}/collections/plan_route/queryables", token)["properties"])
    assert {"geometry", "plan_id", "created_at", "team", "day", "stops", "km", "risk"} <= names


def test_plan_route_tiles_hold_the_routes_meeting_their_box(demo_url, made):
    """A z12 tile at a route's first stop holds exactly the routes whose lines meet the tile (shapely on the plans'
    GeoJSON), with their plan, team and day."""
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url))) as api:
        expected = routes(made)
        (plan_id, team, day), first = sorted(expected.items())[0]
        lon, lat = first["geometry"]["coordinates"][1]
        z, x, y = tile_of(lon, lat, 12)
        r = api.get(f"/tiles/plan_route/{z}/{x}/{y}.mvt")
        assert r.status_code == 200, r.text
        features = next(iter(mapbox_vector_tile.decode(r.content).values()))["features"]
        def lat_of(row: int) -> float:
            return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / 2**z))))

        tile = box(x / 2**z * 360 - 180, lat_of(y + 1), (x + 1) / 2**z * 360 - 180, lat_of(y))
        meeting = {k for k, f in expected.items() if shape(f["geometry"]).intersects(tile)}
        assert (plan_id, team, day) in meeting
        assert sorted(key(f) for f in features) == sorted(meeting)
        assert api.get("/tiles/plan_route.json").json()["vector_layers"][0]["id"] == "plan_route"


def test_a_new_plan_changes_the_tiles_data_version(demo_url, conn, made):
    """The plan_route tiles' URL carries the data version (tiles_version.sql): a new plan gives a new ?v=, so a
    tile kept under the old version (max-age, immutable) is never shown for the new data; a tile asked for with the
    old version is no longer one that may be kept."""
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url))) as api:
        before = api.get("/tiles/plan_route.json").json()["tiles"][0]
        saved = plans.save(conn, make_plan(conn, PlanRequest(teams=1, days=1, bases=(EVERYWHERE_BASE,),
                                                             min_level="orange", max_sites=20, time_limit_s=1)),
                           "test")
        made[saved["id"]] = plans.load(conn, saved["id"])
        after = api.get("/tiles/plan_route.json").json()["tiles"][0]
        assert before.split("?v=")[1] != after.split("?v=")[1]
        lon, lat = routes(made, {saved["id"]})[(saved["id"], 1, 1)]["geometry"]["coordinates"][1]
        z, x, y = tile_of(lon, lat, 12)
        old = api.get(f"/tiles/plan_route/{z}/{x}/{y}.mvt?v={before.split('?v=')[1]}")
        new = api.get(f"/tiles/plan_route/{z}/{x}/{y}.mvt?v={after.split('?v=')[1]}")
        assert "immutable" not in old.headers["cache-control"]
        assert "immutable" in new.headers["cache-control"]
        features = next(iter(mapbox_vector_tile.decode(new.content).values()))["features"]
        assert saved["id"] in {f["properties"]["plan_id"] for f in features}
