"""Benchmark: risks near a point, and bbox item pages, over HTTP at a million features (issue 4).

    python bench/near/run.py [--duration 20] [--connections 16] [--workers 2] [--points 2000] [--repeat 3]
                             [--no-tipg]

Data: the data set of bench/score (the demo scaled to 1,000,000 point features and 20,000 km of pipelines, in the
database riskmap_bench_score; built and imported when missing, then scored with ``riskmap score`` when it holds
no scores).

1. Near queries.  ``--points`` random points (seeded) in the data's extent, each asked for the risks within
   5 km, limit 100 (``GET /risks/near?lon=&lat=&radius_m=5000&limit=100``).
   - raw SQL baseline: the very SQL of the endpoint (api/routes/near.py ``near_query``, the same parameters) through
     psycopg2, from ``--connections`` threads with a connection each, for ``--duration`` seconds;
   - HTTP: ``riskmap serve --workers W`` on loopback, loaded by ``wrk`` (a C load generator; Debian package
     ``wrk``) with ``--connections`` connections for ``--duration`` seconds, cycling through the same points.
   The two alternate, ``--repeat`` times each (3), as the shared machine's speed drifts from minute to minute.
   Reported: median and 99th-percentile latency and requests per second of each run, their medians over the
   runs, and the ratio of the median latencies.
   Goals: HTTP median at most 2.5 times the raw SQL median, and at least 400 requests per second.
2. Bbox items.  Random boxes of 0.05° (about 4 × 5.5 km) in the extent, 100 enterprises a page:
   riskmap ``GET /features?kind=enterprise&bbox=...&limit=100`` against tipg (``pip install tipg``, in a
   virtual environment of its own under $TMPDIR, ``uvicorn tipg.main:app`` with the same number of workers)
   ``GET /collections/public.enterprise/items?bbox=...&limit=100``, each loaded by wrk the same way, one after
   the other.  Goal: riskmap at least as fast as tipg (requests per second, and median latency).

The machine is shared: run it when it is otherwise idle; the load generator shares the two cores with the
server and PostgreSQL, which is the deployment's own situation on a 2-core host.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.processes import stop  # noqa: E402

RADIUS_M = 5000.0
LIMIT = 100
BOX_DEG = 0.05


def load_score_bench():
    spec = importlib.util.spec_from_file_location("bench_score", ROOT / "bench" / "score" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare(seed: int) -> str:
    """The bench/score data set, scored; returns its URL."""
    from api.database import database_url
    from api.settings import Settings
    from geo import store

    sb = load_score_bench()
    scale = 1_000_000 / sb.DEMO_POINTS
    folder = Path(tempfile.gettempdir()) / "riskmap-bench-score"
    tag = sb.dataset_tag(seed, scale, 20_000.0)
    sb.build_data(folder / tag, seed, scale, 20_000.0)
    url = sb.prepare_database(database_url(Settings()), folder / tag, tag, reuse=True)
    conn = store.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM feature_risk")
        scored = cur.fetchone()[0]
    conn.close()
    if not scored:
        print("scoring the data set (riskmap score --full) ...", flush=True)
        subprocess.run([sys.executable, "-m", "api.cli", "score", "--full"], check=True, cwd=ROOT,
                       env={**os.environ, "RISKMAP_DATABASE_URL": url, "CI": "true"})
    return url


def extent(url: str) -> tuple[float, float, float, float]:
    from geo import store

    conn = store.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e "
                    "FROM enterprise) x")
        box = cur.fetchone()
    conn.close()
    return tuple(float(v) for v in box)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def start(cmd: list[str], env: dict, health: str) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        wait_http(health)
    except RuntimeError:
        proc.kill()
        raise RuntimeError(f"{' '.join(cmd)} did not start: {proc.stderr.read().decode()[-2000:]}") from None
    return proc


WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def wrk(base: str, paths: list[str], duration: int, connections: int, threads: int = 2) -> dict:
    """Load ``base`` with wrk cycling through ``paths``; median and p99 latency (ms), requests/s, errors."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as d:
        listing = Path(d) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        script = Path(d) / "cycle.lua"
        script.write_text(WRK_SCRIPT % listing)
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
                              "--latency", "-s", str(script), base], capture_output=True, text=True, check=True).stdout

    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"p50_ms": p50, "p99_ms": p99, "rps": rps, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else None}


