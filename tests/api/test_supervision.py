"""GET /supervision, GET /supervision/{kind}/{id}, GET /supervision/staffing and look-back plans over HTTP, on a
small data set with records written in SQL (a real PostGIS)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo import store
from tests.conftest import throwaway_database
from tests.geo.supervision import records as r

D = dt.date
KEY = "k-supervision-a1b2c3d4e5f6"
WEST, EAST = "100001", "100002"


@pytest.fixture(scope="module")
def data(cluster):
    """Two counties; in the west a red enterprise overdue with an open major danger past its deadline, a red one on
    time, a blue one whose major danger was rectified lately (look-back), an orange venue on time and a pond never
    inspected; in the east an orange enterprise with a formula-like name."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        conn.autocommit = True
        r.area(conn, WEST, "West county", (118.0, 39.0, 118.5, 39.5))
        r.area(conn, EAST, "East county", (118.5, 39.0, 119.0, 39.5))
        ids = {
            "red_late": r.enterprise(conn, 118.10, 39.10, "red", last_inspection=D(2026, 4, 1)),
            "red_ok": r.enterprise(conn, 118.12, 39.12, "red", last_inspection=D(2026, 5, 20)),
            "look_back": r.enterprise(conn, 118.14, 39.14, "blue", last_inspection=D(2026, 3, 1)),
            "venue": r.venue(conn, 118.2, 39.2, "orange", last_fire_inspection=D(2026, 5, 1)),
            "pond": r.pond(conn, 118.3, 39.3, "yellow"),
            "east": r.enterprise(conn, 118.7, 39.2, "orange", last_inspection=D(2026, 5, 1), name="=HYPERLINK(1)"),
        }
        ids["major"] = r.danger(conn, "enterprise", ids["red_late"], grade="major", found_on=D(2026, 4, 1),
                                deadline=D(2026, 5, 1), description="no gas alarm")[1]
        ids["rectified"] = r.danger(conn, "enterprise", ids["look_back"], grade="major", status="rectified",
                                    found_on=D(2026, 3, 1), deadline=D(2026, 5, 1), rectified_on=D(2026, 5, 5),
                                    description="tank bund cracked")
        conn.close()
        yield url, ids


@pytest.fixture(scope="module")
def api(data):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=data[0], api_keys=KEY,
                                        plan_max_time_s=30))) as c:
        yield c


