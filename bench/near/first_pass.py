"""Benchmark: the near query with its first pass kept to the radius's box, against the first pass before.

    RISKMAP_DATA_DIR=/tmp/riskmap-demo riskmap demo --no-serve     # once
    RISKMAP_DATA_DIR=/tmp/riskmap-demo python bench/near/first_pass.py [--points 300] [--radius-m 2000]
    python bench/near/first_pass.py --url postgresql://...          # any scored riskmap database

The whole near query (api/sql/risks_near.sql without a level filter, as GET /risks/near runs it: a prepared
statement, all kinds, limit 100) at ``--points`` random points of the region's counties (bench/load's requests:
radius 2 km), two ways in turn on one connection, ``--repeat`` times: the baseline with the first pass before
(bench/near/baseline_risks_near_bound.sql: its KNN scans read the 2 x limit nearest rows wherever they lie), and
now (api/sql/risks_near_bound.sql: the scans keep to the radius's box).  Every document must be the same, byte for
byte.  Printed: the median time a query of each, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import h3
import psycopg2
import psycopg2.extensions

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from api.routes import execute_prepared, sql_text  # noqa: E402
from api.routes.near import LEVELS, RISK_KINDS, ewkt_point  # noqa: E402
from bench.demo_cluster import database_url  # noqa: E402


class _Prepared(psycopg2.extensions.connection):
    """A connection that keeps its prepared statements' names, as the API's pooled ones do."""


def query(bound: str) -> str:
    return sql_text("risks_near").replace("{bound}", bound.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="database URL (default: the embedded cluster of RISKMAP_DATA_DIR)")
    ap.add_argument("--points", type=int, default=300)
    ap.add_argument("--radius-m", type=float, default=2000.0)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    url = database_url(args.url)
    conn = psycopg2.connect(url, connection_factory=_Prepared)
    conn.autocommit = True
    conn.prepared = set()
    cur = conn.cursor()
    cur.execute("SELECT ST_X(p.geom), ST_Y(p.geom) FROM ST_Dump(ST_GeneratePoints((SELECT ST_Union(geom) FROM area "
                "WHERE level = 'county'), %s, %s)) p", (args.points, args.seed))
    points = cur.fetchall()
    resolution = 9
    ways = {"baseline (first pass before)": query((HERE / "baseline_risks_near_bound.sql").read_text()),
            "now (kept to the radius's box)": query(sql_text("risks_near_bound"))}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeat):
        documents = []
        for i, (name, text) in enumerate(ways.items()):
            out = []
            t0 = time.perf_counter()
            for lon, lat in points:
                params = {"pt": ewkt_point(lon, lat), "radius": args.radius_m, "kinds": list(RISK_KINDS),
                          "levels": list(LEVELS), "min_pos": None, "limit": 100,
                          "h3_cell": h3.latlng_to_cell(lat, lon, resolution), "h3_res": resolution}
                execute_prepared(cur, f"near_way_{i}", text, params)
                out.append(cur.fetchone()[0])
            times[name].append((time.perf_counter() - t0) / len(points) * 1000)
            documents.append(out)
        assert documents[0] == documents[1], "the two ways gave different documents"
    base, now = (statistics.median(v) for v in times.values())
    print(f"{len(points)} points, radius {args.radius_m:g} m, {args.repeat} rounds in turn; the same documents")
    for name, v in times.items():
        print(f"  {name:32s} median {statistics.median(v):.3f} ms a query ({', '.join(f'{x:.2f}' for x in v)})")
    print(f"  ratio now / baseline: {now / base:.3f}")


if __name__ == "__main__":
    main()
