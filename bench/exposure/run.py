"""Benchmark: GET /exposure's query with the kept squares (migration 0024) against grouping every cell per request.

    RISKMAP_DATA_DIR=/tmp/riskmap-demo riskmap demo --no-serve     # once
    RISKMAP_DATA_DIR=/tmp/riskmap-demo python bench/exposure/run.py [--runs 30]
    python bench/exposure/run.py --url postgresql://...              # any scored riskmap database

For the views the main map asks for (a 1280 x 860 window at zooms 8 to 12, centred at random points of the
region, a point per 10 x 10 pixels: ``max_points`` 11,008), the database work of one GET /exposure, done two ways
in turn on the same connection:

- baseline, "every cell": what the route did before migration 0024 (and still does for a user limited to areas):
  count the cells in the box, then, when there are more than ``max_points``, group every cell of the box on a grid
  of sqrt(box area / max_points) degrees in exposure_points.sql;
- "kept squares": the route now (api/routes/exposure.py ``kept_squares_answer``): the count from the kept squares
  and the cells along the box's edges (exposure_grid_count.sql; a plain count when the squares would be a cell or
  two), then the squares inside the box with the edge cells grouped on the smallest ladder size of at least that
  grid (exposure_grid_points.sql), or every cell when they fit.

Reported per zoom: the median time of each (execute and fetch), their ratio, and the points returned.  The two
answers differ only in their grid (the baseline's is between the ladder's sizes), so the bench also checks, for
each view, that the kept squares' answer equals exposure_points.sql at the ladder size (the test suite checks the
same over random boxes: tests/api/test_exposure.py).
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from api.routes import sql_text  # noqa: E402
from api.routes.exposure import kept_squares_answer  # noqa: E402
from bench.demo_cluster import database_url  # noqa: E402
from geo.risk.config import load_model  # noqa: E402

VIEW_PX = (1280, 860)
MAX_POINTS = VIEW_PX[0] * VIEW_PX[1] // 100
CELL_M = float(load_model()["exposure"]["cell_m"])


def view(lon: float, lat: float, zoom: int) -> tuple[float, float, float, float]:
    half_w = VIEW_PX[0] / 2 * 360 / (256 * 2**zoom)
    half_h = VIEW_PX[1] / 2 * 360 / (256 * 2**zoom) * math.cos(math.radians(lat))
    return lon - half_w, lat - half_h, lon + half_w, lat + half_h


def every_cell(cur, box) -> str:
    x0, y0, x1, y1 = box
    cur.execute("SELECT count(*) FROM exposure_cell WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", box)
    grid = math.sqrt((x1 - x0) * (y1 - y0) / MAX_POINTS) if cur.fetchone()[0] > MAX_POINTS else 0.0
    cur.execute(sql_text("exposure_points"), {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "grid": grid})
    return cur.fetchone()[0]


def kept_squares(cur, box) -> str:
    return kept_squares_answer(cur, box, MAX_POINTS, CELL_M)


def same_points(a: dict, b: dict) -> bool:
    return sorted(map(tuple, a["points"])) == sorted(map(tuple, b["points"])) and a["max"] == b["max"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="database URL (default: the embedded cluster of RISKMAP_DATA_DIR)")
    ap.add_argument("--runs", type=int, default=30, help="views per zoom")
    ap.add_argument("--seed", type=int, default=20261204)
    args = ap.parse_args()
    url = database_url(args.url)
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT count(*), ST_XMin(ST_Extent(geom)), ST_YMin(ST_Extent(geom)), ST_XMax(ST_Extent(geom)), "
                "ST_YMax(ST_Extent(geom)) FROM exposure_cell")
    cells, ex0, ey0, ex1, ey1 = cur.fetchone()
    cur.execute("SELECT count(*) FROM exposure_grid")
    squares = cur.fetchone()[0]
    print(f"exposure surface: {cells:,} cells, {squares:,} kept squares; views of {VIEW_PX[0]} x {VIEW_PX[1]} px, "
          f"max_points {MAX_POINTS:,}, {args.runs} views per zoom, the two ways in turn")
    rng = random.Random(args.seed)
    print("| zoom | every cell (baseline) | kept squares | ratio | points (baseline / kept) |")
    print("|---|---|---|---|---|")
    for zoom in (8, 9, 10, 11, 12):
        base, new, base_points, new_points = [], [], [], []
        for _ in range(args.runs):
            box = view(rng.uniform(ex0, ex1), rng.uniform(ey0, ey1), zoom)
            for way, times, points in ((every_cell, base, base_points), (kept_squares, new, new_points)):
                t0 = time.perf_counter()
                doc = json.loads(way(cur, box))
                times.append((time.perf_counter() - t0) * 1000)
                points.append(len(doc["points"]))
            if doc["grid_deg"]:  # the kept squares' answer: exactly every cell grouped on the same grid
                coords = dict(zip(("x0", "y0", "x1", "y1"), box, strict=True))
                cur.execute(sql_text("exposure_points"), {**coords, "grid": doc["grid_deg"]})
                assert same_points(doc, json.loads(cur.fetchone()[0])), f"answers differ for {box}"
        b, n = statistics.median(base), statistics.median(new)
        print(f"| {zoom} | {b:.1f} ms | {n:.1f} ms | {n / b:.2f} | {statistics.median(base_points):,.0f} / "
              f"{statistics.median(new_points):,.0f} |")


if __name__ == "__main__":
    main()
