"""Benchmark: incremental ``riskmap score`` against ``riskmap score --full`` after scattered changes, at a million
features (issue 13, item 1).

    python bench/rescore/run.py [--sizes 10,1000,10000,100000] [--runs 3] [--points 1000000]

Data: the data set of bench/score (the demo scaled to 1,000,000 point features and 20,000 km of pipelines),
imported into a database of its own, ``riskmap_bench_rescore``, and scored once in full (untimed).

For each size N, ``--runs`` times:
1. N scattered changes: N enterprises drawn at random over the whole region (seeded) are re-imported through
   ``geo.importer.import_file`` (the path of ``riskmap import`` and ``POST /imports``), each moved by up to
   about 50 m with its violations and employees changed.  Untimed.
2. riskmap: ``riskmap score`` (changes only) as a child process: wall time.
3. The scores then stored (every feature's score and level, every area row) are kept.
4. Baseline: ``riskmap score --full`` as a child process on the same data: wall time.
5. Agreement: every score, level and area row of the incremental run equals the full run's (scores to 1e-6),
   and so does every exposure cell (to 1e-6).

Reported per size: the median of each, as the time ``score()`` itself took (what the command prints) and as the
command's wall time (which adds starting Python and importing the libraries, about the same for both), and
the ratios full / incremental (goals: at least 1 for every size, at least 20 for 10 features).  The machine is
shared, so the two alternate run by run and the medians and ratios are the figures to quote.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BENCH_DB = "riskmap_bench_rescore"


def bench_score_module():
    spec = importlib.util.spec_from_file_location("bench_score", ROOT / "bench" / "score" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scattered_changes(conn, n: int, rng: np.random.Generator, folder: Path) -> Path:
    """A GeoPackage of ``n`` enterprises drawn at random, each moved by up to ~50 m, with changed register
    counts: what a bureau's re-import of corrected records looks like."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    with conn.cursor() as cur:
        cur.execute("SELECT max(id) FROM enterprise")
        top = cur.fetchone()[0]
    picked = rng.choice(np.arange(1, top + 1), size=min(n * 2, top), replace=False)
    with conn.cursor() as cur:
        cur.execute("SELECT source_id, name, industry, coalesce(employees, 0), coalesce(violations_12m, 0), "
                    "ST_X(geom), ST_Y(geom) FROM enterprise WHERE id = ANY(%s) "
                    "AND GeometryType(geom) = 'POINT' LIMIT %s", (picked.tolist(), n))
        rows = cur.fetchall()
    conn.rollback()
    frame = pd.DataFrame(rows, columns=["source_id", "name", "industry", "employees", "violations_12m", "lon", "lat"])
    frame["employees"] = (frame["employees"] + rng.integers(1, 50, len(frame))).astype("int64")
    frame["violations_12m"] = ((frame["violations_12m"] + rng.integers(1, 3, len(frame))) % 6).astype("int64")
    lon = frame.pop("lon").to_numpy(float) + rng.uniform(-4.5e-4, 4.5e-4, len(frame))
    lat = frame.pop("lat").to_numpy(float) + rng.uniform(-4.5e-4, 4.5e-4, len(frame))
    gdf = gpd.GeoDataFrame(frame, geometry=shapely.points(lon, lat), crs=4326)
    path = folder / f"changes-{n}.gpkg"
    path.unlink(missing_ok=True)
    gdf.to_file(path, driver="GPKG", layer="enterprise", engine="pyogrio")
    return path


def snapshot(conn) -> dict:
    """Every stored score and area row, for comparing two runs."""
    with conn.cursor() as cur:
        # (segments by pipeline and sequence: a full run re-cuts them, with new ids)
        cur.execute("SELECT r.kind, coalesce(g.pipeline_id || ':' || g.seq, r.feature_id::text), "
                    "round(r.score::numeric, 6), r.level, r.factors::text FROM feature_risk r "
                    "LEFT JOIN pipeline_segment g ON r.kind = 'pipeline_segment' AND g.id = r.feature_id "
                    "ORDER BY 1, 2")
        features = cur.fetchall()
        cur.execute("SELECT area_type, area_id, round(score::numeric, 6), level, counts::text, features, "
                    "round(population_exposed::numeric, 3) FROM area_risk ORDER BY 1, 2")
        areas = cur.fetchall()
        cur.execute("SELECT cell, value FROM exposure_cell ORDER BY 1")
        exposure = cur.fetchall()
    conn.rollback()
    return {"features": features, "areas": areas, "exposure": exposure}


