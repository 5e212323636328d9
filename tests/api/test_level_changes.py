"""GET /level-changes and GET /level-changes/areas: each site's level on a date against its level now, from the
score history, on a small region scored by real runs on fixed dates (a site that rose, one that fell, one that
stayed, one scored only after the date), and the counts per county on the demo against the area risk's."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo import store
from tests.conftest import throwaway_database
from tests.geo.risk.change_region import EAST, FIRST_RUN, SECOND_RUN, SINCE, WEST, build_change_region, levels


@pytest.fixture(scope="module")
def region(cluster):
    """The region of tests/geo/risk/change_region.py (a site that rose, one that fell, two that stayed, one scored
    only after the date), served by the app."""
    with throwaway_database(cluster[1]) as url:
        db = store.connect(url)
        sites = build_change_region(db)
        now, then = levels(db)
        db.close()
        with TestClient(create_app(Settings(anonymous_reads=True, database_url=url))) as client:
            yield {"client": client, "sites": sites, "now": now, "then": then}


def _by_site(body: dict) -> dict[int, dict]:
    return {f["properties"]["id"]: f for f in body["features"]}


def test_each_site_has_its_level_on_the_date_and_now(region):
    """On 15 February: the risen site was below red on 31 January and is red now (up); the fallen one was red and
    is lower now (down); the untouched ones are the same; the one added on 1 March had no level then (new).  The
    levels and scores then are the January run's, those now the stored ones; each site is at its point."""
    body = region["client"].get("/level-changes", params={"since": SINCE.isoformat()}).json()
    assert body["since"] == SINCE.isoformat() and body["next"] is None
    sites, now, then = region["sites"], region["now"], region["then"]
    got = _by_site(body)
    assert set(got) == set(sites.values())
    assert then[sites["rose"]][0] in ("blue", "yellow") and now[sites["rose"]][0] == "red"
    assert then[sites["fell"]][0] == "red" and now[sites["fell"]][0] in ("blue", "yellow", "orange")
    expected = {"rose": "up", "fell": "down", "stayed": "same", "edge": "same", "late": "new"}
    for name, change in expected.items():
        p = got[sites[name]]["properties"]
        assert p["change"] == change, name
        assert (p["level_now"], p["score_now"]) == now[sites[name]]
        if name == "late":
            assert p["level_then"] is None and p["score_then"] is None and p["then_as_of"] is None
        else:
            assert (p["level_then"], p["score_then"]) == then[sites[name]]
            assert p["then_as_of"] == FIRST_RUN.isoformat()
    assert got[sites["rose"]]["geometry"] == {"type": "Point", "coordinates": [118.05, 39.6]}
    assert got[sites["rose"]]["id"] == f"enterprise.{sites['rose']}"


def test_the_date_counts_the_runs_as_of_that_day(region):
    """A run as of the date itself counts (on 31 March every site has its level now: all the same); before the
    first run no site had a level (all new)."""
    client = region["client"]
    on_run = _by_site(client.get("/level-changes", params={"since": SECOND_RUN.isoformat()}).json())
    assert {f["properties"]["change"] for f in on_run.values()} == {"same"}
    assert on_run[region["sites"]["late"]]["properties"]["then_as_of"] == SECOND_RUN.isoformat()
    before = _by_site(client.get("/level-changes", params={"since": "2026-01-30"}).json())
    assert {f["properties"]["change"] for f in before.values()} == {"new"}


def test_box_kind_area_and_change_filters(region):
    """The box keeps the sites whose point lies in it; the area the sites in that county (the boundary site in
    the lower code's county too, as the area filter of the lists takes it: on the boundary counts); the change
    filter the changes asked for; another kind nothing here."""
    client, sites = region["client"], region["sites"]
    since = SINCE.isoformat()
    box = _by_site(client.get("/level-changes", params={"since": since, "bbox": "118.0,39.5,118.15,39.7"}).json())
    assert set(box) == {sites["rose"], sites["fell"]}
    east = _by_site(client.get("/level-changes", params={"since": since, "area": EAST}).json())
    assert set(east) == {sites["stayed"], sites["late"], sites["edge"]}
    moved = _by_site(client.get("/level-changes", params={"since": since, "change": "up,down"}).json())
    assert set(moved) == {sites["rose"], sites["fell"]}
    assert client.get("/level-changes", params={"since": since, "kind": "venue,pipeline"}).json()["features"] == []


def test_pages_follow_the_next_links(region):
    """With one site a page, the next links walk every site once, in (kind, id) order."""
    client = region["client"]
    url, seen = f"/level-changes?since={SINCE.isoformat()}&limit=1", []
    while url:
        body = client.get(url).json()
        assert body["numberReturned"] == len(body["features"]) <= 1
        seen += [f["properties"]["id"] for f in body["features"]]
        url = body["next"]
    assert seen == sorted(region["sites"].values())


