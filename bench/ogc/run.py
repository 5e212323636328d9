"""Benchmark: riskmap's OGC API Features items and vector tiles against tipg on the same PostGIS (issue 16).

    python bench/ogc/run.py [--features 1000000] [--seconds 15] [--connections 32] [--threads 1] [--repeat 1]
                            [--quick] [--rebuild]

Data: an embedded cluster of the bench's own ($TMPDIR/riskmap-bench-ogc/cluster, ``RISKMAP_DATA_DIR``) holding the
scored demo (``riskmap demo --no-serve``: Tangshan, 3,000 enterprises) and synthetic enterprises added until the
table holds ``--features`` rows (1,000,000 by default; 100,000 is a quick size).  The synthetic rows are made by the
database itself in one ``INSERT ... SELECT`` over ``generate_series`` (seeded ``random()``): uniform points over the
extent of the demo's counties (so some fall just outside a county), industries, employees and statuses drawn like
a register's, ``synthetic = true``, source ids ``BOGC<n>``.  Then ``riskmap score`` scores what changed (its time
is printed: the score of a million is part of what the bench shows).

Servers, each with one worker, on loopback:
- riskmap: ``riskmap serve --workers 1`` with anonymous reads (``RISKMAP_ANONYMOUS_READS=true``): items at
  ``/ogc/collections/enterprise/items`` and tiles at ``/tiles/enterprise/{z}/{x}/{y}.mvt``.
- tipg 1.6 (``python -m uvicorn tipg.main:app --workers 1`` from a virtualenv of its own, ``--tipg-venv``,
  /tmp/tipg-venv, not one of riskmap's dependencies; tipg does not bring uvicorn: the venv needs
  ``pip install uvicorn==0.55.0 uvloop==0.23.0 httptools==0.9.0``, the versions riskmap's virtualenv serves
  with) on the same database as the same application role, publishing only the schema ``bench_ogc``
  (``TIPG_DB_SCHEMAS``), which holds one view, ``bench_ogc.enterprise``: every enterprise joined to its
  ``feature_risk`` row (id, name, industry, score, level, geom).  riskmap's features carry more (the top factors,
  the kind, links), so its answers are larger for the same features: the bench prints the bytes.  tipg's items at
  ``/collections/bench_ogc.enterprise/items`` and tiles at
  ``/collections/bench_ogc.enterprise/tiles/WebMercatorQuad/{z}/{x}/{y}`` (its docs' URL form).

Correctness first: for a few small boxes, both servers' items (limit 1000) must list the same feature ids.  Then
the sizes: the first 50 items pages and the distinct tiles of the first 200 points at each zoom are fetched once
from each server, without compression (wrk asks for none either); mean bytes, empty tiles counted apart (riskmap
answers 204 for an empty tile, tipg an empty 200).

Load: wrk (Debian's ``wrk``), the same way for both: ``--threads`` threads, ``--connections`` connections,
``--seconds`` per run, ``--latency``; a Lua script beside this file (cycle.lua) sends the paths of a list written
by the bench from a fixed seed (random 0.02° boxes around random enterprises for items, limit 100; the tiles of
random enterprises at z8, z12 and z15), each thread starting at its own offset.  Each target (items, z8, z12, z15)
is run on riskmap then tipg, ``--repeat`` times alternating (the machine is shared and its speed drifts), after a
3 s warm-up of each; medians are reported with the ratio riskmap / tipg, and the machine's load beside each run.
Goal (issue 16): at least tipg's requests/s on items and on tiles, tiles no larger.

martin is not measured: it does not install here (Debian has no package, the npm package of that name is an
unrelated slider, and the crates registry is not reachable from this machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.processes import stop  # noqa: E402

HERE = Path(tempfile.gettempdir()) / "riskmap-bench-ogc"
LUA = Path(__file__).resolve().parent / "cycle.lua"
SEED = 20261204
BOX_DEG = 0.02  # the side of an items box
ZOOMS = (8, 12, 15)
TIPG_COLLECTION = "bench_ogc.enterprise"

VIEW_SQL = """
CREATE SCHEMA IF NOT EXISTS bench_ogc;
CREATE OR REPLACE VIEW bench_ogc.enterprise AS
SELECT e.id, e.name, e.industry, r.score, r.level, e.geom
FROM public.enterprise e JOIN public.feature_risk r ON r.kind = 'enterprise' AND r.feature_id = e.id;
"""

SYNTHETIC_SQL = """
SELECT setseed(0.42);
INSERT INTO enterprise (source_id, name, industry, status, employees, flexible_worker_share, violations_12m,
                        open_hidden_dangers, major_hidden_danger, last_inspection, synthetic, geom)
