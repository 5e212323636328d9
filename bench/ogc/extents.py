"""Benchmark: /ogc/collections with the extents kept by data version (api/ogc/extents.py) against the same document
with every extent computed per call (the baseline: what /ogc/collections did before), issue 16.

    python bench/ogc/extents.py [--features 1000000] [--repeat 15]

Data: the cluster of bench/ogc/run.py (``prepare``: the scored demo and synthetic enterprises up to
``--features``; $TMPDIR/riskmap-bench-ogc).  In one process, on one connection, in turn (A, B, A, B, ...):
A builds the /ogc/collections document computing every layer's extent (``Extents(conn, None)``), B builds it through
a cache (``Extents(conn, cache)``, warmed by one call first), as a user of every area; then the same for a user
limited to 路北区 (130203, row-level security).  Each call's wall time; medians and the ratio A / B.  A change to
the data (one enterprise's last_inspection) before a B call makes it compute again (a miss): also timed, in turn
with A (each first after the change every other time).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

BASE = "http://127.0.0.1:8000/ogc"
COUNTY = "130203"


def timed(conn, cache, areas) -> float:
    """One /ogc/collections document built on ``conn`` (extents through ``cache``; None: computed), in ms."""
    from api.ogc import documents
    from api.ogc.extents import Extents

    t0 = time.perf_counter()
    documents.collections(Extents(conn, cache, areas), BASE)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()

    from run import prepare

    from api.dependencies import SCOPE
    from api.ogc import documents
    from api.ogc.extents import ExtentCache, Extents
    from geo import store

    url = prepare(args.features, args.rebuild)
    for who, areas in (("every area", []), (f"county {COUNTY}", [COUNTY])):
        conn = store.connect(url)
        conn.autocommit = True
        if areas:
            with conn.cursor() as cur:
                cur.execute(SCOPE, {"areas": areas})
        cache = ExtentCache()
        uncached = documents.collections(Extents(conn, None, areas), BASE)
        cached = documents.collections(Extents(conn, cache, areas), BASE)  # (the warm-up fills the cache)
        assert cached == uncached, "the cached document differs from the computed one"
        a, b, miss = [], [], []
        for _ in range(args.repeat):
            a.append(timed(conn, None, areas))
            b.append(timed(conn, cache, areas))
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM enterprise ORDER BY id LIMIT 1")
            first = cur.fetchone()[0]
        for i in range(max(4, args.repeat // 3)):
            with conn.cursor() as cur:  # (a change: a new data version, so the next call computes every extent)
                cur.execute("RESET ROLE")
                cur.execute("UPDATE enterprise SET last_inspection = last_inspection WHERE id = %s", (first,))
                if areas:
                    cur.execute(SCOPE, {"areas": areas})
            # (in turn which comes first after the change: the first read after a write pays for its page)
            if i % 2:
                a.append(timed(conn, None, areas))
                miss.append(timed(conn, cache, areas))
            else:
                miss.append(timed(conn, cache, areas))
                a.append(timed(conn, None, areas))
        conn.close()
        ma, mb, mm = statistics.median(a), statistics.median(b), statistics.median(miss)
        print(f"{who}: per call computed (A) median {ma:.1f} ms over {len(a)}; kept (B) {mb:.2f} ms over {len(b)}; "
              f"A / B = {ma / mb:.0f}; after a change (a miss) {mm:.1f} ms over {len(miss)}, miss / A = "
              f"{mm / ma:.2f}", flush=True)


if __name__ == "__main__":
    main()