def test_counts_per_county(region):
    """Per county: the west one holds a site that rose, one that fell and the boundary site (lower code); the east
    one a site that stayed and the new one.  A box over a corner of the east county lists that county alone,
    counted whole; the totals add the counties up."""
    client = region["client"]
    body = client.get("/level-changes/areas", params={"since": SINCE.isoformat()}).json()
    assert body["area_level"] == "county"
    counts = {f["properties"]["admin_code"]: f["properties"] for f in body["features"]}
    assert {k: (v["up"], v["down"], v["same"], v["new"]) for k, v in counts.items()} == {
        WEST: (1, 1, 1, 0), EAST: (0, 0, 1, 1)}
    assert body["totals"] == {"up": 1, "down": 1, "same": 2, "new": 1}
    x, y = body["features"][0]["geometry"]["coordinates"]
    assert 117.6 <= x <= 118.2 and 39.3 <= y <= 39.9  # a point inside the west county
    corner = client.get("/level-changes/areas", params={"since": SINCE.isoformat(),
                                                        "bbox": "118.6,39.3,118.7,39.4"}).json()
    assert [(f["properties"]["admin_code"], f["properties"]["same"], f["properties"]["new"])
            for f in corner["features"]] == [(EAST, 1, 1)]


@pytest.mark.parametrize(("path", "params", "status", "field"), [
    ("/level-changes", {"since": "2026-02-30"}, 422, "since"),
    ("/level-changes", {}, 422, "since"),
    ("/level-changes", {"since": (dt.date.today() + dt.timedelta(days=1)).isoformat()}, 422, "since"),
    ("/level-changes/areas", {"since": (dt.date.today() + dt.timedelta(days=1)).isoformat()}, 422, "since"),
    ("/level-changes", {"since": "2026-02-15", "kind": "settlement"}, 422, "kind"),
    ("/level-changes", {"since": "2026-02-15", "change": "sideways"}, 422, "change"),
    ("/level-changes", {"since": "2026-02-15", "after": "enterprise"}, 422, "after"),
    ("/level-changes", {"since": "2026-02-15", "bbox": "118.4,39.5,118.0,39.7"}, 422, "bbox"),
    ("/level-changes", {"since": "2026-02-15", "area": "999999"}, 404, None),
    ("/level-changes/areas", {"since": "2026-02-15", "area_level": "village"}, 422, "area_level"),
    ("/level-changes/areas", {"since": "2026-02-15", "area": "999999"}, 404, None),
])
def test_bad_requests_name_the_parameter(region, path, params, status, field):
    """A bad date, kind, change, page key, box or admin level is a 422 naming the parameter; an unknown area a
    404."""
    r = region["client"].get(path, params=params)
    assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
    if field:
        assert r.json()["errors"][0]["field"] == field


def test_counts_per_county_place_the_sites_as_the_area_risk_does(client, conn):
    """On the demo, each county's sites (up + down + same + new, since the first run: all the same) are the
    enterprises, tailings ponds and venues its area risk counts, plus the pipelines whose point lies in it."""
    body = client.get("/level-changes/areas", params={"since": dt.date.today().isoformat()}).json()
    with conn.cursor() as cur:
        cur.execute("""
            SELECT r.area_id, sum((c.value ->> lv)::int)
            FROM area_risk r, jsonb_each(r.counts) c, unnest(ARRAY['red', 'orange', 'yellow', 'blue']) lv
            WHERE r.area_type = 'admin' AND r.resolution = 3 AND c.key IN ('enterprise', 'tailings_pond', 'venue')
            GROUP BY r.area_id""")
        expected = {code: int(n) for code, n in cur.fetchall()}
        cur.execute("""
            SELECT a.admin_code, count(*) FROM pipeline p
            CROSS JOIN LATERAL (SELECT admin_code FROM area WHERE level = 'county'
                                AND ST_Intersects(geom, ST_PointOnSurface(p.geom)) ORDER BY admin_code LIMIT 1) a
            GROUP BY a.admin_code""")
        for code, n in cur.fetchall():
            expected[code] = expected.get(code, 0) + n
    got = {f["properties"]["admin_code"]: f["properties"] for f in body["features"]}
    assert {code: p["up"] + p["down"] + p["same"] + p["new"] for code, p in got.items()} == expected
    assert all(p["same"] == p["up"] + p["down"] + p["same"] + p["new"] for p in got.values())
    assert len(got) == 14