SELECT 'BOGC' || lpad(g::text, 7, '0'), 'bench enterprise ' || g,
       (ARRAY['hazardous_chemicals', 'metallurgy', 'mining', 'machinery', 'light_industry', 'logistics',
              'building_materials', 'other'])[1 + floor(random() * 8)::int],
       (ARRAY['operating', 'operating', 'operating', 'suspended', 'under_construction'])[1 + floor(random() * 5)::int],
       floor(random() * random() * 2000)::int, random() * 0.5, floor(random() * random() * 6)::int,
       floor(random() * random() * 5)::int, random() < 0.01, current_date - floor(random() * 700)::int, true,
       ST_SetSRID(ST_MakePoint(%(x0)s + random() * (%(x1)s - %(x0)s), %(y0)s + random() * (%(y1)s - %(y0)s)), 4326)
FROM generate_series(%(first)s, %(last)s) g;
"""


# ----- the database -----------------------------------------------------------------------------------------------

def bench_env(extra: dict | None = None) -> dict:
    env = {**os.environ, "RISKMAP_DATA_DIR": str(HERE / "cluster"), "CI": "true", "PYTHONPATH": str(ROOT)}
    env.pop("RISKMAP_DATABASE_URL", None)
    return {**env, **(extra or {})}


def cli(*args: str) -> float:
    """Runs ``riskmap <args>``; its wall time in seconds."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=bench_env(), capture_output=True,
                       text=True)
    if r.returncode:
        raise SystemExit(f"riskmap {' '.join(args)} failed (exit {r.returncode}): {(r.stderr or r.stdout)[-2000:]}")
    return time.perf_counter() - t0


def prepare(features: int, rebuild: bool) -> str:
    """The bench's cluster started, holding the demo and ``features`` scored enterprises; the database URL."""
    from geo import store
    from geo.embedded import EmbeddedCluster

    HERE.mkdir(parents=True, exist_ok=True)
    os.chmod(HERE, 0o755)  # as root, the server runs as 'postgres' and must reach the cluster inside
    cluster = EmbeddedCluster(HERE / "cluster")
    if rebuild:
        cluster.destroy()
    url = cluster.start()
    conn = store.connect(url)
    store.migrate(conn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM enterprise WHERE NOT synthetic OR source_id NOT LIKE 'BOGC%%'")
        demo = cur.fetchone()[0]
    if not demo:
        print("building the demo (riskmap demo --no-serve) ...", flush=True)
        print(f"  {cli('demo', '--no-serve'):.0f} s", flush=True)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM enterprise WHERE source_id NOT LIKE 'BOGC%%'")
        demo = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM enterprise WHERE source_id LIKE 'BOGC%%'")
        have = cur.fetchone()[0]
        want = max(0, features - demo)
        if have > want:  # a smaller size than last time: drop the synthetic rows beyond it
            cur.execute("DELETE FROM feature_risk WHERE kind = 'enterprise' AND feature_id IN (SELECT id FROM "
                        "enterprise WHERE source_id LIKE 'BOGC%%' AND substr(source_id, 5)::int > %s)", (want,))
            cur.execute("DELETE FROM enterprise WHERE source_id LIKE 'BOGC%%' AND substr(source_id, 5)::int > %s",
                        (want,))
            print(f"removed {have - want:,} synthetic enterprises", flush=True)
        elif have < want:
            cur.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM "
                        "area WHERE level = 'county') x")
            x0, y0, x1, y1 = cur.fetchone()
            t0 = time.perf_counter()
            cur.execute(SYNTHETIC_SQL, {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "first": have + 1, "last": want})
            cur.execute("ANALYZE enterprise")
            print(f"inserted {want - have:,} synthetic enterprises in {time.perf_counter() - t0:.1f} s", flush=True)
        cur.execute("SELECT count(*) FROM enterprise e WHERE NOT EXISTS (SELECT 1 FROM feature_risk r WHERE r.kind = "
                    "'enterprise' AND r.feature_id = e.id)")
        unscored = cur.fetchone()[0]
        # changes waiting to be scored (rows added or removed): riskmap serve would score them in the background
        # when it starts, under the bench's load, so they are scored first
        cur.execute("SELECT EXISTS (SELECT FROM risk_dirty) OR EXISTS (SELECT FROM risk_removed) "
                    "OR EXISTS (SELECT FROM risk_record_changed)")
        waiting = cur.fetchone()[0]
    if unscored or waiting:
        print(f"scoring the changes ({unscored:,} enterprises unscored; riskmap score) ...", flush=True)
        print(f"  riskmap score: {cli('score'):.1f} s", flush=True)
    with conn.cursor() as cur:
        cur.execute(VIEW_SQL)
        cur.execute("ANALYZE feature_risk")
        cur.execute("SELECT count(*), count(r.feature_id) FROM enterprise e LEFT JOIN feature_risk r ON r.kind = "
                    "'enterprise' AND r.feature_id = e.id")
        total, scored = cur.fetchone()
    conn.close()
    print(f"data: {total:,} enterprises, {scored:,} scored", flush=True)
    if total != scored:
        raise SystemExit(f"{total - scored:,} enterprises are not scored: riskmap and tipg would not see the same rows")
    return url


