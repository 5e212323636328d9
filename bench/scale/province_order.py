"""Benchmark: the feature tables stored province by province (`riskmap db cluster`, issue 18 item 4).

    python bench/scale/province_order.py [--scale 0.016] [--base DIR] [--requests 200] [--repeats 3]

On a fresh database of the bench's own embedded cluster ($TMPDIR/riskmap-bench-scale/cluster, as growth.py), the
national set at ``--scale`` (generated once under ``--base``, not timed) imported through the ordinary importer and
scored (a full run), then measured before and after the step:

- bench/scale/province_pages.sql, through psql, for enterprise, tailings_pond, venue and settlement: the heap pages
  a query kept to a county reads (40 counties drawn at random, the same each time) and how many of them also hold a
  row of another province;
- the near query (2 km) and the bbox page (100 enterprises in a 0.05° box) over HTTP, in process, one client,
  ``--requests`` of each at random venues (which follow the population, as users' views do), medians after a warm-up;
  and the buffers each touches (EXPLAIN (ANALYZE, BUFFERS) of the endpoints' SQL at the first 50 points), which the
  machine's load cannot move;
- the step itself (``geo.province_order.rewrite_by_province`` on every table), ``--repeats`` times: the first on the
  tables as imported, the others on tables already in that order (the same work: every row is placed, copied and
  indexed again); each table's seconds and the median of the runs.

Baseline: the same database before the step, in the same run.  Wall times move with the machine's load; the
pages and buffers do not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2026, 11, 29)
KINDS = ("enterprise", "tailings_pond", "venue", "settlement")


def psql_row(url: str, psql: Path, script: str, kind: str) -> list[str]:
    """The last row the psql script ``script`` (of bench/scale) prints for ``kind``."""
    run = subprocess.run([str(psql), url, "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
                          "-v", f"kind={kind}", "-f", str(ROOT / "bench/scale" / script)],
                         capture_output=True, text=True, check=True)
    return [ln for ln in run.stdout.splitlines() if ln.strip()][-1].split("|")


def province_pages(url: str, psql: Path, boundaries: bool = False) -> dict[str, dict]:
    """bench/scale/province_pages.sql for each of ``KINDS``: its one row of figures; with ``boundaries`` also
    province_pages_boundaries.sql's."""
    out = {}
    for kind in KINDS:
        last = psql_row(url, psql, "province_pages.sql", kind)
        out[kind] = {"counties": int(last[1]), "pages": int(last[2]), "mixed": int(last[3] or 0),
                     "percent": float(last[4] or 0), "counties_mixed": int(last[5])}
        if boundaries:
            why = psql_row(url, psql, "province_pages_boundaries.sql", kind)
            out[kind] |= {"run_boundary": int(why[2]), "border_row": int(why[3]), "other": int(why[4])}
    return out


def box(lon: float, lat: float, zoom: int) -> tuple[float, float, float, float]:
    """The box of a 1280 × 860 px view at ``zoom`` centred on the point (as growth.py)."""
    half_w = 640 * 360 / (256 * 2 ** zoom)
    half_h = 430 * 360 / (256 * 2 ** zoom) * math.cos(math.radians(lat))
    return lon - half_w, lat - half_h, lon + half_w, lat + half_h


