"""Benchmark: `riskmap import` of one million enterprise points from a GeoPackage against
`ogr2ogr -f PostgreSQL` with PG_USE_COPY=YES into the same PostGIS server (issue 2); and how long single reads
of the table wait while a bulk import runs (issue 13).

    python bench/import/run.py [--rows 1000000] [--runs 3]
    python bench/import/run.py --reader-latency [--rows 500000] [--riskmap-root /path/to/another/checkout]

Both tools run as separate processes on the same file, alternating, several runs each; the script prints the
median wall time of each, the ratio riskmap / ogr2ogr (goal: <= 1.0) and riskmap's peak resident memory (goal:
under 1 GB).  riskmap validates every row and loads into its constrained, indexed feature table (emptied before
each run: the insert path); ogr2ogr creates a plain table with a GiST index.  The database is the embedded
cluster (or RISKMAP_DATABASE_URL).

Peak memory is the child's maximum resident set size from wait4.  Linux carries the parent's own high-water
mark into a child it spawns (the child starts as a copy of it), so the files are written by a separate process
and this script stays small; it checks that its own peak is far below the figure it reports.

--reader-latency loads the 1,000,000-row file, then imports ``--rows`` new enterprises (other ids) while
another connection times single reads of the table one after another: a page of ``/features`` (a box, in id
order) and a ``/risks/near``-style nearest-100 query.  It prints the median and the maximum of each, and the
same with no import running.  ``--riskmap-root`` runs the import of another checkout (e.g. the code before a
change) against the same data.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.database import database_url  # noqa: E402
from api.settings import Settings  # noqa: E402
from geo import store  # noqa: E402

INDUSTRIES = ["hazardous_chemicals", "metallurgy", "mining", "machinery", "light_industry", "logistics", "other"]


def make_gpkg(path: Path, rows: int, seed: int = 1, prefix: str = "B") -> None:
    """Enterprise points spread over Hebei with typical register attributes."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    rng = np.random.default_rng(seed)
    lon = rng.uniform(113.5, 119.8, rows)
    lat = rng.uniform(36.1, 42.6, rows)
    frame = gpd.GeoDataFrame(
        {
            "source_id": [f"{prefix}{i:07d}" for i in range(rows)],
            "name": [f"企业{i}" for i in range(rows)],
            "industry": rng.choice(INDUSTRIES, rows),
            "employees": rng.integers(1, 5000, rows),
            "violations_12m": rng.poisson(0.7, rows),
            "status": rng.choice(["operating", "suspended"], rows, p=[0.95, 0.05]),
            "last_inspection": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), "D"),
        },
        geometry=shapely.points(lon, lat),
        crs="EPSG:4326",
    )
    frame["last_inspection"] = frame["last_inspection"].dt.strftime("%Y-%m-%d")
    frame.to_file(path, driver="GPKG", layer="enterprise", engine="pyogrio", use_arrow=True)


def data_file(folder: Path, rows: int, prefix: str = "B") -> Path:
    """The GeoPackage of ``rows`` enterprises with ids ``prefix0000000``..., written by a child process."""
    path = folder / (f"enterprises-{rows}.gpkg" if prefix == "B" else f"enterprises-{prefix}-{rows}.gpkg")
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        subprocess.run([sys.executable, __file__, "--write", str(path), "--rows", str(rows), "--prefix", prefix],
                       check=True)
    return path