def sample_points(url: str, n: int) -> list[tuple[float, float]]:
    """``n`` enterprises' locations, chosen by a seeded random order (the same list every run)."""
    from geo import store

    conn = store.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT setseed(0.17)")
        cur.execute("SELECT ST_X(geom), ST_Y(geom) FROM enterprise TABLESAMPLE BERNOULLI (50) REPEATABLE (7) "
                    "ORDER BY id LIMIT %s", (n * 4,))
        rows = [(float(x), float(y)) for x, y in cur.fetchall()]
    conn.close()
    rng = random.Random(SEED)
    rng.shuffle(rows)
    return rows[:n]


# ----- the servers ------------------------------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(proc: subprocess.Popen, url: str, log: Path, name: str) -> None:
    t0 = time.time()
    while time.time() - t0 < 120:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                if r.status == 200:
                    return
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    stop(proc)
    raise SystemExit(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")


def start_riskmap() -> tuple[subprocess.Popen, str]:
    port = free_port()
    log_path = HERE / "riskmap.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "1"],
                                cwd=ROOT, env=bench_env({"RISKMAP_ANONYMOUS_READS": "true"}), stdout=log, stderr=log,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_up(proc, base + "/health", log_path, "riskmap serve")
    return proc, base


def start_tipg(url: str, venv: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log_path = HERE / "tipg.log"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "DATABASE_URL": url,
           "TIPG_DB_SCHEMAS": '["bench_ogc"]', "TIPG_DB_SPATIAL_EXTENT": "false",
           "TIPG_DB_DATETIME_EXTENT": "false"}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([str(venv / "bin" / "python"), "-m", "uvicorn", "tipg.main:app", "--host",
                                 "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log"], cwd=HERE,
                                env=env, stdout=log, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_up(proc, base + f"/collections/{TIPG_COLLECTION}", log_path, "tipg")
    return proc, base


# ----- what is asked ----------------------------------------------------------------------------------------------

def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def boxes(points: list[tuple[float, float]]) -> list[str]:
    rng = random.Random(SEED)
    out = []
    for lon, lat in points:
        x0, y0 = lon - rng.random() * BOX_DEG, lat - rng.random() * BOX_DEG
        out.append(f"{x0:.5f},{y0:.5f},{x0 + BOX_DEG:.5f},{y0 + BOX_DEG:.5f}")
    return out


def paths(server: str, target: str, points: list[tuple[float, float]]) -> list[str]:
    """The paths of ``target`` (items, z8, z12, z15) on ``server`` (riskmap or tipg), in the same order for both."""
    if target == "items":
        prefix = "/ogc/collections/enterprise" if server == "riskmap" else f"/collections/{TIPG_COLLECTION}"
        return [f"{prefix}/items?bbox={b}&limit=100" for b in boxes(points)]
    z = int(target[1:])
    tiles = [tile_of(lon, lat, z) for lon, lat in points]
    if server == "riskmap":
        return [f"/tiles/enterprise/{z}/{x}/{y}.mvt" for x, y in tiles]
    return [f"/collections/{TIPG_COLLECTION}/tiles/WebMercatorQuad/{z}/{x}/{y}" for x, y in tiles]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def check_items(bases: dict[str, str], points: list[tuple[float, float]]) -> bool:
    """Both servers list the same enterprises in a few boxes."""
    ok = True
    for box in boxes(points)[:8]:
        ids = {}
        for server, base in bases.items():
            prefix = "/ogc/collections/enterprise" if server == "riskmap" else f"/collections/{TIPG_COLLECTION}"
            status, body = get(f"{base}{prefix}/items?bbox={box}&limit=1000")
            if status != 200:
                print(f"  {server}: HTTP {status} for box {box}: {body[:300]!r}")
                ok = False
                continue
            doc = json.loads(body)
            ids[server] = {str(f["id"]).rsplit(".", 1)[-1] for f in doc["features"]}
            if len(doc["features"]) >= 1000:
                print(f"  {server}: box {box} holds 1000 or more: the check needs smaller boxes")
                ok = False
        same = len(set(map(frozenset, ids.values()))) == 1 and len(ids) == 2
        print(f"  box {box}: " + ", ".join(f"{s} {len(v)}" for s, v in ids.items()) + (" (same ids)" if same else
                                                                                         " DIFFERENT"))
        ok = ok and same
    return ok


def sizes_of(bases: dict[str, str], points: list[tuple[float, float]], targets: list[str]) -> dict:
    """{(server, target): (mean bytes of the answers, mean bytes of the non-empty ones, empty answers, answers, median
    ms)} over the first 50 items pages and the distinct tiles of the first 200 points of each zoom, asked one at a
    time."""
    out = {}
    for target in targets:
        for server, base in bases.items():
            sizes, times = [], []
            sample = points[:50] if target == "items" else points[:200]
            for path in dict.fromkeys(paths(server, target, sample)):  # each distinct tile once
                t0 = time.perf_counter()
                status, body = get(base + path)
                times.append(1e3 * (time.perf_counter() - t0))
                if status not in (200, 204):
                    raise SystemExit(f"{server}: HTTP {status} for {path}: {body[:300]!r}")
                sizes.append(len(body))
            full = [s for s in sizes if s]
            out[server, target] = (statistics.fmean(sizes), statistics.fmean(full) if full else 0.0,
                                   len(sizes) - len(full), len(sizes), statistics.median(times))
            print(f"  {target:5s} {server:7s} one client: {len(sizes)} requests, median {statistics.median(times):.1f}"
                  f" ms, mean {statistics.fmean(sizes):,.0f} bytes", flush=True)
    return out


# ----- wrk --------------------------------------------------------------------------------------------------------

def wrk(base: str, path_list: list[str], seconds: float, connections: int, threads: int) -> dict:
    wrk_bin = shutil.which("wrk")
    if not wrk_bin:
        raise SystemExit("wrk is needed: apt-get install wrk (Debian's package)")
    with tempfile.TemporaryDirectory() as d:
        listing = Path(d) / "paths.txt"
        listing.write_text("\n".join(path_list) + "\n")
        out = subprocess.run([wrk_bin, "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
                              "--timeout", "30s", "--latency", "-s", str(LUA), base],
                             env={**os.environ, "BENCH_PATHS": str(listing)}, capture_output=True, text=True,
                             check=True).stdout

    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
            "p99_ms": ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
            "errors": (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0),
            "requests": int(re.search(r"(\d+) requests in", out).group(1))}


def settle(url: str, limit_s: float = 300.0) -> float:
    """Waits until no query of the servers is running in the database (a server may still be working through
    requests whose connections wrk has closed: they would load the next run); the seconds waited."""
    from geo import store

    conn = store.connect(url)
    conn.autocommit = True
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < limit_s:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
                            "AND datname = current_database() AND backend_type = 'client backend'")
                if cur.fetchone()[0] == 0:
                    break
            time.sleep(0.5)
    finally:
        conn.close()
    return time.perf_counter() - t0


