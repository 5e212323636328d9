"""Benchmark: what keeping the low-zoom tile counts (site_tile_cell) costs the writes of a million enterprises, kept
by difference (migration 0029) against counting the cells again (migration 0026) and against keeping nothing.

    python bench/ogc/cellcost.py [--sites 1000000] [--rescored 10,1000,10000] [--repeat 5]

Data: ``--sites`` enterprises at random points over 1.7 x 1.7 degrees of the demo region (about 130 a zoom-14
cell, as bench/ogc's million), each with a stored score (random, level banded), in a database of its own
(``riskmap_bench_cellcost``) of the embedded cluster (RISKMAP_DATA_DIR) or RISKMAP_DATABASE_URL's server.
0026's functions are installed beside 0029's under other names (``bench0026_*``, from the migration's own text).

Timed, each in a transaction rolled back afterwards, the variants alternating rep by rep (medians):
- rescore N scattered sites, what geo/risk/store.py does for an incremental run: delete their rows of
  feature_risk, insert new ones (new random scores), then keep the counts: ``none`` (the code before 0026: nothing),
  ``recount`` (0026: the cells of the sites counted again from the sites), ``delta`` (0029: each site from its old
  level to its new one; the delete returns the old rows);
- count the whole class again (a full scoring run, a bulk import; the same in 0026 and 0029);
- move one site by 0.05 degrees (UPDATE, after an untimed one of another site): no trigger, 0026's, 0029's.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BENCH_DB = "riskmap_bench_cellcost"
BOX = (117.5, 39.0, 119.2, 40.7)  # lon/lat, 1.7 x 1.7 degrees


def install_0026(cur) -> None:
    """0026's functions, renamed bench0026_*, and a trigger of its own on enterprise (disabled)."""
    text = (ROOT / "geo/sql/migrations/0026_site_tile_cells.sql").read_text(encoding="utf-8")
    for body in re.findall(r"CREATE FUNCTION riskmap_site_cells_.*?\n\$\$;", text, flags=re.S):
        cur.execute(body.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
                    .replace("riskmap_site_cells_", "bench0026_site_cells_"))
    cur.execute("DROP TRIGGER IF EXISTS bench0026_upd ON enterprise")
    cur.execute("CREATE TRIGGER bench0026_upd AFTER UPDATE ON enterprise REFERENCING OLD TABLE AS old_rows "
                "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION bench0026_site_cells_follow()")
    cur.execute("ALTER TABLE enterprise DISABLE TRIGGER bench0026_upd")


def prepare(admin_url: str, sites: int) -> str:
    import psycopg2

    from geo import store

    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    url = re.sub(r"/[^/?]+(\?|$)", f"/{BENCH_DB}\\1", admin_url)
    with admin.cursor() as cur:
        cur.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (BENCH_DB,))
        row = cur.fetchone()
        if row is not None and row[0] == f"sites={sites}":
            print(f"reusing {BENCH_DB} ({sites:,} sites)", flush=True)
            admin.close()
            return url
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {BENCH_DB}")
    conn = store.connect(url)
    store.migrate(conn)
    conn.autocommit = True
    t = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # (no change triggers: the counts are made below)
        cur.execute("INSERT INTO enterprise (source_id, name, industry, geom) "
                    "SELECT 'B' || g, 'site ' || g, 'machinery', "
                    "       ST_SetSRID(ST_MakePoint(%s + random() * %s, %s + random() * %s), 4326) "
                    "FROM generate_series(1, %s) g",
                    (BOX[0], BOX[2] - BOX[0], BOX[1], BOX[3] - BOX[1], sites))
        cur.execute("INSERT INTO feature_risk (kind, feature_id, score, level, factors, model_version) "
                    "SELECT 'enterprise', id, s, CASE WHEN s >= 75 THEN 'red' WHEN s >= 50 THEN 'orange' "
                    "WHEN s >= 25 THEN 'yellow' ELSE 'blue' END, '[]', 'bench' "
                    "FROM (SELECT id, round((random() * 100)::numeric, 2)::double precision s FROM enterprise) e")
        cur.execute("SET session_replication_role = origin")
        cur.execute("SELECT riskmap_site_cells_count('enterprise', 'enterprise')")
        cur.execute("VACUUM ANALYZE enterprise")
        cur.execute("VACUUM ANALYZE feature_risk")
        cur.execute("VACUUM ANALYZE site_tile_cell")
        cur.execute(f"COMMENT ON DATABASE {BENCH_DB} IS 'sites={sites}'")
    print(f"made {sites:,} enterprises with scores in {time.perf_counter() - t:.1f} s", flush=True)
    conn.close()
    admin.close()
    return url


