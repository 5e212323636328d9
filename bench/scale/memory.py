"""Benchmark: the memory of a full single-process scoring run, step by step (issue 18: national scoring under 8 GB).

    python bench/scale/memory.py prepare [--scale 0.16]      # generate and import once, into a template database
    python bench/scale/memory.py run [--scale 0.16] [--label L] [--keep]   # one measured run on a fresh copy
    python bench/scale/memory.py digest --db NAME            # md5 of every table a scoring run writes

Data: the national set (data/national) at ``--scale`` (0.16: about a million features), generated under
$TMPDIR/riskmap-bench-scale/sets and imported once into the database ``mem_<scale>_template`` of the bench's
own embedded cluster ($TMPDIR/riskmap-bench-scale/cluster, as bench/scale/growth.py).  Each ``run`` copies the
template (CREATE DATABASE ... TEMPLATE: a first full run after the import, every time the same), then scores it
with ``geo.risk.scoring.score(full=True)`` in a child process of its own, so that its peak RSS is the run's:
the child samples its RSS every 50 ms on a thread and reports, per step (as ``progress`` names them), the
highest RSS seen during the step and the RSS at its end, then the run's peak (ru_maxrss), its wall and CPU time
and the cluster's CPU (the postmaster and its backends, from /proc).  With ``--keep`` the copy is kept (named in
the output) for ``digest``, which prints one md5 per output table (rows in a fixed order), to compare the tables
of two versions of the code on the same data.  A few rows are read without an order (the settlements'
layer), so with parallel plans they come in another order from run to run, and sums over them (an area's exposed
people) can differ in their last bit (a relative 1e-16); ``--deterministic`` runs the copy without parallel plans
or synchronised scans, which gives the same order every time, for an exact comparison.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.scale.growth import AS_OF, Clock  # noqa: E402

SEED = 20261129
# every table a full scoring run writes (directly or by its triggers), compared row by row by ``digest``; the
# columns that say when (a clock's time) or how long are left out
OUTPUT_TABLES = ["feature_risk", "area_risk", "exposure_cell", "exposure_anchor", "exposure_grid", "settlement_exposed",
                 "score_history", "score_run", "risk_factor_def", "pipeline_segment", "scope_site", "scope_cell",
                 "scope_state", "site_tile_cell", "site_tile_span", "site_tile_stale"]
TIME_COLUMNS = {"scored_at", "finished_at", "started_at", "seconds", "created_at", "updated_at", "at", "computed_at"}


def cluster():
    from geo.embedded import EmbeddedCluster

    here = Path(tempfile.gettempdir()) / "riskmap-bench-scale"
    here.mkdir(parents=True, exist_ok=True)
    os.chmod(here, 0o755)
    c = EmbeddedCluster(here / "cluster")
    c.start()
    return c, here / "cluster" / "pgdata"


def template_name(scale: float) -> str:
    return f"mem_{str(scale).replace('.', '_')}_template"


def admin_exec(c, *statements: str) -> None:
    from geo import store

    admin = store.connect(c.admin_url("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        for s in statements:
            cur.execute(s)
    admin.close()


def prepare(scale: float) -> None:
    from data.national.loader import ensure_national, load_national
    from geo import store
    from geo.embedded import prepare as prepare_db

    c, _ = cluster()
    base = Path(tempfile.gettempdir()) / "riskmap-bench-scale" / "sets"
    ensure_national(base, SEED, scale, say=print)
    name = template_name(scale)
    admin_exec(c, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    admin = store.connect(c.admin_url(name))
    prepare_db(admin)
    admin.close()
    conn = store.connect(c.app_url(name))
    store.migrate(conn)
    t = time.perf_counter()
    rows = load_national(conn, base, SEED, scale)
    with conn.cursor() as cur:
        cur.execute("ANALYZE")
    conn.commit()
    conn.close()
    print(f"imported {rows} in {time.perf_counter() - t:.1f} s into {name}", flush=True)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


# functions whose entry and exit are logged with the RSS at each (``--trace``): where within a step it grows
TRACED = {
    "geo.risk.scoring": ["_score_kind", "_store", "_scored_points", "_exposure_from_memory",
                         "_exposure_points_from_memory", "_roll_up_pipelines",
                         "_level_counts", "_place_sites"],
    "geo.risk.aggregate": ["area_partitions", "area_rows", "exposed_settlements", "people_partitions", "write_areas",
                           "write_exposure", "exposure_rows", "area_table", "_copy_table", "load_areas",
                           "_area_geometries", "points_along"],
    "geo.risk.area_delta": ["large_area_tops", "write_exposed_settlements"],
    "geo.risk.context": ["layer_frame", "context_frame"],
    "geo.risk.history:RunRecorder": ["read_before", "append"],
    "geo.risk.context:Neighbours": ["release"],
    "geo.risk.exposure_tiles": ["cells_at_or_above"],
}


def trace(log: list) -> None:
    """Wrap the TRACED functions so that each call logs (time, thread, name, 'in'/'out', RSS MB)."""
    import functools
    import importlib

    t0 = time.perf_counter()
    for where, names in TRACED.items():
        module, _, cls = where.partition(":")
        target = importlib.import_module(module)
        if cls:
            target = getattr(target, cls)
        for name in names:
            fn = getattr(target, name, None)
            if fn is None:  # (not in this version of the code)
                continue

            def wrapped(*args, __fn=fn, __name=name, **kwargs):
                who = threading.current_thread().name
                log.append((round(time.perf_counter() - t0, 2), who, __name, "in", round(rss_mb())))
                try:
                    return __fn(*args, **kwargs)
                finally:
                    log.append((round(time.perf_counter() - t0, 2), who, __name, "out", round(rss_mb())))

            setattr(target, name, functools.wraps(fn)(wrapped))


def child(url: str, pgdata: Path, traced: bool = False) -> dict:
    """One full scoring run of the database at ``url`` in this process, sampled."""
    from geo import store
    from geo.risk.config import load_model
    from geo.risk.scoring import score

    log: list = []
    if traced:
        trace(log)

    high = [rss_mb()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            high[0] = max(high[0], rss_mb())
            time.sleep(0.05)

    steps: dict[str, dict] = {}
    last = [0.0]

    def progress(step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        high[0] = max(high[0], rss_mb())
        steps[step] = {"wall_s": round(now - last[0], 2), "peak_mb": round(high[0]), "end_mb": round(rss_mb())}
        high[0] = rss_mb()
        last[0] = now

    conn = store.connect(url)
    model = load_model(None)
    start_mb = rss_mb()
    threading.Thread(target=sample, daemon=True).start()
    with Clock(pgdata) as c:
        last[0] = time.perf_counter()
        summary = score(conn, model, AS_OF, full=True, progress=progress)
        high[0] = max(high[0], rss_mb())
        steps["after the steps"] = {"wall_s": round(time.perf_counter() - last[0], 2), "peak_mb": round(high[0]),
                                    "end_mb": round(rss_mb())}
    stop.set()
    conn.close()
    # what of the RSS left at the end is still held, and what is memory freed but kept by the allocators
    import ctypes
    import gc

    import pyarrow as pa

    gc.collect()
    left = {"end_mb": round(rss_mb()), "arrow_allocated_mb": round(pa.total_allocated_bytes() / 2 ** 20)}
    pa.default_memory_pool().release_unused()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    left["after_trim_mb"] = round(rss_mb())
    return c.figures() | {"left": left, "start_mb": round(start_mb), "steps": steps, "scored": summary.scored,
                          "areas": summary.areas, "trace": log,
                          "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def run(scale: float, label: str, keep: bool, traced: bool = False, deterministic: bool = False) -> None:
    c, pgdata = cluster()
    name = f"mem_run_{label}"
    admin_exec(c, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
               f"CREATE DATABASE {name} TEMPLATE {template_name(scale)}")
    from geo import store
    from geo.embedded import prepare as prepare_db

    # (a template imported with older code gets the migrations since, before the clock)
    conn = store.connect(c.admin_url(name))
    prepare_db(conn)
    conn.close()
    conn = store.connect(c.app_url(name))
    store.migrate(conn)
    conn.close()
    if deterministic:  # rows read without ORDER BY come in the table's order (else as parallel workers give them)
        admin_exec(c, f"ALTER DATABASE {name} SET max_parallel_workers_per_gather = 0",
                   f"ALTER DATABASE {name} SET synchronize_seqscans = off")
    out = subprocess.run(["/usr/bin/time", "-v", sys.executable, __file__, "child", "--url", c.app_url(name),
                          "--pgdata", str(pgdata)] + (["--trace"] if traced else []), cwd=ROOT, capture_output=True,
                         text=True)
    time_v = {ln.split(":")[0].strip(): ln.split(":", 1)[1].strip() for ln in out.stderr.splitlines()
              if ln.startswith("\t") and ":" in ln}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if out.returncode or not lines:
        sys.stderr.write(out.stderr[-5000:])
        sys.exit(f"run failed ({out.returncode})")
    result = json.loads(lines[-1][len("RESULT "):])
    result |= {"label": label, "database": name if keep else None, "scale": scale,
               "time_v_max_rss_mb": round(int(time_v.get("Maximum resident set size (kbytes)", 0)) / 1024),
               "time_v_user_s": float(time_v.get("User time (seconds)", 0)),
               "time_v_system_s": float(time_v.get("System time (seconds)", 0)),
               "when": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC", "load": round(os.getloadavg()[0], 1)}
    if not keep:
        admin_exec(c, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    for t, who, name, what, mb in result.pop("trace"):
        print(f"  {t:8.2f} {who:22s} {name:26s} {what:3s} {mb:6d} MB")
    print(json.dumps(result, indent=1))
    print(f"{label}: peak {result['peak_rss_mb']} MB, wall {result['wall_s']} s, CPU {result['own_cpu_s']} s own + "
          f"{result['pg_cpu_s']} s PostgreSQL")
    for step, f in result["steps"].items():
        print(f"  {step:16s} {f['wall_s']:8.1f} s  peak {f['peak_mb']:6d} MB  end {f['end_mb']:6d} MB")


def digest(db: str) -> None:
    """Per output table: its rows, and the md5 of its rows' md5s in order (the time columns left out)."""
    from geo import store

    c, _ = cluster()
    conn = store.connect(c.admin_url(db))
    with conn.cursor() as cur:
        for table in OUTPUT_TABLES:
            cur.execute("SELECT to_regclass(%s)", (table,))
            if cur.fetchone()[0] is None:
                print(f"{table:20s} (no such table)")
                continue
            cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                        "AND NOT attisdropped ORDER BY attnum", (table,))
            columns = [r[0] for r in cur.fetchall()]
            kept = [col for col in columns if col not in TIME_COLUMNS]
            row = "ROW(" + ", ".join(f't."{col}"' for col in kept) + ")::text"
            cur.execute(f"SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
                        f"FROM (SELECT md5({row}) AS h FROM {table} t) x")
            n, h = cur.fetchone()
            left = sorted(set(columns) - set(kept))
            print(f"{table:20s} {n:10d} {h}" + (f"  (without {', '.join(left)})" if left else ""), flush=True)
    conn.rollback()
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["prepare", "run", "digest", "child"])
    ap.add_argument("--scale", type=float, default=0.16)
    ap.add_argument("--label", default="run")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--trace", action="store_true", help="log the RSS at entry and exit of the main functions")
    ap.add_argument("--deterministic", action="store_true",
                    help="serial plans and no synchronised scans on the copy (for digest: see the module's text)")
    ap.add_argument("--db")
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--pgdata", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.what == "prepare":
        prepare(args.scale)
    elif args.what == "run":
        run(args.scale, args.label, args.keep, args.trace, args.deterministic)
    elif args.what == "digest":
        digest(args.db)
    else:
        print("RESULT " + json.dumps(child(args.url, args.pgdata, args.trace)), flush=True)


if __name__ == "__main__":
    main()