def differences(a: dict, b: dict) -> list[str]:
    out = []
    if a["features"] != b["features"]:
        fa, fb = dict(((k, i), r) for k, i, *r in a["features"]), dict(((k, i), r) for k, i, *r in b["features"])
        diff = [key for key in fa.keys() | fb.keys() if fa.get(key) != fb.get(key)]
        out.append(f"{len(diff)} feature scores differ, e.g. {sorted(diff)[:3]}: "
                   f"{[fa.get(k) for k in sorted(diff)[:1]]} vs {[fb.get(k) for k in sorted(diff)[:1]]}")
    if a["areas"] != b["areas"]:
        aa, ab = {(t, i): r for t, i, *r in a["areas"]}, {(t, i): r for t, i, *r in b["areas"]}
        diff = [key for key in aa.keys() | ab.keys() if aa.get(key) != ab.get(key)]
        out.append(f"{len(diff)} area rows differ, e.g. {sorted(diff)[:3]}")
    if a["exposure"] != b["exposure"]:  # (as lists; the cells are compared below)
        # to 1e-6: the FFT's rounding differs with the grid's size (a full run's grid spans the data, an
        # incremental run's the surroundings of the changes), by about 1e-8 where a cell holds thousands
        ea, eb = dict(a["exposure"]), dict(b["exposure"])
        diff = sorted(c for c in ea.keys() | eb.keys()
                      if c not in ea or c not in eb or abs(ea[c] - eb[c]) > 1e-6)
        if diff:
            out.append(f"{len(diff)} of {len(eb)} exposure cells differ by more than 1e-6, e.g. "
                       f"{[(c, ea.get(c), eb.get(c)) for c in diff[:3]]}")
    return out


def score_seconds(line: str) -> float:
    """The time score() itself took, as the command prints it ("scored (changes only, 1.2 s): ...")."""
    return float(re.search(r"scored \([^,]+, ([0-9.]+) s\)", line).group(1))


def timed(cmd: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, next((ln.strip() for ln in proc.stdout.splitlines() if ln.startswith("scored")), "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10,1000,10000,100000", help="numbers of changed features, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "riskmap-bench-score")
    args = ap.parse_args()

    from api.database import database_url
    from api.settings import Settings
    from geo import store
    from geo.importer import import_file

    sb = bench_score_module()
    scale = args.points / sb.DEMO_POINTS
    tag = sb.dataset_tag(20261129, scale, 20_000.0)
    sb.build_data(args.data / tag, 20261129, scale, 20_000.0)
    url = sb.prepare_database(database_url(Settings()), args.data / tag, tag, reuse=True, name=BENCH_DB)
    env = dict(os.environ, RISKMAP_DATABASE_URL=url)
    env.pop("RISKMAP_RISK_MODEL", None)
    cli = [sys.executable, "-m", "api.cli", "score"]
    conn = store.connect(url)
    t, line = timed([*cli, "--full"], env)  # a clean start: scores of this code, nothing pending
    print(f"first full scoring (untimed): {t:.1f} s | {line}", flush=True)

    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="riskmap-bench-rescore-"))
    results = {}
    for n in [int(s) for s in args.sizes.split(",")]:
        inc, full, inc_in, full_in = [], [], [], []
        for run in range(args.runs):
            path = scattered_changes(conn, n, rng, work)
            t = time.perf_counter()
            import_file(conn, path, "enterprise")
            t_import = time.perf_counter() - t
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM risk_dirty")
                dirty = cur.fetchone()[0]
                cur.execute("VACUUM ANALYZE enterprise")
            conn.autocommit = False
            t_inc, line_inc = timed(cli, env)
            after_inc = snapshot(conn)
            t_full, line_full = timed([*cli, "--full"], env)
            diff = differences(after_inc, snapshot(conn))
            inc.append(t_inc)
            full.append(t_full)
            inc_in.append(score_seconds(line_inc))
            full_in.append(score_seconds(line_full))
            print(f"{n:>7,} changes, run {run + 1}: import {t_import:.1f} s ({dirty} dirty rows); incremental "
                  f"{t_inc:.1f} s | {line_inc}; full {t_full:.1f} s | score() {full_in[-1]:.1f} s; ratio "
                  f"(score()) {full_in[-1] / inc_in[-1]:.2f}, (command) {t_full / t_inc:.2f}; agreement: "
                  f"{'identical' if not diff else '; '.join(diff)}", flush=True)
        results[n] = [statistics.median(v) for v in (inc_in, full_in, inc, full)]
    print("\nsize | incremental score() | full score() | ratio | incremental command | full command | ratio")
    for n, (i, f, ic, fc) in results.items():
        print(f"{n:>7,} | {i:.1f} s | {f:.1f} s | {f / i:.1f} | {ic:.1f} s | {fc:.1f} s | {fc / ic:.1f}")
    print(json.dumps({str(n): dict(zip(("incremental_score_s", "full_score_s", "incremental_command_s",
                                        "full_command_s"), v, strict=True)) for n, v in results.items()}))


if __name__ == "__main__":
    main()