def serving(url: str, conn, points: list[tuple[float, float]]) -> dict[str, dict]:
    """Medians of the near query and the bbox page over HTTP, and of the buffers their SQL touches."""
    import h3
    from fastapi.testclient import TestClient
    from psycopg2 import sql

    from api.app import create_app
    from api.routes import RISK_KINDS, ewkt_point, sql_text
    from api.routes.features import PAGE_PROPERTIES
    from api.routes.near import near_query
    from api.settings import Settings
    from geo.risk.framework import LEVELS

    paths = {
        "near (2 km)": lambda lon, lat: f"/risks/near?lon={lon:.6f}&lat={lat:.6f}&radius_m=2000",
        "bbox page (100 enterprises, 0.05°)": lambda lon, lat:
            f"/features?kind=enterprise&bbox={lon - .025:.5f},{lat - .025:.5f},{lon + .025:.5f},{lat + .025:.5f}"
            "&limit=100",
        "map layer (venues of a zoom-13 view)": lambda lon, lat:
            "/features?kind=venue&bbox=" + ",".join(f"{v:.5f}" for v in box(lon, lat, 13)) + "&limit=1000",
    }
    out: dict = {}
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
                rows.append(len(r.json().get("features", [])))
            out[label] = {"median_ms": round(statistics.median(times), 2), "rows_median": statistics.median(rows)}

    near = near_query(level_filter=False)

    def page(kind: str) -> sql.Composed:
        extra = sql.SQL("").join(sql.SQL(", {}, f.{}").format(sql.Literal(c), sql.Identifier(c))
                                 for c in PAGE_PROPERTIES.get(kind, ()))
        return sql.SQL(sql_text("features_page")).format(table=sql.Identifier(kind), extra=extra)

    def page_params(kind: str, x0: float, y0: float, x1: float, y1: float, limit: int) -> dict:
        return {"kind": kind, "after": None, "nobox": False, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "levels": None,
                "limit": limit}

    buffers: dict[str, list[int]] = {label: [] for label in paths}
    with conn.cursor() as cur:
        cur.execute("SET jit = off")
        enterprises, venues = page("enterprise").as_string(cur), page("venue").as_string(cur)
        for lon, lat in points[:50]:
            params = {"pt": ewkt_point(lon, lat), "radius": 2000.0, "kinds": list(RISK_KINDS),
                      "levels": list(LEVELS), "min_pos": None, "limit": 100,
                      "h3_cell": h3.latlng_to_cell(lat, lon, 8), "h3_res": 8}
            for label, query, p in (
                    ("near (2 km)", near, params),
                    ("bbox page (100 enterprises, 0.05°)", enterprises,
                     page_params("enterprise", lon - .025, lat - .025, lon + .025, lat + .025, 100)),
                    ("map layer (venues of a zoom-13 view)", venues, page_params("venue", *box(lon, lat, 13), 1000))):
                cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, p)
                plan = cur.fetchone()[0][0]["Plan"]
                buffers[label].append(plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0))
    conn.rollback()
    for label, values in buffers.items():
        out[label]["buffers_median"] = statistics.median(values)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.016)
    ap.add_argument("--base", type=Path, default=Path(tempfile.gettempdir()) / "riskmap-bench-scale" / "sets")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--requests", type=int, default=200, help="requests of each type, before and after")
    ap.add_argument("--repeats", type=int, default=3, help="runs of the step (the median is reported)")
    args = ap.parse_args()

    from data.national.loader import ensure_national, load_national
    from geo import store
    from geo.embedded import EmbeddedCluster, find_binaries, prepare
    from geo.province_order import TABLES, rewrite_by_province
    from geo.risk.config import load_model
    from geo.risk.scoring import score

    here = Path(tempfile.gettempdir()) / "riskmap-bench-scale"
    here.mkdir(parents=True, exist_ok=True)
    os.chmod(here, 0o755)
    cluster = EmbeddedCluster(here / "cluster")
    cluster.start()
    name = f"province_order_{str(args.scale).replace('.', '_')}"
    admin = store.connect(cluster.admin_url("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name}")
    admin.close()
    admin = store.connect(cluster.admin_url(name))
    prepare(admin)
    admin.close()
    url = cluster.app_url(name)
    psql = find_binaries().bindir / "psql"
    ensure_national(args.base, args.seed, args.scale, say=print)

    conn = store.connect(url)
    t = time.perf_counter()
    rows = load_national(conn, args.base, args.seed, args.scale)
    print(f"imported {sum(n for k, n in rows.items() if k != 'area'):,} features in {time.perf_counter() - t:.1f} s",
          flush=True)
    with conn.cursor() as cur:
        cur.execute("ANALYZE")
    conn.commit()
    t = time.perf_counter()
    score(conn, load_model(None), AS_OF, full=True)
    print(f"scored in {time.perf_counter() - t:.1f} s", flush=True)
    with conn.cursor() as cur:
        cur.execute("SELECT setseed(0.5)")
        cur.execute("SELECT ST_X(geom), ST_Y(geom) FROM (SELECT ST_PointOnSurface(geom) AS geom FROM venue "
                    "ORDER BY random() LIMIT %s) v", (args.requests,))
        points = cur.fetchall()
        cur.execute("SELECT t, pg_relation_size(t::regclass) / current_setting('block_size')::bigint "
                    "FROM unnest(%s::text[]) t", (list(TABLES),))
        pages_before = dict(cur.fetchall())
    conn.commit()

    before = {"pages": province_pages(url, psql), "serving": serving(url, conn, points)}
    print("before:", before, flush=True)
    runs = []
    for i in range(args.repeats):
        t = time.perf_counter()
        done = rewrite_by_province(conn)
        runs.append({"total": time.perf_counter() - t, **{r.table: r for r in done}})
        print(f"step run {i + 1}: {runs[-1]['total']:.1f} s; "
              + "; ".join(f"{r.describe()} ({r.placed_here:,} placed here)" for r in done), flush=True)
    after = {"pages": province_pages(url, psql, boundaries=True), "serving": serving(url, conn, points)}
    print("after:", after, flush=True)
    conn.close()

    stamp = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}"
    print(f"\n=== the feature tables stored province by province, national set at scale {args.scale:g} ({stamp}) ===")
    print("| table | rows | counties with rows | pages read, before → after | pages also holding another "
          "province, before → after | counties reading another province, before → after | after: where one "
          "province's run ends and the next begins / holding a row on a border / other |")
    print("|---|---|---|---|---|---|---|")
    for kind in KINDS:
        b, a = before["pages"][kind], after["pages"][kind]
        print(f"| {kind} | {runs[0][kind].rows:,} | {a['counties']} | {b['pages']:,} → {a['pages']:,} | "
              f"{b['mixed']:,} ({b['percent']:.1f} %) → {a['mixed']:,} ({a['percent']:.1f} %) | "
              f"{b['counties_mixed']} → {a['counties_mixed']} | {a['run_boundary']} / {a['border_row']} / "
              f"{a['other']} |")
    print("\n| request | median before | median after | buffers before | buffers after | rows (median) |")
    print("|---|---|---|---|---|---|")
    for label in before["serving"]:
        b, a = before["serving"][label], after["serving"][label]
        print(f"| {label} | {b['median_ms']:.2f} ms | {a['median_ms']:.2f} ms | {b['buffers_median']:g} | "
              f"{a['buffers_median']:g} | {a['rows_median']:g} |")
    print(f"\n| table | rows | heap pages before → after | step, run 1..{args.repeats} | median |")
    print("|---|---|---|---|---|")
    for table in TABLES:
        secs = [r[table].seconds for r in runs]
        print(f"| {table} | {runs[0][table].rows:,} | {pages_before.get(table, 0):,} → {runs[-1][table].pages:,} | "
              + ", ".join(f"{s:.1f} s" for s in secs) + f" | {statistics.median(secs):.1f} s |")
    totals = [r["total"] for r in runs]
    print("| **all** | | | " + ", ".join(f"{s:.1f} s" for s in totals) + f" | {statistics.median(totals):.1f} s |")


if __name__ == "__main__":
    main()