def own_peak() -> int:
    """This process's own peak resident memory, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def timed(cmd: list[str], env: dict, cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed: {stderr}")
    return elapsed, usage.ru_maxrss * 1024


FEATURES_PAGE = ("SELECT id, source_id, ST_AsGeoJSON(geom) FROM enterprise "
                 "WHERE geom && ST_MakeEnvelope(%s, %s, %s + 0.05, %s + 0.05, 4326) ORDER BY id LIMIT 100")
NEAREST = ("SELECT id, source_id, ST_Distance(geom::geography, p::geography) FROM enterprise, "
           "ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS p ORDER BY geom <-> p LIMIT 100")


def read_once(cur, rng, timings: dict[str, list[float]]) -> None:
    """One /features-style page and one nearest-100 query at a random place in Hebei, each timed."""
    x, y = 113.5 + 6.2 * rng.random(), 36.1 + 6.4 * rng.random()
    for name, query, params in (("features", FEATURES_PAGE, (x, y, x, y)), ("near", NEAREST, (x, y))):
        t0 = time.perf_counter()
        cur.execute(query, params)
        cur.fetchall()
        timings[name].append(time.perf_counter() - t0)


def summary(timings: dict[str, list[float]]) -> str:
    return ", ".join(f"{k}: n {len(v)}, median {1000 * statistics.median(v):.1f} ms, max {1000 * max(v):.0f} ms"
                     for k, v in timings.items())


def reader_latency(args, url: str, conn, env: dict) -> None:
    """Single reads of the table while ``args.rows`` new enterprises are imported into its 1,000,000."""
    import random

    base = data_file(args.data, 1_000_000)
    extra = data_file(args.data, args.rows, prefix="N")
    root = args.riskmap_root or Path(__file__).resolve().parents[2]
    child_env = dict(env, PYTHONPATH=str(root))
    reader = psycopg2.connect(url)
    reader.autocommit = True
    rng = random.Random(7)
    with conn.cursor() as cur, reader.cursor() as rcur:
        for run in range(args.runs):
            cur.execute("TRUNCATE enterprise")
            timed([sys.executable, "-m", "api.cli", "import", str(base), "--kind", "enterprise", "--no-score"], env)
            cur.execute("VACUUM ANALYZE enterprise")
            cur.execute("CHECKPOINT")
            idle: dict[str, list[float]] = {"features": [], "near": []}
            for _ in range(200):
                read_once(rcur, rng, idle)
            busy: dict[str, list[float]] = {"features": [], "near": []}
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "api.cli", "import", str(extra), "--kind", "enterprise",
                                     "--no-score"],
                                    env=child_env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            while proc.poll() is None:
                read_once(rcur, rng, busy)
            elapsed = time.perf_counter() - t0
            if proc.returncode != 0:
                raise SystemExit(f"import failed: {proc.stderr.read().decode()}")
            cur.execute("SELECT count(*) FROM enterprise")
            assert cur.fetchone()[0] == 1_000_000 + args.rows
            print(f"run {run + 1} ({root}): import of {args.rows} into 1,000,000 took {elapsed:.1f} s", flush=True)
            print(f"  reads while importing: {summary(busy)}")
            print(f"  reads with no import:  {summary(idle)}", flush=True)
        cur.execute("TRUNCATE enterprise")
    reader.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=None, help="1,000,000; with --reader-latency 500,000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "riskmap-bench-import")
    ap.add_argument("--reader-latency", action="store_true")
    ap.add_argument("--riskmap-root", type=Path, default=None, help="the checkout whose import --reader-latency "
                                                                       "times (default: this one)")
    ap.add_argument("--compare-root", type=Path, default=None, help="also time the import of another checkout "
                                                                       "(e.g. the code before a change), paired")
    ap.add_argument("--skip-update", action="store_true", help="do not time the re-import of the same ids")
    ap.add_argument("--write", type=Path, default=None, help=argparse.SUPPRESS)  # the child that writes a file
    ap.add_argument("--prefix", default="B", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write:
        make_gpkg(args.write, args.rows, prefix=args.prefix)
        return
    args.rows = args.rows or (500_000 if args.reader_latency else 1_000_000)
    args.data.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    url = database_url(settings)
    conn = store.connect(url)
    store.migrate(conn)
    conn.autocommit = True
    env = dict(os.environ, RISKMAP_DATABASE_URL=url, PG_USE_COPY="YES")
    if args.reader_latency:
        reader_latency(args, url, conn, env)
        return
    gpkg = data_file(args.data, args.rows)
    pg = psycopg2.extensions.parse_dsn(url)
    ogr_dsn = (f"PG:host={pg['host']} port={pg['port']} dbname={pg['dbname']} user={pg['user']} "
               f"password={pg['password']}")
    riskmap = [sys.executable, "-m", "api.cli", "import", str(gpkg), "--kind", "enterprise", "--no-score"]
    ogr = ["ogr2ogr", "-f", "PostgreSQL", ogr_dsn, str(gpkg), "enterprise", "-nln", "bench_ogr2ogr",
           "-overwrite", "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST", "-gt", "65536"]
    results: dict[str, list[float]] = {"riskmap": [], "ogr2ogr": [], "compared": []}
    peak, peak_compared = [], []
    compare_env = dict(env, PYTHONPATH=str(args.compare_root)) if args.compare_root else None
    with conn.cursor() as cur:
        for run in range(args.runs):
            cur.execute("TRUNCATE enterprise")
            cur.execute("DROP TABLE IF EXISTS bench_ogr2ogr")
            cur.execute("CHECKPOINT")
            t, rss = timed(riskmap, env)
            results["riskmap"].append(t)
            peak.append(rss)
            cur.execute("CHECKPOINT")
            t, _ = timed(ogr, env)
            results["ogr2ogr"].append(t)
            cur.execute("SELECT (SELECT count(*) FROM enterprise), (SELECT count(*) FROM bench_ogr2ogr)")
            n_rm, n_ogr = cur.fetchone()
            assert n_rm == n_ogr == args.rows, (n_rm, n_ogr)
            line = (f"run {run + 1}: riskmap {results['riskmap'][-1]:.1f} s (peak {rss / 2**20:.0f} MiB), "
                    f"ogr2ogr {results['ogr2ogr'][-1]:.1f} s")
            if compare_env:
                cur.execute("TRUNCATE enterprise")
                cur.execute("CHECKPOINT")
                t, rss = timed(riskmap, compare_env, cwd=args.compare_root)
                results["compared"].append(t)
                peak_compared.append(rss)
                line += f", {args.compare_root} {t:.1f} s (peak {rss / 2**20:.0f} MiB)"
            print(line, flush=True)
        if not args.skip_update:  # the update path: the same ids again
            t_up, rss_up = timed(riskmap, env)
        cur.execute("DROP TABLE IF EXISTS bench_ogr2ogr")
        cur.execute("TRUNCATE enterprise")
    med_rm = statistics.median(results["riskmap"])
    med_ogr = statistics.median(results["ogr2ogr"])
    print(f"\nrows: {args.rows}, runs: {args.runs}")
    print(f"riskmap import (validating, insert): median {med_rm:.1f} s ({args.rows / med_rm:,.0f} rows/s)")
    print(f"ogr2ogr PG_USE_COPY=YES:             median {med_ogr:.1f} s ({args.rows / med_ogr:,.0f} rows/s)")
    print(f"ratio riskmap / ogr2ogr: {med_rm / med_ogr:.2f}  (goal <= 1.0)")
    print(f"riskmap peak memory: {max(peak) / 2**20:.0f} MiB  (goal < 1024 MiB); "
          f"each run's: {', '.join(f'{p / 2**20:.0f}' for p in peak)} MiB")
    if compare_env:
        med_c = statistics.median(results["compared"])
        print(f"{args.compare_root}: median {med_c:.1f} s, ratio to ogr2ogr {med_c / med_ogr:.2f}, "
              f"this checkout / that one {med_rm / med_c:.2f}; peak {max(peak_compared) / 2**20:.0f} MiB")
    if own_peak() > 0.5 * min(peak):
        print(f"warning: this script's own peak ({own_peak() / 2**20:.0f} MiB) is close to the figures above, "
              "which may then be its own rather than riskmap's")
    if not args.skip_update:
        print(f"riskmap re-import of the same ids (update path): {t_up:.1f} s, peak {rss_up / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