def rescore(cur, variant: str, ids: list[int]) -> None:
    """What store_results does for an incremental run of ``ids``, with the counts kept as ``variant`` keeps them."""
    if variant == "delta":
        cur.execute("WITH gone AS (DELETE FROM feature_risk WHERE kind = 'enterprise' AND feature_id = ANY(%s) "
                    "RETURNING feature_id, level, score) "
                    "SELECT array_agg(feature_id), array_agg(level), array_agg(score) FROM gone", (ids,))
        was = cur.fetchone()
    else:
        cur.execute("DELETE FROM feature_risk WHERE kind = 'enterprise' AND feature_id = ANY(%s)", (ids,))
    cur.execute("INSERT INTO feature_risk (kind, feature_id, score, level, factors, model_version) "
                "SELECT 'enterprise', i, s, CASE WHEN s >= 75 THEN 'red' WHEN s >= 50 THEN 'orange' "
                "WHEN s >= 25 THEN 'yellow' ELSE 'blue' END, '[]', 'bench' "
                "FROM (SELECT i, round((random() * 100)::numeric, 2)::double precision s "
                "      FROM unnest(%s::bigint[]) i) n",
                (ids,))
    if variant == "recount":
        cur.execute("SELECT bench0026_site_cells_rescored('enterprise', %s::bigint[])", (ids,))
    elif variant == "delta":
        cur.execute("SELECT riskmap_site_cells_rescored('enterprise', %s::bigint[], %s::bigint[], %s::text[], "
                    "%s::double precision[])", (ids, *was))


def timed(conn, work) -> float:
    with conn.cursor() as cur:
        t = time.perf_counter()
        work(cur)
        elapsed = time.perf_counter() - t
    conn.rollback()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sites", type=int, default=1_000_000)
    ap.add_argument("--rescored", default="10,1000,10000", help="numbers of scattered sites rescored")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--whole-repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261205)
    args = ap.parse_args()

    import numpy as np

    from api.settings import Settings
    from geo import store
    from geo.embedded import EmbeddedCluster

    settings = Settings()
    if settings.database_url:
        admin_url = settings.database_url
    else:
        cluster = EmbeddedCluster(settings.data_dir)
        cluster.start()
        admin_url = cluster.admin_url()
    url = prepare(admin_url, args.sites)
    conn = store.connect(url)
    with conn.cursor() as cur:
        install_0026(cur)
    conn.commit()
    rng = np.random.default_rng(args.seed)
    with conn.cursor() as cur:
        cur.execute("SELECT max(id) FROM enterprise")
        top = cur.fetchone()[0]
        cur.execute("SELECT count(*), avg(count) FROM site_tile_cell WHERE kind = 'enterprise'")
        cells, per_cell = cur.fetchone()
    conn.rollback()
    print(f"{args.sites:,} enterprises in {cells:,} zoom-14 cells ({float(per_cell):.0f} a cell)", flush=True)

    results: dict[str, list[float]] = {}
    for n in [int(s) for s in args.rescored.split(",")]:
        times: dict[str, list[float]] = {"none": [], "recount": [], "delta": []}
        for rep in range(args.repeat):
            ids = sorted(int(i) for i in rng.choice(np.arange(1, top + 1), size=n, replace=False))
            for variant in (["none", "recount", "delta"] if rep % 2 == 0 else ["delta", "recount", "none"]):
                times[variant].append(timed(conn, lambda cur, v=variant, i=ids: rescore(cur, v, i)))
        med = {v: statistics.median(t) for v, t in times.items()}
        results[f"rescore {n}"] = [med["none"], med["recount"], med["delta"]]
        print(f"rescore {n:>6,} sites: none {med['none'] * 1000:.1f} ms, recount (0026) {med['recount'] * 1000:.1f} "
              f"ms, delta (0029) {med['delta'] * 1000:.1f} ms; counts' cost: recount "
              f"{(med['recount'] - med['none']) * 1000:.1f} ms, delta {(med['delta'] - med['none']) * 1000:.1f} ms; "
              f"recount / delta {med['recount'] / med['delta']:.2f}  (runs: "
              + ", ".join(f"{v} {' '.join(f'{x * 1000:.0f}' for x in t)}" for v, t in times.items()) + ")",
              flush=True)

    whole = [timed(conn, lambda cur: cur.execute("SELECT riskmap_site_cells_count('enterprise', 'enterprise')"))
             for _ in range(args.whole_repeat)]
    print(f"whole class counted again: {statistics.median(whole):.2f} s (runs {', '.join(f'{w:.2f}' for w in whole)})",
          flush=True)

    moves: dict[str, list[float]] = {"none": [], "recount": [], "delta": []}
    triggers = {"recount": "bench0026_upd", "delta": "enterprise_tile_cells_upd"}
    for rep in range(args.repeat * 4):
        site = int(rng.integers(1, top + 1))
        for variant in (["none", "recount", "delta"] if rep % 2 == 0 else ["delta", "recount", "none"]):
            with conn.cursor() as cur:
                cur.execute("ALTER TABLE enterprise DISABLE TRIGGER enterprise_tile_cells_upd")
                if variant != "none":
                    cur.execute(f"ALTER TABLE enterprise ENABLE TRIGGER {triggers[variant]}")
                # (the first statement after ALTER TABLE plans the trigger's statements again, 10-15 ms: untimed)
                cur.execute("UPDATE enterprise SET geom = ST_Translate(geom, 0.05, 0) WHERE id = %s",
                            (top + 1 - site,))
                t = time.perf_counter()
                cur.execute("UPDATE enterprise SET geom = ST_Translate(geom, 0.05, 0) WHERE id = %s", (site,))
                moves[variant].append(time.perf_counter() - t)
            conn.rollback()
    med = {v: statistics.median(t) for v, t in moves.items()}
    print(f"move one site: none {med['none'] * 1000:.2f} ms, recount (0026) {med['recount'] * 1000:.2f} ms, "
          f"delta (0029) {med['delta'] * 1000:.2f} ms (medians of {args.repeat * 4})", flush=True)
    conn.close()


if __name__ == "__main__":
    main()
