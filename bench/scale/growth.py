"""Benchmark: how import, scoring and the map's queries grow with the size of the register (issue 18, item 5).

    python bench/scale/growth.py [--scales 0.016,0.16,1] [--base DIR] [--requests 200] [--seed 20261129]

Data: the national set (data/national) at each scale, generated once under ``--base`` (default
$TMPDIR/riskmap-bench-scale/sets; the generation is not timed here: bench/scale/generate.py measures it): at
scale 1 about 6.3 million features over China's real boundaries, 0.16 about a million, 0.016 about 100,000.

Each scale runs in a child process of its own (so that its peak memory is its own), on a fresh database of an
embedded cluster of the bench's own ($TMPDIR/riskmap-bench-scale/cluster):
- import: ``data.national.loader.load_national`` (the areas, then each kind's file through the ordinary importer);
- scoring: ``geo.risk.scoring.score(full=True)``, each step timed;
- serving: the API in process (``create_app``, one client, ``--requests`` of each type at random points of the
  stored venues, which follow the population, as users' views do): a near query (2 km), a bbox page of 100
  enterprises in a 0.05° box, the map's layers of a zoom-13 view (one feature class, 1,000 at most) and the county
  zoning of a zoom-9 view; medians.  For the near query also the buffers it touches (EXPLAIN (ANALYZE, BUFFERS)
  of the endpoint's SQL), which no other work on the machine can move.
Time is wall time and CPU time: this process's own, and the cluster's (the postmaster and its backends, from
/proc), as the shared machine's load moves wall times more than CPU times.

Reported: each figure per scale, and its growth from one scale to the next as an exponent of the features'
ratio (1: linear; an indexed query should stay near 0, i.e. grow no faster than the logarithm).  A batch step
with an exponent over 1.15, or a query over 0.3, is named.  (The national set keeps its geography at every scale:
a larger scale is a denser country, so a view or a 2 km circle holds more features, up to the page's limit: the
rows answered are reported beside the times.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TICKS = os.sysconf("SC_CLK_TCK")
AS_OF = dt.date(2026, 11, 29)
BATCH_LIMIT = 1.15  # a batch step growing faster than this power of the size is named
QUERY_LIMIT = 0.3  # an indexed query growing faster than this power is named


def cluster_cpu(pgdata: Path) -> float:
    """CPU seconds (user + system) used so far by the cluster's postmaster and its living backends."""
    try:
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return 0.0
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == postmaster or int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICKS
    return total


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Clock:
    """Wall time, this process's CPU and the cluster's CPU of a step."""

    def __init__(self, pgdata: Path):
        self.pgdata = pgdata

    def __enter__(self):
        self.t, self.own, self.pg = time.perf_counter(), own_cpu(), cluster_cpu(self.pgdata)
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t
        self.own = own_cpu() - self.own
        self.pg = cluster_cpu(self.pgdata) - self.pg

    def figures(self) -> dict:
        return {"wall_s": round(self.wall, 2), "own_cpu_s": round(self.own, 2), "pg_cpu_s": round(self.pg, 2)}


