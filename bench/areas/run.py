"""Benchmark: GET /areas's query before and after migration 0023 (stored H3 Features, bounding-box shortcut).

    RISKMAP_DATA_DIR=/tmp/riskmap-demo python -m api.cli demo --no-serve   # once: the scored demo
    RISKMAP_DATA_DIR=/tmp/riskmap-demo python bench/areas/run.py [--runs 20]

On the scored demo of the embedded cluster in RISKMAP_DATA_DIR (started if stopped), as the application's role
with the API's session settings, each query of api/sql/areas_page.sql's page (limit 2,000) is run ``--runs``
times, old and new alternating, for: level=h3:8 in a 1.8 x 1.2 degree box around 118.2, 39.6 (a zoom-8/9 view),
and level=county with and without that box.  Reported, median milliseconds: the round trip (execute and fetch
through psycopg2, then the page's features joined as api.routes.geojson_page does) and the server's execution time
(EXPLAIN ANALYZE, timing off).  Measured alongside: the new query with the exact intersection test for every area
(the stored Features alone), and the page aggregated into one text in SQL (string_agg).
The machine is shared: run it when it is otherwise idle.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from api.routes import sql_text  # noqa: E402
from api.settings import Settings  # noqa: E402
from geo.embedded import EmbeddedCluster  # noqa: E402
from tests.api.test_areas_stored_features import OLD_AREAS_PAGE  # noqa: E402

BOX = (117.3, 39.0, 119.1, 40.2)
LIMIT = 2000
CASES = {"h3:8 box": ("h3", 8, "h3:8", BOX), "county": ("admin", 3, "county", None),
         "county box": ("admin", 3, "county", BOX)}
# the new query's rows aggregated into the page's features text, its count and its last key
AGGREGATED = """SELECT string_agg(q.f, ',' ORDER BY q.k) FILTER (WHERE q.n <= %(limit)s),
       count(*) FILTER (WHERE q.n <= %(limit)s), max(q.k) FILTER (WHERE q.n <= %(limit)s), count(*) > %(limit)s
FROM (SELECT p.*, row_number() OVER (ORDER BY p.k) AS n FROM ({}) p(f, k)) q"""


def params(case) -> dict:
    area_type, resolution, level, box = case
    x0, y0, x1, y1 = box or (None, None, None, None)
    return {"area_type": area_type, "resolution": resolution, "area_level": level, "after": None,
            "nobox": box is None, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "levels": None, "limit": LIMIT}


def round_trip(cur, query: str, p: dict, aggregated: bool) -> tuple[float, str]:
    t = time.perf_counter()
    cur.execute(query, p)
    if aggregated:
        text, n, _, _ = cur.fetchone()
        body = "[" + (text or "") + "]"
    else:
        rows = cur.fetchall()[:LIMIT]
        body, n = "[" + ",".join(r[0] for r in rows) + "]", len(rows)
    assert n <= LIMIT
    return (time.perf_counter() - t) * 1000, body


def server_ms(cur, query: str, p: dict) -> float:
    cur.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + query, p)
    return float(cur.fetchone()[0][0]["Execution Time"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    url = EmbeddedCluster(Settings().data_dir).start()  # RISKMAP_DATA_DIR's, as the CLI's
    conn = psycopg2.connect(url, options="-c jit=off -c plan_cache_mode=force_generic_plan -c client_encoding=UTF8")
    conn.autocommit = True
    new = sql_text("areas_page")
    shortcut = "r.geom @ ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)\n                          OR "
    assert shortcut in new
    queries = {"old": (OLD_AREAS_PAGE, False), "new": (new, False),
               "new, exact test for all": (new.replace(shortcut, ""), False),
               "new, one text": (AGGREGATED.format(new), True)}
    report = {}
    with conn.cursor() as cur:
        for name, case in CASES.items():
            p = params(case)
            sizes = {}
            times = {q: [] for q in queries}
            servers = {q: [] for q in queries}
            for _ in range(2):  # warm the cache
                for text, agg in queries.values():
                    round_trip(cur, text, p, agg)
            for _ in range(args.runs):
                for q, (text, agg) in queries.items():
                    ms, size = round_trip(cur, text, p, agg)
                    times[q].append(ms)
                    sizes[q] = size
                    servers[q].append(server_ms(cur, text, p))
            assert len(set(sizes.values())) == 1, "the variants' pages differ"
            report[name] = {q: {"round_trip_ms": round(statistics.median(times[q]), 2),
                                "server_ms": round(statistics.median(servers[q]), 2)} for q in queries}
            report[name]["features_bytes"] = len(next(iter(sizes.values())).encode())
            report[name]["features"] = next(iter(sizes.values())).count('"type" : "Feature"')
            print(name, json.dumps(report[name]), flush=True)
    conn.close()


if __name__ == "__main__":
    main()
