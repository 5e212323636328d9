"""Benchmark: GET /exposure of a view sent unthinned, from each cell's kept point (migration 0033) against
building a JSON array per cell.

    RISKMAP_DATA_DIR=/tmp/riskmap-demo riskmap demo --no-serve     # once
    RISKMAP_DATA_DIR=/tmp/riskmap-demo python bench/exposure/unthinned.py [--views 15]
    python bench/exposure/unthinned.py --url postgresql://...       # any scored riskmap database

Views of the main map at zoom 10 (1280 x 860 px, as bench/load asks for the heatmap) centred at random points of the
region that hold no more cells than the map's ``max_points`` (11,008): GET /exposure sends every cell of those
(api/sql/exposure_points.sql with no grid).  Two ways in turn on one connection, ``--repeat`` times: the baseline
(bench/exposure/baseline_exposure_points.sql: json_agg of a json_build_array of numeric-rounded numbers per cell)
and now (the cells' kept point text joined with string_agg).  The parsed documents must be equal.  Printed: the
median time a view of each, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

import psycopg2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from api.routes import sql_text  # noqa: E402
from bench.demo_cluster import database_url  # noqa: E402

VIEW_PX = (1280, 860)
MAX_POINTS = VIEW_PX[0] * VIEW_PX[1] // 100


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="database URL (default: the embedded cluster of RISKMAP_DATA_DIR)")
    ap.add_argument("--views", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    url = database_url(args.url)
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT ST_X(p.geom), ST_Y(p.geom) FROM ST_Dump(ST_GeneratePoints((SELECT ST_Union(geom) FROM area "
                "WHERE level = 'county'), 2000, %s)) p", (args.seed,))
    centres = cur.fetchall()
    rng = random.Random(args.seed)
    views = []
    for _ in range(20 * args.views):
        if len(views) == args.views:
            break
        lon, lat = rng.choice(centres)
        half_w = VIEW_PX[0] / 2 * 360 / (256 * 2**10)
        half_h = VIEW_PX[1] / 2 * 360 / (256 * 2**10) * math.cos(math.radians(lat))
        box = (lon - half_w, lat - half_h, lon + half_w, lat + half_h)
        cur.execute("SELECT count(*) FROM exposure_cell WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", box)
        cells = cur.fetchone()[0]
        if 0 < cells <= MAX_POINTS:
            views.append((box, cells))
    ways = {"baseline (a JSON array per cell)": (HERE / "baseline_exposure_points.sql").read_text(),
            "now (kept point text)": sql_text("exposure_points")}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeat):
        documents = []
        for name, text in ways.items():
            out = []
            t0 = time.perf_counter()
            for box, _ in views:
                cur.execute(text, {**dict(zip(("x0", "y0", "x1", "y1"), box, strict=True)), "grid": 0.0})
                out.append(cur.fetchone()[0])
            times[name].append((time.perf_counter() - t0) / len(views) * 1000)
            documents.append([json.loads(d) for d in out])
        assert documents[0] == documents[1], "the two ways gave different documents"
    base, now = (statistics.median(v) for v in times.values())
    print(f"{len(views)} zoom-10 views of {min(c for _, c in views):,}-{max(c for _, c in views):,} cells, "
          f"{args.repeat} rounds in turn; the same parsed documents")
    for name, v in times.items():
        print(f"  {name:34s} median {statistics.median(v):.1f} ms a view ({', '.join(f'{x:.1f}' for x in v)})")
    print(f"  ratio now / baseline: {now / base:.3f}")


if __name__ == "__main__":
    main()