def one_scale(scale: float, base: Path, seed: int, requests: int) -> dict:
    """Import, score and query the set of ``scale`` on a fresh database; its figures."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.routes import RISK_KINDS, ewkt_point
    from api.routes.near import near_query
    from api.settings import Settings
    from data.national import counts_for
    from data.national.loader import ensure_national, load_national
    from geo import store
    from geo.embedded import EmbeddedCluster, prepare
    from geo.risk.config import load_model
    from geo.risk.framework import LEVELS
    from geo.risk.scoring import score

    here = Path(tempfile.gettempdir()) / "riskmap-bench-scale"
    here.mkdir(parents=True, exist_ok=True)
    os.chmod(here, 0o755)
    cluster = EmbeddedCluster(here / "cluster")
    cluster.start()
    pgdata = here / "cluster" / "pgdata"
    name = f"growth_{str(scale).replace('.', '_')}"
    admin = store.connect(cluster.admin_url("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name}")
    admin.close()
    admin = store.connect(cluster.admin_url(name))
    prepare(admin)  # PostGIS, the migrations, the data owned by the application's role
    admin.close()
    url = cluster.app_url(name)
    ensure_national(base, seed, scale, say=print)  # generated before the clock starts
    out: dict = {"scale": scale, "counts": counts_for(scale)}

    conn = store.connect(url)
    store.migrate(conn)
    with Clock(pgdata) as c:
        rows = load_national(conn, base, seed, scale)
    out["features"] = sum(n for kind, n in rows.items() if kind != "area")
    out["import"] = c.figures() | {"rows": rows}
    print(f"  scale {scale:g}: imported {out['features']:,} features in {c.wall:.1f} s", flush=True)

    steps: dict[str, float] = {}
    last = [0.0]

    def progress(step: str, done: int, total: int) -> None:  # called as each step ends
        now = time.perf_counter()
        steps[step] = round(steps.get(step, 0.0) + now - last[0], 2)
        last[0] = now

    with conn.cursor() as cur:
        cur.execute("ANALYZE")
    conn.commit()
    with Clock(pgdata) as c:
        last[0] = time.perf_counter()
        score(conn, load_model(None), AS_OF, full=True, progress=progress)
    out["score"] = c.figures() | {"steps_s": steps}
    print(f"  scale {scale:g}: scored in {c.wall:.1f} s ({steps})", flush=True)

    with conn.cursor() as cur:
        cur.execute("SELECT setseed(0.5)")
        cur.execute("SELECT ST_X(geom), ST_Y(geom) FROM (SELECT ST_PointOnSurface(geom) AS geom FROM venue "
                    "ORDER BY random() LIMIT %s) v", (requests,))
        points = cur.fetchall()
    conn.commit()

    def box(lon: float, lat: float, zoom: int) -> str:
        half_w = 640 * 360 / (256 * 2 ** zoom)
        half_h = 430 * 360 / (256 * 2 ** zoom) * math.cos(math.radians(lat))
        return f"{lon - half_w:.5f},{lat - half_h:.5f},{lon + half_w:.5f},{lat + half_h:.5f}"

    paths = {
        "near (2 km)": lambda lon, lat: f"/risks/near?lon={lon:.6f}&lat={lat:.6f}&radius_m=2000",
        "bbox page (100 enterprises, 0.05°)": lambda lon, lat:
            f"/features?kind=enterprise&bbox={lon - .025:.5f},{lat - .025:.5f},{lon + .025:.5f},{lat + .025:.5f}"
            "&limit=100",
        "map layer (venues of a zoom-13 view)": lambda lon, lat: f"/features?kind=venue&bbox={box(lon, lat, 13)}"
                                                                 "&limit=1000",
        "county zoning (zoom-9 view)": lambda lon, lat: f"/areas?level=county&bbox={box(lon, lat, 9)}&limit=2000",
    }
    serving: dict = {}
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=url))) as client:
        for label, path_of in paths.items():
            for lon, lat in points[:10]:  # warm the caches as a running service's are
                client.get(path_of(lon, lat))
            times, rows = [], []
            for lon, lat in points:
                t = time.perf_counter()
                r = client.get(path_of(lon, lat))
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (label, r.status_code, r.text[:300])
                body = r.json()
                rows.append(len(body.get("features", body.get("results", [])) if isinstance(body, dict) else body))
            serving[label] = {"median_ms": round(statistics.median(times), 2),
                              "p90_ms": round(sorted(times)[int(0.9 * len(times))], 2),
                              "rows_median": statistics.median(rows)}
    out["serving"] = serving

    query = near_query(level_filter=False)
    import h3

    buffers = []
    with conn.cursor() as cur:
        cur.execute("SET jit = off")
        for lon, lat in points[:50]:
            params = {"pt": ewkt_point(lon, lat), "radius": 2000.0, "kinds": list(RISK_KINDS),
                      "levels": list(LEVELS), "min_pos": None, "limit": 100,
                      "h3_cell": h3.latlng_to_cell(lat, lon, 8), "h3_res": 8}
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, params)
            plan = cur.fetchone()[0][0]["Plan"]
            buffers.append(plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0))
    conn.rollback()
    out["near_buffers_median"] = statistics.median(buffers)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        out["database_mb"] = round(cur.fetchone()[0] / 2 ** 20)
    conn.close()
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def exponent(a: float, b: float, na: int, nb: int) -> float:
    return math.log(b / a) / math.log(nb / na) if a > 0 and b > 0 else float("nan")


def report(results: list[dict]) -> None:
    print(f"\n=== growth with the register's size ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
          f"load average {os.getloadavg()[0]:.1f}) ===")
    header = "| figure | " + " | ".join(f"{r['features']:,} features (scale {r['scale']:g})" for r in results)
    header += " | " + " | ".join(f"growth {a['scale']:g} → {b['scale']:g}"
                                 for a, b in zip(results, results[1:], strict=False))
    print(header + " |")
    print("|---" * (1 + len(results) + len(results) - 1) + "|")
    named = []

    def row(label: str, values: list[float], unit: str, limit: float) -> None:
        cells = [f"{v:,.2f} {unit}" for v in values]
        grow = []
        for (a, b), (ra, rb) in zip(zip(values, values[1:], strict=False), zip(results, results[1:], strict=False),
                                       strict=True):
            e = exponent(a, b, ra["features"], rb["features"])
            grow.append(f"n^{e:.2f}" + (" **over**" if e > limit else ""))
            if e > limit:
                named.append(f"{label}: n^{e:.2f} from scale {ra['scale']:g} to {rb['scale']:g}")
        print(f"| {label} | " + " | ".join(cells + grow) + " |")

    row("import, wall", [r["import"]["wall_s"] for r in results], "s", BATCH_LIMIT)
    row("import, CPU (riskmap + PostgreSQL)", [r["import"]["own_cpu_s"] + r["import"]["pg_cpu_s"] for r in results],
        "s", BATCH_LIMIT)
    row("scoring, wall", [r["score"]["wall_s"] for r in results], "s", BATCH_LIMIT)
    row("scoring, CPU (riskmap + PostgreSQL)", [r["score"]["own_cpu_s"] + r["score"]["pg_cpu_s"] for r in results],
        "s", BATCH_LIMIT)
    classes = ("segments", "enterprise", "tailings_pond", "pipeline_segment", "pipeline", "venue")
    row("scoring: the feature classes (in parallel), wall",
        [sum(r["score"]["steps_s"].get(k, 0.0) for k in classes) for r in results], "s", BATCH_LIMIT)
    for step in ("areas", "exposure"):
        row(f"scoring: {step} (with the writes still queued), wall",
            [r["score"]["steps_s"].get(step, 0.0) for r in results], "s", BATCH_LIMIT)
    row("scoring: after the steps (level counts, score history, places for area scope, commit), wall",
        [r["score"]["wall_s"] - sum(r["score"]["steps_s"].values()) for r in results], "s", BATCH_LIMIT)
    for label in results[0]["serving"]:
        row(f"{label}, median", [r["serving"][label]["median_ms"] for r in results], "ms", QUERY_LIMIT)
        if "rows_median" in results[0]["serving"][label]:
            row(f"{label}, rows answered (median)", [r["serving"][label]["rows_median"] for r in results], "",
                float("inf"))
    row("near query, buffers touched (median)", [r["near_buffers_median"] for r in results], "", QUERY_LIMIT)
    row("peak RSS of the process", [r["peak_rss_mb"] for r in results], "MB", BATCH_LIMIT)
    row("database size", [r["database_mb"] for r in results], "MB", BATCH_LIMIT)
    print("\ngrowing faster than they should: " + ("; ".join(named) if named else "none"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="0.016,0.16,1", help="scales of the national set, comma-separated")
    ap.add_argument("--base", type=Path, default=Path(tempfile.gettempdir()) / "riskmap-bench-scale" / "sets")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--requests", type=int, default=200, help="requests of each type per scale")
    ap.add_argument("--one", type=float, help=argparse.SUPPRESS)  # the child's scale
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    if args.one is not None:
        print("RESULT " + json.dumps(one_scale(args.one, args.base, args.seed, args.requests)), flush=True)
        return
    results = []
    for scale in (float(s) for s in args.scales.split(",")):
        print(f"scale {scale:g} ...", flush=True)
        child = subprocess.run([sys.executable, __file__, "--one", str(scale), "--base", str(args.base),
                                "--seed", str(args.seed), "--requests", str(args.requests)],
                               cwd=ROOT, env={**os.environ, "CI": "true"}, stdout=subprocess.PIPE, text=True)
        lines = [ln for ln in child.stdout.splitlines() if ln.startswith("RESULT ")]
        print("\n".join(ln for ln in child.stdout.splitlines() if not ln.startswith("RESULT ")), flush=True)
        if child.returncode or not lines:
            sys.exit(f"scale {scale:g} failed (exit {child.returncode})")
        results.append(json.loads(lines[-1][len("RESULT "):]))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        report(results)


if __name__ == "__main__":
    main()