def raw_sql(url: str, points: np.ndarray, duration: int, connections: int, resolution: int) -> dict:
    """The endpoint's SQL through psycopg2 from ``connections`` threads; latency per query (ms) and rate."""
    import h3
    import psycopg2

    from api.routes import RISK_KINDS, PreparingConnection, ewkt_point, execute_prepared
    from api.routes.near import near_query
    from geo.risk.framework import LEVELS

    query = near_query(level_filter=False)
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def worker(k: int) -> None:
        conn = psycopg2.connect(url, connection_factory=PreparingConnection)  # prepared, as in the API
        conn.autocommit = True
        mine = []
        i = k
        with conn.cursor() as cur:
            cur.execute("SET jit = off")  # as the API's pool does
            cur.execute("SET plan_cache_mode = force_generic_plan")
            while time.perf_counter() < stop_at:
                lon, lat = points[i % len(points)]
                params = {"pt": ewkt_point(float(lon), float(lat)), "radius": RADIUS_M, "kinds": list(RISK_KINDS),
                          "levels": list(LEVELS), "min_pos": None, "limit": LIMIT,
                          "h3_cell": h3.latlng_to_cell(float(lat), float(lon), resolution), "h3_res": resolution}
                t = time.perf_counter()
                execute_prepared(cur, "riskmap_near", query, params)
                cur.fetchone()
                mine.append((time.perf_counter() - t) * 1000)
                i += connections
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"p50_ms": statistics.median(latencies), "p99_ms": float(np.percentile(latencies, 99)),
            "rps": len(latencies) / elapsed, "queries": len(latencies)}


def tipg_python() -> Path:
    """A virtual environment with tipg (and uvicorn) of its own, made once under $TMPDIR."""
    venv = Path(tempfile.gettempdir()) / "riskmap-bench-tipg"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing tipg into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"], check=True)
    return python


def medians(runs: list[dict]) -> dict:
    """The median of each figure over repeated runs."""
    return {key: statistics.median(r[key] for r in runs) for key in ("p50_ms", "p99_ms", "rps")}


