"""Fixtures of the map tests: the scored demo served over HTTP by a real uvicorn, and a real headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``; ``./run test`` installs it), driven by Playwright without a browser
download of its own.  Every host but the test server's is made unresolvable, so a page that still reached for a
CDN would fail here as it would on a closed network.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import demo_database

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
SCREENSHOTS = Path(os.environ.get("RISKMAP_SCREENSHOTS", Path(tempfile.gettempdir()) / "riskmap-screenshots"))


def chromium_path() -> str:
    for path in (os.environ.get("RISKMAP_CHROMIUM"), *CHROMIUM_PATHS, shutil.which("chromium")):
        if path and os.path.exists(path):
            return path
    raise RuntimeError("the map tests need Chromium: apt-get install chromium (./run test installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The riskmap app served by uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, settings: Settings):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="package")
def map_demo_url(cluster):
    """The scored demo in a database of the map tests' own."""
    with demo_database(cluster) as url:
        yield url


@pytest.fixture(scope="package")
def demo_db(map_demo_url):
    """A connection to the map tests' demo database, for the answers the pages should show."""
    import psycopg2

    conn = psycopg2.connect(map_demo_url)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture(scope="package")
def server(map_demo_url):
    """The app on the demo, with no basemap (nothing outside the test server to fetch)."""
    with LiveServer(Settings(anonymous_reads=True, database_url=map_demo_url, basemap="none")) as live:
        yield live


@pytest.fixture(scope="package")
def osm_server(map_demo_url):
    """The app on the demo with the default basemap, OpenStreetMap, which the test browser cannot reach."""
    with LiveServer(Settings(anonymous_reads=True, database_url=map_demo_url, basemap="osm")) as live:
        yield live


@pytest.fixture(scope="package")
def amap_server(map_demo_url):
    """The app on the demo with the AMap basemap (GCJ-02 tiles), which the test browser cannot reach."""
    with LiveServer(Settings(anonymous_reads=True, database_url=map_demo_url, basemap="amap")) as live:
        yield live


CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-dev-shm-usage",
                 # every host but loopback is unresolvable: a closed network
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@pytest.fixture(scope="package")
def playwright_driver():
    """Playwright's driver, one for the package (its sync API runs once per thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright_driver):
    with tempfile.TemporaryDirectory() as profile:
        context = playwright_driver.chromium.launch_persistent_context(
            profile, executable_path=chromium_path(), headless=True, viewport={"width": 1280, "height": 860},
            args=CHROMIUM_ARGS)
        yield context
        context.close()


@pytest.fixture(scope="package")
def phone(playwright_driver):
    """Chromium as a phone: a 390 × 844 screen, touch, twice the pixels (the size of a common phone)."""
    chromium = playwright_driver.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                   device_scale_factor=2)
    yield context
    context.close()
    chromium.close()


class PageLog:
    """What a page printed to its console and which of its requests failed."""

    def __init__(self, page):
        self.console: list[tuple[str, str]] = []
        self.failed: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        page.on("requestfailed", lambda r: self.failed.append(r.url))
        page.on("request", lambda r: self.requests.append(r.url))

    def errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in ("error", "pageerror")]


@pytest.fixture
def page(browser):
    p = browser.new_page()
    p.log = PageLog(p)
    yield p
    p.close()


@pytest.fixture
def phone_page(phone):
    """A page of the phone (390 × 844, touch) with its log."""
    p = phone.new_page()
    p.log = PageLog(p)
    yield p
    p.close()


def wait_idle(page, timeout_ms: int = 30_000) -> None:
    """Until the map has loaded every layer of its current view (riskmap.js marks the container)."""
    page.wait_for_function(
        "() => { const c = document.querySelector('.leaflet-container');"
        " return c && c.dataset.loading === '0' && c.dataset.idle !== undefined; }", timeout=timeout_ms)


def open_map(page, server, query: str = "") -> None:
    page.goto(f"{server.url}/{query}")
    page.wait_for_selector(".leaflet-container")
    wait_idle(page)


def set_view(page, lat: float, lon: float, zoom: int) -> None:
    """Moves the map and waits until the new view's layers have loaded."""
    before = page.evaluate("document.querySelector('.leaflet-container').dataset.idle")
    page.evaluate(f"() => {{ riskmap.current.map.setView([{lat}, {lon}], {zoom}, {{animate: false}}); }}")
    page.wait_for_function(f"document.querySelector('.leaflet-container').dataset.idle !== '{before}'")
    wait_idle(page)


def click_at(page, lat: float, lon: float) -> None:
    """A real mouse click on the map where (lat, lon) is on screen."""
    x, y = page.evaluate(f"() => {{ const p = riskmap.current.map.latLngToContainerPoint([{lat}, {lon}]);"
                         " return [p.x, p.y]; }")
    box = page.locator(".leaflet-container").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
