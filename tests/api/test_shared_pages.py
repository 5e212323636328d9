"""Shared pages (api/shared_pages.py): the county zoning page the map asks for again and again is kept by the data
version, and a change of the data, another caller's areas or another address is never answered from it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.shared_pages import SharedPages
from geo import users

OWN = "130203"  # 路北区, in the Tangshan demo
REGION = {"level": "county", "bbox": "117.4,38.8,119.4,40.5", "limit": 2000}


@pytest.fixture(scope="module")
def api(demo_url, conn):
    """The app (anonymous reads on), and the token of a viewer limited to 路北区."""
    _, token = users.add(conn, "lubei-viewer", "viewer", [OWN], "test")
    with TestClient(create_app(Settings(database_url=demo_url, anonymous_reads=True))) as c:
        yield c, {"Authorization": f"Bearer {token}"}


def county_ids(body: dict) -> list[str]:
    return [f["properties"]["area_id"] for f in body["features"]]


def test_the_county_page_is_read_once_per_data_version(api):
    client, _ = api
    pages = client.app.state.shared_pages
    first = client.get("/areas", params=REGION)
    assert first.status_code == 200 and len(county_ids(first.json())) > 10
    hits = pages.hits
    again = client.get("/areas", params=REGION)
    assert again.content == first.content
    assert pages.hits == hits + 1


def test_a_change_of_the_data_is_served_at_once(api, conn):
    """A renamed county (a change of an area: its trigger adds a change record, so the data version grows) shows in
    the very next page, though the page before was kept."""
    client, _ = api
    before = client.get("/areas", params=REGION).json()
    client.get("/areas", params=REGION)
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM area WHERE admin_code = %s", (OWN,))
        name = cur.fetchone()[0]
        cur.execute("UPDATE area SET name = %s WHERE admin_code = %s", (name + " (renamed)", OWN))
    try:
        after = client.get("/areas", params=REGION).json()
        names = {f["properties"]["area_id"]: f["properties"]["name"] for f in after["features"]}
        assert names[OWN] == name + " (renamed)"
        assert county_ids(after) == county_ids(before)
    finally:
        with conn.cursor() as cur:
            cur.execute("UPDATE area SET name = %s WHERE admin_code = %s", (name, OWN))
    names = {f["properties"]["area_id"]: f["properties"]["name"]
             for f in client.get("/areas", params=REGION).json()["features"]}
    assert names[OWN] == name


def test_a_user_limited_to_a_county_never_gets_the_page_of_everyone(api):
    client, viewer = api
    everyone = client.get("/areas", params=REGION)  # kept for anonymous callers (every area)
    assert len(county_ids(everyone.json())) > 1
    own = client.get("/areas", params=REGION, headers=viewer)
    assert county_ids(own.json()) == [OWN]
    assert client.get("/areas", params=REGION).content == everyone.content


def test_the_links_name_the_address_asked_for(api):
    """The page's self and next links repeat the request's own address, so pages are kept per address: the same
    query at another host name gets links to that host."""
    client, _ = api
    a = client.get("/areas", params={**REGION, "limit": 3}).json()
    b = client.get("/areas", params={**REGION, "limit": 3}, headers={"Host": "riskmap.example"}).json()
    assert a["next"].startswith("http://testserver/") and b["next"].startswith("http://riskmap.example/")
    assert county_ids(a) == county_ids(b)


def test_shared_pages_stay_within_their_bounds():
    pages = SharedPages(entries=3, max_bytes=1000)
    for i in range(5):
        assert pages.get(("k", i), lambda i=i: b"x" * 50 + bytes([i])) == b"x" * 50 + bytes([i])
    assert len(pages._pages) == 3 and ("k", 0) not in pages._pages and ("k", 4) in pages._pages
    assert pages.get(("k", 4), lambda: b"never read") == b"x" * 50 + bytes([4])  # kept
    assert pages.get(("big",), lambda: b"y" * 200) == b"y" * 200  # over a tenth of the bytes: served, not kept
    assert ("big",) not in pages._pages
    for i in range(20):
        pages.get(("m", i), lambda: b"z" * 90)
    assert pages._bytes <= 1000 and len(pages._pages) <= 3
