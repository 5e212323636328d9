"""Benchmark: `riskmap import` of one million enterprise points from a GeoPackage against
`ogr2ogr -f PostgreSQL` with PG_USE_COPY=YES into the same PostGIS server (issue 2).

    python bench/import/run.py [--rows 1000000] [--runs 3] [--keep]

Both tools run as separate processes on the same file, alternating, several runs each; the script prints the
median wall time of each, the ratio riskmap / ogr2ogr (goal: <= 1.0) and riskmap's peak resident memory (goal:
under 1 GB).  riskmap validates every row and loads into its constrained, indexed feature table (emptied before
each run: the insert path); ogr2ogr creates a plain table with a GiST index.  The database is the embedded
cluster (or RISKMAP_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg2
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.database import database_url  # noqa: E402
from api.settings import Settings  # noqa: E402
from geo import store  # noqa: E402

INDUSTRIES = ["hazardous_chemicals", "metallurgy", "mining", "machinery", "light_industry", "logistics", "other"]


def make_gpkg(path: Path, rows: int, seed: int = 1) -> None:
    """Enterprise points spread over Hebei with typical register attributes."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(113.5, 119.8, rows)
    lat = rng.uniform(36.1, 42.6, rows)
    frame = gpd.GeoDataFrame(
        {
            "source_id": [f"B{i:07d}" for i in range(rows)],
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


def timed(cmd: list[str], env: dict) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed: {stderr}")
    return elapsed, usage.ru_maxrss * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "riskmap-bench-import")
    args = ap.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    gpkg = args.data / f"enterprises-{args.rows}.gpkg"
    if not gpkg.exists():
        print(f"writing {gpkg} ...", flush=True)
        make_gpkg(gpkg, args.rows)
    settings = Settings()
    url = database_url(settings)
    conn = store.connect(url)
    store.migrate(conn)
    conn.autocommit = True
    env = dict(os.environ, RISKMAP_DATABASE_URL=url, PG_USE_COPY="YES")
    pg = psycopg2.extensions.parse_dsn(url)
    ogr_dsn = (f"PG:host={pg['host']} port={pg['port']} dbname={pg['dbname']} user={pg['user']} "
               f"password={pg['password']}")
    riskmap = [sys.executable, "-m", "api.cli", "import", str(gpkg), "--kind", "enterprise"]
    ogr = ["ogr2ogr", "-f", "PostgreSQL", ogr_dsn, str(gpkg), "enterprise", "-nln", "bench_ogr2ogr",
           "-overwrite", "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST", "-gt", "65536"]
    results: dict[str, list[float]] = {"riskmap": [], "ogr2ogr": []}
    peak = []
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
            print(f"run {run + 1}: riskmap {results['riskmap'][-1]:.1f} s (peak {rss / 2**20:.0f} MiB), "
                  f"ogr2ogr {results['ogr2ogr'][-1]:.1f} s", flush=True)
        # the update path: the same ids again
        t_up, rss_up = timed(riskmap, env)
        cur.execute("DROP TABLE IF EXISTS bench_ogr2ogr")
        cur.execute("TRUNCATE enterprise")
    med_rm = statistics.median(results["riskmap"])
    med_ogr = statistics.median(results["ogr2ogr"])
    print(f"\nrows: {args.rows}, runs: {args.runs}")
    print(f"riskmap import (validating, insert): median {med_rm:.1f} s ({args.rows / med_rm:,.0f} rows/s)")
    print(f"ogr2ogr PG_USE_COPY=YES:             median {med_ogr:.1f} s ({args.rows / med_ogr:,.0f} rows/s)")
    print(f"ratio riskmap / ogr2ogr: {med_rm / med_ogr:.2f}  (goal <= 1.0)")
    print(f"riskmap peak memory: {max(peak) / 2**20:.0f} MiB  (goal < 1024 MiB)")
    print(f"riskmap re-import of the same ids (update path): {t_up:.1f} s, peak {rss_up / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