def fmt(r: dict) -> str:
    extra = f", {r['non_2xx']} non-2xx" if r.get("non_2xx") else ""
    extra += f", socket errors {r['socket_errors']}" if r.get("socket_errors") else ""
    return f"median {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['rps']:.0f} requests/s{extra}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=20, help="seconds of load per measurement")
    ap.add_argument("--connections", type=int, default=16, help="concurrent connections (and SQL threads)")
    ap.add_argument("--workers", type=int, default=2, help="server worker processes (riskmap and tipg)")
    ap.add_argument("--points", type=int, default=2000, help="distinct query points / boxes")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--repeat", type=int, default=3, help="near measurements of each kind (medians reported)")
    ap.add_argument("--no-tipg", action="store_true", help="skip the tipg comparison")
    args = ap.parse_args()

    from geo.risk.config import load_model

    url = prepare(args.seed)
    x0, y0, x1, y1 = extent(url)
    rng = np.random.default_rng(args.seed)
    points = np.column_stack([rng.uniform(x0, x1, args.points), rng.uniform(y0, y1, args.points)])
    bx, by = rng.uniform(x0, x1 - BOX_DEG, args.points), rng.uniform(y0, y1 - BOX_DEG, args.points)
    resolution = max(int(r) for r in load_model()["area"]["h3_resolutions"])
    print(f"=== near and bbox queries over HTTP, 1,000,000 features ({dt.date.today()}) ===")
    print(f"{args.points} points / boxes in {x0:.3f},{y0:.3f},{x1:.3f},{y1:.3f}; {args.connections} connections, "
          f"{args.duration} s each, {args.workers} server workers", flush=True)

    port = free_port()
    env = {**os.environ, "RISKMAP_DATABASE_URL": url, "CI": "true"}
    server = start([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", str(args.workers)],
                   env, f"http://127.0.0.1:{port}/health")
    sqls, https = [], []
    try:
        near_paths = [f"/risks/near?lon={lon:.6f}&lat={lat:.6f}&radius_m={RADIUS_M:g}&limit={LIMIT}"
                      for lon, lat in points]
        wrk(f"http://127.0.0.1:{port}", near_paths[:50], 3, args.connections)  # warm-up
        # the machine is shared and its speed drifts: raw SQL and HTTP alternate, `repeat` times each
        for k in range(args.repeat):
            sqls.append(raw_sql(url, points, args.duration, args.connections, resolution))
            print(f"  run {k + 1}: raw SQL (psycopg2, {args.connections} threads): {fmt(sqls[-1])}", flush=True)
            https.append(wrk(f"http://127.0.0.1:{port}", near_paths, args.duration, args.connections))
            print(f"  run {k + 1}: HTTP GET /risks/near (wrk): {fmt(https[-1])}", flush=True)
        box_paths = [f"/features?kind=enterprise&bbox={a:.5f},{b:.5f},{a + BOX_DEG:.5f},{b + BOX_DEG:.5f}"
                     f"&limit={LIMIT}" for a, b in zip(bx, by, strict=True)]
        wrk(f"http://127.0.0.1:{port}", box_paths[:50], 3, args.connections)
        ours = wrk(f"http://127.0.0.1:{port}", box_paths, args.duration, args.connections)
        print(f"riskmap GET /features?bbox= (wrk): {fmt(ours)}", flush=True)
    finally:
        stop(server)
    sql, http = medians(sqls), medians(https)
    print(f"raw SQL, median of {args.repeat}: {fmt(sql)}")
    print(f"HTTP GET /risks/near, median of {args.repeat}: {fmt(http)}")

    ratio = http["p50_ms"] / sql["p50_ms"]
    print(f"near: HTTP median / raw SQL median = {ratio:.2f} (goal <= 2.5: {'met' if ratio <= 2.5 else 'NOT met'}); "
          f"{http['rps']:.0f} requests/s (goal >= 400: {'met' if http['rps'] >= 400 else 'NOT met'})")

    if not args.no_tipg:
        python = tipg_python()
        tport = free_port()
        tenv = {**os.environ, "DATABASE_URL": url, "TIPG_NAME": "riskmap-bench", "TIPG_DB_SCHEMAS": '["public"]',
                "TIPG_DB_TABLES": '["public.enterprise"]', "TIPG_MAX_FEATURES_PER_QUERY": "10000"}
        tipg = start([str(python), "-m", "uvicorn", "tipg.main:app", "--port", str(tport), "--workers",
                      str(args.workers), "--log-level", "warning"], tenv, f"http://127.0.0.1:{tport}/collections")
        try:
            tipg_paths = [f"/collections/public.enterprise/items?bbox={a:.5f},{b:.5f},{a + BOX_DEG:.5f},"
                          f"{b + BOX_DEG:.5f}&limit={LIMIT}" for a, b in zip(bx, by, strict=True)]
            wrk(f"http://127.0.0.1:{tport}", tipg_paths[:50], 3, args.connections)
            theirs = wrk(f"http://127.0.0.1:{tport}", tipg_paths, args.duration, args.connections)
            print(f"tipg GET /collections/public.enterprise/items?bbox= (wrk): {fmt(theirs)}", flush=True)
        finally:
            stop(tipg)
        print(f"bbox items: riskmap / tipg requests per second = {ours['rps'] / theirs['rps']:.2f}, median "
              f"latency tipg / riskmap = {theirs['p50_ms'] / ours['p50_ms']:.2f} (goal >= 1: "
              f"{'met' if ours['rps'] >= theirs['rps'] else 'NOT met'})")


if __name__ == "__main__":
    main()