def test_the_list_worst_first_with_frequencies_due_dates_and_lights(api, data):
    """On 2026-06-01 the west's five sites come red light first (the overdue red enterprise with its open major
    danger, and the measure for that site: suspension, its deadline having passed), then the yellow ones (the
    never-inspected pond first), then green (the higher level first); each with its frequency and next due date."""
    _, ids = data
    got = api.get("/supervision", params={"area": WEST, "as_of": "2026-06-01"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["as_of"] == "2026-06-01" and body["count"] == 5 and body["next"] is None
    order = [(i["kind"], i["id"], i["light"]) for i in body["items"]]
    assert order == [("enterprise", ids["red_late"], "red"), ("tailings_pond", ids["pond"], "yellow"),
                     ("enterprise", ids["red_ok"], "yellow"), ("venue", ids["venue"], "green"),
                     ("enterprise", ids["look_back"], "green")]
    first = body["items"][0]
    assert (first["frequency_months"], first["last_inspection"], first["next_due"], first["days_overdue"]) == (
        1, "2026-04-01", "2026-05-01", 31)
    assert first["measure"]["action"] == "suspend_site" and first["measure"]["scope"] == "site"
    assert [d["source_id"] for d in first["measure"]["dangers"]] == [ids["major"]]
    assert first["county"] == {"admin_code": WEST, "name": "West county"}
    venue = body["items"][3]
    assert (venue["frequency_months"], venue["next_due"], venue["overdue"]) == (3, "2026-08-01", False)
    lb = body["items"][4]["look_back"]
    assert [(x["reason"], x["record_id"], x["date"]) for x in lb] == [("major_danger_rectified", ids["rectified"][0],
                                                                       "2026-05-05")]


def test_filters_paging_and_errors(api, data):
    """light, overdue, level and kind filter; limit and offset page with a next link; an unknown area is 404, an
    unknown light or a bad date 422 naming the field."""
    _, ids = data
    day = {"as_of": "2026-06-01"}
    assert [i["id"] for i in api.get("/supervision", params={**day, "light": "red"}).json()["items"]] == [
        ids["red_late"]]
    overdue = api.get("/supervision", params={**day, "overdue": "true"}).json()
    assert {(i["kind"], i["id"]) for i in overdue["items"]} == {("enterprise", ids["red_late"]),
                                                                ("tailings_pond", ids["pond"])}
    assert {i["id"] for i in api.get("/supervision", params={**day, "level": "orange", "kind": "enterprise"}).json()[
        "items"]} == {ids["east"]}
    page = api.get("/supervision", params={**day, "limit": 4}).json()
    assert page["count"] == 6 and len(page["items"]) == 4 and "offset=4" in page["next"]
    rest = api.get(page["next"]).json()
    assert len(rest["items"]) == 2 and rest["next"] is None
    seen = [(i["kind"], i["id"]) for i in page["items"] + rest["items"]]
    assert len(set(seen)) == 6
    assert api.get("/supervision", params={"area": "999999"}).status_code == 404
    bad = api.get("/supervision", params={"light": "purple"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "light"
    assert api.get("/supervision", params={"as_of": "June"}).status_code == 422
    far = api.get("/supervision", params={"as_of": "0001-01-01"})
    assert far.status_code == 422 and "as_of" in far.json()["detail"]


def test_geojson_and_csv(api, data):
    """GeoJSON: the page's sites as points with their recommendation; CSV: every site, one row each, a text cell
    that would start a formula quoted."""
    _, ids = data
    gj = api.get("/supervision", params={"as_of": "2026-06-01", "format": "geojson", "light": "red"})
    assert gj.headers["content-type"].startswith("application/geo+json")
    (feature,) = gj.json()["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [118.1, 39.1]}
    assert feature["properties"]["light"] == "red" and gj.json()["numberMatched"] == 1
    text = api.get("/supervision", params={"as_of": "2026-06-01", "format": "csv"}).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 6
    east = next(x for x in rows if x["id"] == str(ids["east"]) and x["kind"] == "enterprise")
    assert east["name"] == "'=HYPERLINK(1)" and east["light"] == "green"
    late = next(x for x in rows if x["id"] == str(ids["red_late"]) and x["kind"] == "enterprise")
    assert (late["measure"], late["next_due"], late["overdue"]) == ("suspend_site", "2026-05-01", "True")


def test_one_sites_recommendation(api, data):
    """GET /supervision/{kind}/{id}: the same recommendation as in the list; the measure moves with the date
    (before the deadline: rectify by it); 404 for a site that does not exist."""
    _, ids = data
    site = api.get(f"/supervision/enterprise/{ids['red_late']}", params={"as_of": "2026-04-15"}).json()
    assert site["measure"]["action"] == "rectify_by_deadline" and site["measure"]["deadline"] == "2026-05-01"
    assert (site["next_due"], site["overdue"], site["light"]) == ("2026-05-01", False, "red")
    # (as of that day red_ok's register date, 2026-05-20, is not yet known: it is red too, overdue)
    items = api.get("/supervision", params={"as_of": "2026-04-15", "light": "red"}).json()["items"]
    listed = next(i for i in items if i["kind"] == "enterprise" and i["id"] == ids["red_late"])
    assert listed == site
    assert api.get("/supervision/venue/999999", params={"as_of": "2026-04-15"}).status_code == 404


def test_staffing(api):
    """West: 2 red enterprises (2 x 12 x 3 h x 2), an orange venue (4 x 2.5 h x 2), a blue enterprise (3 h x 2)
    and a yellow pond (2 x 2.5 h x 2): 176 inspector-hours, 22 inspector-days; the CSV carries the same."""
    body = api.get("/supervision/staffing").json()
    west = next(a for a in body["areas"] if a["admin_code"] == WEST)
    assert west["inspector_hours"] == pytest.approx(144 + 20 + 6 + 10)
    assert west["inspector_days"] == pytest.approx(22.5)
    assert body["parameters"]["frequency_months"]["red"] == 1
    text = api.get("/supervision/staffing", params={"format": "csv"}).content.decode("utf-8-sig")
    row = next(x for x in csv.DictReader(io.StringIO(text)) if x["admin_code"] == WEST)
    assert float(row["inspector_days"]) == pytest.approx(22.5) and row["staff"] == ""


def test_a_look_back_plan_over_http(api, data):
    """POST /plans with look_back: the blue enterprise whose major danger was rectified is a must-visit stop of a
    plan of red sites, and says why; the request records the window."""
    _, ids = data
    body = {"teams": 1, "days": 1, "area": WEST, "min_level": "red", "look_back": True, "first_day": "2026-06-01",
            "bases": [[118.2, 39.2]], "time_limit_s": 1, "iterations": 200}
    made = api.post("/plans", json=body, headers={"X-API-Key": KEY})
    assert made.status_code == 201, made.text
    doc = made.json()
    stop = next(s for t in doc["teams"] for d in t["days"] for s in d["stops"] if s["id"] == ids["look_back"])
    assert stop["must_visit"] == "look_back"
    assert stop["look_back"][0]["reason"] == "major_danger_rectified" and stop["look_back"][0]["date"] == "2026-05-05"
    assert doc["request"]["look_back"] is True and doc["request"]["look_back_days"] == 90
    assert api.get(f"/plans/{doc['id']}").json() == doc
    early = api.post("/plans", json={**body, "first_day": "0001-01-01"}, headers={"X-API-Key": KEY})
    assert early.status_code == 422 and "first day" in early.json()["detail"]


def test_the_settings_file_is_the_servers(data, tmp_path):
    """RISKMAP_SUPERVISION's file sets the frequencies: red every two months moves the red site's due date."""
    from geo.supervision.config import shipped_path

    mine = tmp_path / "supervision.toml"
    mine.write_text(shipped_path().read_text(encoding="utf-8").replace("red = 1", "red = 2"), encoding="utf-8")
    _, ids = data
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=data[0], supervision=mine))) as c:
        site = c.get(f"/supervision/enterprise/{ids['red_late']}", params={"as_of": "2026-06-01"}).json()
    assert (site["frequency_months"], site["next_due"], site["overdue"]) == (2, "2026-06-01", False)
