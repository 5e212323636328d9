"""Signing in with a browser when anonymous reads are off (issue 15): the map sends a person to the sign-in form,
the token pasted there opens the map with every layer, the session cookie is out of the page scripts' reach, and
a revoked token sends the person back to the form."""

from __future__ import annotations

import pytest

from api.settings import Settings
from geo import store, users
from tests.maps.conftest import LiveServer, screenshot, wait_idle


@pytest.fixture(scope="module")
def closed_server(map_demo_url):
    """The demo served with anonymous reads off (the default of `riskmap serve`)."""
    with LiveServer(Settings(database_url=map_demo_url, basemap="none")) as live:
        yield live


@pytest.fixture(scope="module")
def viewer_token(map_demo_url):
    conn = store.connect(map_demo_url)
    try:
        _, token = users.add(conn, "browser-viewer", "viewer", [], "test")
    finally:
        conn.close()
    return token


def test_the_map_asks_for_a_token_and_opens_with_it(page, closed_server, viewer_token):
    page.goto(f"{closed_server.url}/?lang=en")
    page.wait_for_selector("form[action='/sign-in']")
    assert "/sign-in?next=" in page.url
    page.fill("#token", "rm_0123456789ab_" + "A" * 43)
    page.click("button[type=submit]")
    page.wait_for_selector("p.note")
    assert "not valid" in page.locator("p.note").inner_text()
    screenshot(page, "sign-in-refused")
    page.goto(f"{closed_server.url}/?lang=en")
    page.fill("#token", viewer_token)
    page.click("button[type=submit]")
    page.wait_for_selector(".leaflet-container")
    wait_idle(page)
    assert page.url.endswith("/?lang=en")
    assert page.evaluate("riskmap.current.zoning.getLayers().length") > 0
    assert page.log.errors() == []
    # the session cookie is not readable by the page's scripts
    assert "riskmap_session" not in page.evaluate("document.cookie")
    screenshot(page, "signed-in-map")


def test_a_revoked_token_sends_the_browser_back_to_the_form(page, closed_server, map_demo_url):
    conn = store.connect(map_demo_url)
    try:
        _, token = users.add(conn, "browser-leaver", "viewer", [], "test")
    finally:
        conn.close()
    page.goto(f"{closed_server.url}/sign-in")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector(".leaflet-container")
    conn = store.connect(map_demo_url)
    try:
        users.revoke(conn, "browser-leaver")
    finally:
        conn.close()
    page.goto(f"{closed_server.url}/")
    page.wait_for_selector("form[action='/sign-in']")
    assert "/sign-in" in page.url


def test_the_cookie_never_writes(closed_server, viewer_token):
    """A write carrying only the session cookie is refused: a page of another site cannot write through it."""
    import httpx

    r = httpx.post(f"{closed_server.url}/hidden-dangers", json={}, cookies={"riskmap_session": viewer_token})
    assert r.status_code == 401
    r = httpx.get(f"{closed_server.url}/risk-list?limit=1", cookies={"riskmap_session": viewer_token})
    assert r.status_code == 200


def test_guessing_tokens_at_the_sign_in_form_is_recorded_and_slowed_down(map_demo_url):
    """Wrong tokens sent to the form count as refused credentials (audit trail, auth_failed) and, past the limit, the
    address is answered 429 with Retry-After, as at any other door."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    conn = store.connect(map_demo_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT coalesce(max(id), 0) FROM audit_event")
            mark = cur.fetchone()[0]
    finally:
        conn.close()
    with TestClient(create_app(Settings(database_url=map_demo_url, auth_fail_limit=3)), follow_redirects=False) as c:
        for _ in range(3):
            r = c.post("/sign-in", data={"token": "rm_0123456789ab_" + "C" * 43})
            assert r.status_code == 303 and "message=bad" in r.headers["location"]
        r = c.post("/sign-in", data={"token": "rm_0123456789ab_" + "C" * 43})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    conn = store.connect(map_demo_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT actor, request FROM audit_event WHERE id > %s AND action = 'auth_failed'", (mark,))
            assert cur.fetchall() == [("token:0123456789ab", "POST /sign-in")] * 3
    finally:
        conn.close()


def test_a_stale_session_cookie_reads_as_no_one_where_reads_are_open(map_demo_url):
    """A browser still holding the cookie of a revoked token reads a server with anonymous reads open as anyone
    may (it is not sent to the sign-in form), and one with them closed sends it to the form."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    conn = store.connect(map_demo_url)
    try:
        _, token = users.add(conn, "browser-stale", "viewer", [], "test")
        users.revoke(conn, "browser-stale")
    finally:
        conn.close()
    html = {"Accept": "text/html"}
    with TestClient(create_app(Settings(database_url=map_demo_url, anonymous_reads=True)),
                    follow_redirects=False, cookies={"riskmap_session": token}) as c:
        assert c.get("/", headers=html).status_code == 200
    with TestClient(create_app(Settings(database_url=map_demo_url)), follow_redirects=False,
                    cookies={"riskmap_session": token}) as c:
        r = c.get("/", headers=html)
        assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")