def load_avg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


# ----- main -------------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", type=int, default=1_000_000, help="enterprises in the table (demo + synthetic)")
    ap.add_argument("--seconds", type=float, default=15.0, help="seconds of wrk per run")
    ap.add_argument("--connections", type=int, default=32, help="wrk -c")
    ap.add_argument("--threads", type=int, default=1, help="wrk -t")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each server per target, alternating (medians)")
    ap.add_argument("--quick", action="store_true", help="5 s runs, to try the bench")
    ap.add_argument("--targets", default="items,z8,z12,z15", help="what to load, comma-separated")
    ap.add_argument("--tipg-venv", default="/tmp/tipg-venv", help="a virtualenv with tipg and uvicorn")
    ap.add_argument("--rebuild", action="store_true", help="build the cluster again")
    args = ap.parse_args()
    if args.quick:
        args.seconds = 5.0
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]

    print(f"=== riskmap /ogc and /tiles against tipg ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
          f"{os.cpu_count()} cores, load average {load_avg()}) ===", flush=True)
    url = prepare(args.features, args.rebuild)
    points = sample_points(url, 2000)
    procs = []
    try:
        rm_proc, rm_base = start_riskmap()
        procs.append(rm_proc)
        tg_proc, tg_base = start_tipg(url, Path(args.tipg_venv))
        procs.append(tg_proc)
        bases = {"riskmap": rm_base, "tipg": tg_base}
        print("correctness: the same enterprises in a few boxes (items, limit 1000)", flush=True)
        if not check_items(bases, points):
            raise SystemExit("the servers disagree: no figures")
        print("one client, one request at a time: sizes and times", flush=True)
        sizes = sizes_of(bases, points, targets)
        settle(url)
        runs: dict[tuple[str, str], list[dict]] = {}
        for target in targets:
            lists = {server: paths(server, target, points) for server in bases}
            for server, base in bases.items():  # warm-up
                wrk(base, lists[server], 3, args.connections, args.threads)
                settle(url)
            for k in range(args.repeat):
                for server, base in bases.items():
                    before = load_avg()
                    f = wrk(base, lists[server], args.seconds, args.connections, args.threads)
                    waited = settle(url)
                    runs.setdefault((server, target), []).append(f)
                    print(f"  run {k + 1} {target:5s} {server:7s} {f['rps']:8.1f} requests/s, p50 {f['p50_ms']:8.1f} "
                          f"ms, p99 {f['p99_ms']:8.1f} ms, {f['errors']} errors, {f['requests']} answered (load "
                          f"{before}; the database busy {waited:.1f} s after)", flush=True)
    finally:
        for proc in procs:
            stop(proc)

    print(f"\n=== medians of {args.repeat} run(s): {args.features:,} enterprises, wrk -t{args.threads} "
          f"-c{args.connections} -d{args.seconds:g}s, one worker each ===")
    print(f"{'target':7s} {'server':8s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>6s} "
          f"{'mean B':>8s} {'non-empty B':>11s} {'empty':>9s} {'1 client ms':>11s}")
    for target in targets:
        for server in ("riskmap", "tipg"):
            fs = runs[server, target]
            m = {k: statistics.median(f[k] for f in fs) for k in ("rps", "p50_ms", "p99_ms", "errors")}
            s = sizes.get((server, target))
            size = f" {s[0]:8.0f} {s[1]:11.0f} {s[2]:4d}/{s[3]:<4d} {s[4]:11.1f}" if s else ""
            print(f"{target:7s} {server:8s} {m['rps']:8.1f} {m['p50_ms']:8.1f} {m['p99_ms']:8.1f} {m['errors']:6g}"
                  + size)
        r = {k: statistics.median(f[k] for f in runs["riskmap", target]) / max(1e-9, statistics.median(
            f[k] for f in runs["tipg", target])) for k in ("rps", "p50_ms", "p99_ms")}
        s = (sizes[("riskmap", target)][0] / sizes[("tipg", target)][0]) if ("riskmap", target) in sizes and \
            sizes[("tipg", target)][0] else None
        print(f"{target:7s} riskmap/tipg: rate {r['rps']:.2f}, p50 {r['p50_ms']:.2f}, p99 {r['p99_ms']:.2f}"
              + (f", size {s:.2f}" if s is not None else ""))
    print(f"load average after: {load_avg()}")


if __name__ == "__main__":
    main()
