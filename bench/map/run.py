"""Benchmark: the main map's page at 10k, 100k and 1M features, against folium's inlined HeatMap (issue 5).

    python bench/map/run.py [--sizes 10000,100000,1000000] [--repeat 3]

Data: the data set of bench/score (the demo scaled to N point features, settlements included, with N / 50
km of pipelines), one database per size on the embedded cluster (the 1M one is bench/score's own,
riskmap_bench_score), built, imported and scored when missing.

For each size, in Debian's headless Chromium (driven by Playwright; every host but loopback unresolvable):
- riskmap: `riskmap serve` (one worker, no basemap) and its main map at `/`.  Measured: the bytes of the page
  (the HTML document), the bytes of everything it loaded (scripts, styles and the API's answers), and the time
  from navigation until the map is idle (every layer of the first view loaded and drawn: riskmap.js marks the
  map container).  Then, for responsiveness, the time until idle again after panning half a screen east, and
  after zooming in to zoom 13 (the feature layers).  A new browser context (empty cache) for each of
  ``--repeat`` loads; medians reported.
- baseline: a folium page with a `folium.plugins.HeatMap` of the same point features inlined (lat, lon), its
  scripts pointed at the same vendored Leaflet and leaflet.heat (so both load offline), served as a static file
  by a plain HTTP server.  Measured the same way; idle is the load event plus two animation frames.
Goals: page bytes flat in the number of features (under 5 % of the inlined page at 1M) and idle within 2 s at 1M.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import http.server
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SEED = 20261129
KM_PER_POINT = 20_000 / 1_000_000  # bench/score's 20,000 km of pipelines at 1M points


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCORE = load_module("bench_score", ROOT / "bench" / "score" / "run.py")
NEAR = load_module("bench_near", ROOT / "bench" / "near" / "run.py")


def prepare(points: int) -> str:
    """The scored data set of ``points`` point features; returns its database URL."""
    from api.database import database_url
    from api.settings import Settings
    from geo import store

    scale = points / SCORE.DEMO_POINTS
    km = round(points * KM_PER_POINT, 1)
    tag = SCORE.dataset_tag(SEED, scale, km)
    folder = Path(tempfile.gettempdir()) / "riskmap-bench-score" / tag
    SCORE.build_data(folder, SEED, scale, km)
    name = SCORE.BENCH_DB if points == 1_000_000 else f"riskmap_bench_map_{points}"
    url = SCORE.prepare_database(database_url(Settings()), folder, tag, reuse=True, name=name)
    conn = store.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM feature_risk")
        scored = cur.fetchone()[0]
    conn.close()
    if not scored:
        print(f"scoring {name} (riskmap score --full) ...", flush=True)
        subprocess.run([sys.executable, "-m", "api.cli", "score", "--full"], check=True, cwd=ROOT,
                       env={**os.environ, "RISKMAP_DATABASE_URL": url, "CI": "true"})
    return url


def feature_points(url: str) -> list[tuple[float, float]]:
    """(lat, lon) of every point feature (pipelines excluded), as the baseline's heatmap shows them."""
    from geo import store

    conn = store.connect(url)
    points = []
    with conn.cursor() as cur:
        for table in ("enterprise", "tailings_pond", "venue", "settlement"):
            cur.execute(f"SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM {table}) x")
            points += cur.fetchall()
    conn.close()
    return points


def baseline_page(points: list[tuple[float, float]], folder: Path) -> Path:
    """folium's inlined HeatMap of ``points``, with its scripts on the vendored copies (served beside it)."""
    import folium
    from folium.plugins import HeatMap

    from maps import assets

    lat = statistics.fmean(p[0] for p in points)
    lon = statistics.fmean(p[1] for p in points)
    m = folium.Map(location=[lat, lon], zoom_start=9, tiles=None)
    assets.offline(m)
    heat = HeatMap([[round(a, 5), round(b, 5)] for a, b in points], radius=12)
    heat.default_js = [("leaflet-heat.js", assets.vendor_url("leaflet.heat/leaflet-heat.js"))]
    heat.add_to(m)
    path = folder / "baseline.html"
    m.save(str(path))
    static = folder / assets.STATIC_URL.strip("/")
    if not static.exists():
        shutil.copytree(assets.static_dir(), static)
    return path


