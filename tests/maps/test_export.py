"""`riskmap map --area CODE --out FILE.html`: one self-contained page of an area (issue 5, item 7)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from geo import store
from geo.risk.config import load_model
from maps.export import MAX_CELLS, export_map, static_map_data
from tests.maps.conftest import chromium_path, screenshot

LUBEI = "130203"  # 路北区, Tangshan: dense demo risks


def test_export_writes_a_self_contained_page(map_demo_url, tmp_path):
    """The page inlines every script and stylesheet (no address outside the file) and carries the area's zoning,
    outlines and red and orange features, in a file of well under a megabyte."""
    conn = store.connect(map_demo_url)
    try:
        resolutions = [int(r) for r in load_model()["area"]["h3_resolutions"]]
        data = static_map_data(conn, LUBEI, resolutions)
        out = tmp_path / "lubei.html"
        size = export_map(conn, LUBEI, out, resolutions)
    finally:
        conn.close()
    page = out.read_text(encoding="utf-8")
    assert size == len(page.encode()) < 1_000_000
    assert not re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?!data:)[^"]+"', page)
    assert data["area"]["name"] == "路北区" and data["synthetic"] is True
    assert 0 < len(data["zoning"]["features"]) <= MAX_CELLS
    assert {f["properties"]["level"] for f in data["features"]["features"]} <= {"red", "orange"}
    assert data["features"]["features"], "the demo has red or orange risks in Lubei"
    assert "路北区" in page and "演示数据" in page


def test_exported_page_opens_from_a_file_offline(map_demo_url, tmp_path, playwright_driver):
    """Opened from disk in Chromium with every host unresolvable, the page draws its map with no console errors
    and requests nothing but itself."""
    out = tmp_path / "lubei.html"
    conn = store.connect(map_demo_url)
    try:
        export_map(conn, LUBEI, out, [int(r) for r in load_model()["area"]["h3_resolutions"]], "en")
    finally:
        conn.close()
    # a browser of its own (one with no server to reach), from the package's Playwright driver: a second driver in
    # the same process is refused once the first runs
    browser = playwright_driver.chromium.launch(executable_path=chromium_path(), args=[
        "--no-sandbox", "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND"])
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        errors, requests = [], []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(out.as_uri())
        page.wait_for_selector(".leaflet-overlay-pane path")
        assert errors == []
        assert all(u.startswith(("file:", "data:")) for u in requests)
        assert page.locator(".leaflet-overlay-pane path").count() > 10
        assert "Risk level" in page.locator(".riskmap-static-legend").inner_text()
        screenshot(page, "export")
    finally:
        browser.close()


def test_unknown_area_is_a_clear_error(map_demo_url, tmp_path):
    """An area code that is not stored ends the command with a message naming it, and writes no file."""
    out = tmp_path / "none.html"
    r = subprocess.run([sys.executable, "-m", "api.cli", "map", "--area", "999999", "--out", str(out)],
                       capture_output=True, text=True, env={"RISKMAP_DATABASE_URL": map_demo_url, "CI": "true",
                                                            "PATH": "/usr/bin:/bin"})
    assert r.returncode != 0
    assert "999999" in r.stderr + r.stdout
    assert not out.exists()
    json.dumps(r.returncode)  # (an exit code, not a traceback)
    assert "Traceback" not in r.stderr
