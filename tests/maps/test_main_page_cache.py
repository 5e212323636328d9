"""The main map's page is rendered once per set of what it depends on and kept (api/routes/pages.py): the same
request gets the same page and ETag, a conditional request a 304, and a change of anything the page depends on
(language, plan, the data's extent, the synthetic flag, the basemap settings) a new page."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.pages import MainPages
from api.settings import Settings
from geo import store, users

SQUARE = "SRID=4326;POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


def map_config(html: str) -> dict:
    """The configuration the page hands to riskmap.init."""
    return json.loads(re.search(r"riskmap\.init\([^,]+, (\{.*?\})\);", html, re.S).group(1))


def map_centre(html: str) -> tuple[float, float]:
    """(lat, lon) of the map's starting view."""
    lat, lon = re.search(r"center:\s*\[([-\d.]+),\s*([-\d.]+)\]", html).groups()
    return float(lat), float(lon)


@pytest.fixture
def client(db_url):
    with TestClient(create_app(Settings(database_url=db_url, basemap="none", anonymous_reads=True))) as c:
        yield c


def execute(url: str, sql: str, params=()) -> None:
    conn = store.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def test_same_request_same_page_and_a_conditional_request_is_304(client):
    """Twice the same page (one rendering: the same folium element ids) and ETag, with Cache-Control private, no-cache;
    If-None-Match with that ETag is a 304 without a body, with another ETag the page."""
    first, second = client.get("/"), client.get("/")
    assert first.status_code == second.status_code == 200
    assert first.text == second.text and first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert first.headers["content-type"].startswith("text/html")
    etag = first.headers["ETag"]
    r = client.get("/", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["ETag"] == etag
    assert client.get("/", headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
    assert client.get("/", headers={"If-None-Match": '"other"'}).status_code == 200


def test_language_and_plan_give_their_own_pages(client):
    """lang and plan are part of what the page is kept by: each combination its own page and ETag."""
    pages = {q: client.get(f"/{q}") for q in ("", "?lang=en", "?plan=7", "?lang=en&plan=7")}
    assert len({r.headers["ETag"] for r in pages.values()}) == 4
    assert map_config(pages["?lang=en"].text)["language"] == "en"
    assert map_config(pages["?plan=7"].text)["plan"] == 7 and map_config(pages[""].text)["plan"] is None
    assert client.get("/?plan=7").text == pages["?plan=7"].text  # kept


def test_page_follows_the_data(client, db_url):
    """The page moves with the data without a restart: an area added moves the starting view there, a synthetic
    feature makes the page say the data are synthetic; each time a new ETag."""
    empty = client.get("/")
    assert map_config(empty.text)["synthetic"] is False
    execute(db_url, "INSERT INTO area (source_id, name, admin_code, level, geom) VALUES ('A1', '某县', '130000', "
                    "'county', ST_GeomFromEWKT(%s))", (SQUARE.format(x0=100, y0=30, x1=101, y1=31),))
    moved = client.get("/")
    assert moved.headers["ETag"] != empty.headers["ETag"]
    assert "30.5" in moved.text and "100.5" in moved.text and "30.5" not in empty.text
    execute(db_url, "INSERT INTO enterprise (source_id, name, industry, synthetic, geom) VALUES ('E1', '某企业', "
                    "'mining', true, ST_GeomFromEWKT('SRID=4326;POINT(100.5 30.5)'))")
    flagged = client.get("/")
    assert map_config(flagged.text)["synthetic"] is True and flagged.headers["ETag"] != moved.headers["ETag"]


def test_basemap_settings_are_part_of_the_page(db_url):
    """Two apps with different basemap settings serve different pages (the basemap is in the page)."""
    with TestClient(create_app(Settings(database_url=db_url, basemap="none", anonymous_reads=True))) as c:
        none = c.get("/")
    with TestClient(create_app(Settings(database_url=db_url, basemap="osm", anonymous_reads=True))) as c:
        osm = c.get("/")
    assert "tile.openstreetmap.org" in osm.text and "tile.openstreetmap.org" not in none.text
    assert osm.headers["ETag"] != none.headers["ETag"]


def test_kept_pages_are_bounded():
    """Only the most recently used pages are kept (the plan id in the key comes from the address)."""
    pages = MainPages(size=2)
    renders = []

    def render(name):
        return lambda: renders.append(name) or f"<p>{name}</p>"

    pages.get(("a",), render("a"))
    pages.get(("b",), render("b"))
    pages.get(("a",), render("a"))  # kept: not rendered again, and now the most recent
    pages.get(("c",), render("c"))  # pushes out b, the least recently used
    pages.get(("a",), render("a"))
    pages.get(("b",), render("b"))
    assert renders == ["a", "b", "c", "b"]


def test_a_user_limited_to_a_county_gets_the_page_of_their_county(map_demo_url, demo_db):
    """The view is read as the request's user (row-level security), so the kept pages never hand one county's
    view to another: users of 路北区 and 遵化市 get different starting points, each inside their own county, and
    each gets the same page again."""
    tokens = {}
    for name, code in (("page-lubei", "130203"), ("page-zunhua", "130281")):
        _, token = users.add(demo_db, name, "viewer", [code], "test")
        tokens[code] = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(Settings(database_url=map_demo_url, basemap="none"))) as client:
        pages = {code: client.get("/", headers=headers) for code, headers in tokens.items()}
        assert all(r.status_code == 200 for r in pages.values())
        assert pages["130203"].headers["ETag"] != pages["130281"].headers["ETag"]
        for code, r in pages.items():
            lat, lon = map_centre(r.text)
            with demo_db.cursor() as cur:
                cur.execute("SELECT ST_Intersects(ST_Envelope(geom), ST_SetSRID(ST_MakePoint(%s, %s), 4326)) "
                            "FROM area WHERE admin_code = %s", (lon, lat, code))
                assert cur.fetchone()[0], code
            assert client.get("/", headers=tokens[code]).text == r.text