class StaticServer:
    """A plain HTTP server for a folder, on a free loopback port, in a thread."""

    def __init__(self, folder: Path):
        handler = functools.partial(Quiet, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def load(browser, url: str, idle_js: str, interact: bool = False, timeout_ms: int = 120_000) -> dict:
    """One load of ``url`` in a fresh context: page bytes, all bytes, ms from navigation to idle (and with
    ``interact``, ms to idle after a pan and after zooming in to the features)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    responses = []
    page.on("requestfinished", lambda r: responses.append(r))
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    main = page.goto(url, timeout=timeout_ms)
    page.wait_for_function(idle_js, timeout=timeout_ms, polling="raf")
    idle_ms = page.evaluate("performance.now()")
    page_bytes = main.request.sizes()["responseBodySize"]  # (a large body may be gone from the inspector)
    moves = {}
    if interact:
        # responsiveness: pan half a screen east, then zoom in to where the features are drawn; each until idle
        for name, move in (("pan_ms", "m.panBy([640, 0], {animate: false})"),
                           ("zoom_in_ms", "m.setZoom(13, {animate: false})")):
            before = page.evaluate("document.querySelector('.leaflet-container').dataset.idle")
            t0 = page.evaluate(f"() => {{ const m = riskmap.current.map; const t = performance.now(); {move}; "
                               "return t; }")
            page.wait_for_function(f"() => document.querySelector('.leaflet-container').dataset.idle !== '{before}'"
                                   f" && ({idle_js})()", timeout=timeout_ms, polling="raf")
            moves[name] = page.evaluate("performance.now()") - t0
    total = 0
    for r in responses:
        try:
            total += r.sizes()["responseBodySize"]
        except Exception:  # noqa: BLE001 - a request without a body
            pass
    context.close()
    if errors:
        raise RuntimeError(f"{url}: {errors[:3]}")
    return {"page_bytes": page_bytes, "total_bytes": total, "idle_ms": idle_ms, **moves}


RISKMAP_IDLE = ("() => { const c = document.querySelector('.leaflet-container');"
                " return c && c.dataset.loading === '0' && c.dataset.idle !== undefined; }")
BASELINE_IDLE = ("() => document.readyState === 'complete' && document.querySelector('canvas.leaflet-heatmap-layer')"
                 " !== null")


def median_of(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="point features per data set")
    ap.add_argument("--repeat", type=int, default=3, help="loads of each page (medians reported)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.maps.conftest import chromium_path

    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    print(f"=== main map page vs folium's inlined HeatMap ({dt.date.today()}) ===", flush=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run",
            "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        for n in sizes:
            url = prepare(n)
            port = NEAR.free_port()
            env = {**os.environ, "RISKMAP_DATABASE_URL": url, "RISKMAP_BASEMAP": "none", "CI": "true"}
            server = NEAR.start([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env,
                                f"http://127.0.0.1:{port}/health")
            try:
                load(browser, f"http://127.0.0.1:{port}/", RISKMAP_IDLE)  # warm-up (the server's caches)
                ours = median_of([load(browser, f"http://127.0.0.1:{port}/", RISKMAP_IDLE, interact=True)
                                  for _ in range(args.repeat)])
            finally:
                NEAR.stop(server)
            folder = Path(tmp) / str(n)
            folder.mkdir()
            points = feature_points(url)
            page = baseline_page(points, folder)
            static = StaticServer(folder)
            try:
                theirs = median_of([load(browser, f"{static.url}/{page.name}", BASELINE_IDLE)
                                    for _ in range(args.repeat)])
            finally:
                static.close()
            rows.append((n, len(points), ours, theirs))
            print(f"{n:>9,} features: riskmap page {ours['page_bytes'] / 1024:,.1f} KB (all loaded "
                  f"{ours['total_bytes'] / 1024:,.0f} KB), idle {ours['idle_ms']:,.0f} ms, after a pan "
                  f"{ours['pan_ms']:,.0f} ms, zoomed in to features {ours['zoom_in_ms']:,.0f} ms | inlined HeatMap of "
                  f"{len(points):,} points: page {theirs['page_bytes'] / 1024:,.0f} KB, idle "
                  f"{theirs['idle_ms']:,.0f} ms | page bytes riskmap / inlined = "
                  f"{ours['page_bytes'] / theirs['page_bytes']:.2%}", flush=True)
        browser.close()
    largest = rows[-1]
    share = largest[2]["page_bytes"] / largest[3]["page_bytes"]
    flat = max(r[2]["page_bytes"] for r in rows) / min(r[2]["page_bytes"] for r in rows)
    idle = largest[2]["idle_ms"]
    print(f"page bytes: largest / smallest over the sizes = {flat:.3f} (flat); at {largest[0]:,} features "
          f"{share:.2%} of the inlined page (goal < 5 %: {'met' if share < 0.05 else 'NOT met'}); idle "
          f"{idle:,.0f} ms (goal <= 2,000 ms: {'met' if idle <= 2000 else 'NOT met'})")


if __name__ == "__main__":
    main()
