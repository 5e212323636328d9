"""Benchmark: partitioned scoring on a local Dask cluster at 1 and 2 workers against the single-process run, on the
same data in the same run (issue 18 item 2 and its benchmark: "2 workers at least 1.7 times faster than 1 on a
partitioned step, with the parallel efficiency reported").

    python bench/scale/partitioned.py [--points 200000] [--pipeline-km 4000] [--resolution R] [--runs 3]
                                      [--workers 1 2] [--url URL] [--reuse-db] [--national SCALE]
                                      [--database URL] [--no-single]

    quick:   python bench/scale/partitioned.py --points 30000 --pipeline-km 500 --resolution 5 --runs 1
    China:   python bench/scale/partitioned.py --national 0.01 --runs 1
    the whole national set, scored by bench/scale/growth.py --scales 1 (its cluster's URL is printed there):
             python bench/scale/partitioned.py --database URL/growth_1_0 --no-single --runs 2

Data: the demo region scaled as bench/score/run.py makes it (``build_data``: the demo's proportions, one
GeoPackage per kind under $TMPDIR/riskmap-bench-score/<tag>/, reused), imported into a database of its own,
``riskmap_bench_partitioned``, on an embedded cluster of its own in $TMPDIR/riskmap-bench-partitioned (or on the
server of ``--url``, whose user may create databases).  With ``--national SCALE``: the national set instead
(data/national, China's real province, city and county boundaries), generated once under
$TMPDIR/riskmap-bench-partitioned/national and loaded into ``riskmap_bench_partitioned_national``.

Each run, in this process, in turn: the single-process full run (geo.risk.scoring ``score(full=True)``), then for
each worker count the partitioned run (geo.risk.distributed ``score_partitioned``) on a local cluster of that
many worker processes started before the runs (its start-up is printed apart, not timed in the runs; the
scoring modules are imported in each worker, and here, before the runs).  Printed
per configuration: the median wall time of the whole run and of its two partitioned steps (the partitions scored
and written on the workers; then the groups of areas aggregated and written on the workers; the run's other
steps, before and after, run in this process), the summed busy time of the workers, and the ratios: each
partitioned step at N workers against 1 (the speed-up, and the parallel efficiency = speed-up / N: the ratio of
the medians, and each run's ratio against the 1-worker run just before it with their median), and each whole run
against the single-process one.  After the last run it checks that the partitioned run's feature and area rows
equal the single-process run's (scores rounded to 1e-9; segments by pipeline and sequence) and prints how many
differ (not with ``--no-single``). Each partitioned run also prints, per step, from Dask's task stream: its span,
each worker's busy time, its *tail* (from the first worker's last task ending to the step's end: time one worker had
nothing left to do), its longest tasks, and the machine's busy cores over it (/proc/stat). Before each timed run the
database is vacuumed and analysed, untimed (``settle``), and a checkpoint is made, so that no run pays autovacuum
for the dead rows of the run before it or meets a checkpoint that others do not.

The machine has 2 cores, shared with PostgreSQL (each worker's queries and writes run in a server process of their
own) and with other users: the load average is printed with each run; nothing is asserted.  A run during which
this process was stopped (SIGSTOP: another's measurement pausing helpers) is run again.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.load.host_check import cpu_busy  # noqa: E402

BENCH_DB = "riskmap_bench_partitioned"


def server_url(url: str | None) -> str:
    """``url``, else the superuser URL of the bench's own embedded cluster, started."""
    if url is not None:
        return url
    from geo.embedded import EmbeddedCluster

    here = Path(tempfile.gettempdir()) / "riskmap-bench-partitioned"
    here.mkdir(parents=True, exist_ok=True)
    os.chmod(here, 0o755)  # as root, the server runs as 'postgres' and must reach the cluster inside
    cluster = EmbeddedCluster(here / "cluster")
    cluster.start()
    return cluster.admin_url()


def national_database(base_url: str, scale: float, seed: int, reuse: bool) -> str:
    """A database of its own holding the national set at ``scale`` (generated once under the bench's folder)."""
    from data.national.loader import load_national

    def load(conn) -> None:
        counts = load_national(conn, Path(tempfile.gettempdir()) / "riskmap-bench-partitioned" / "national", seed,
                               scale, say=lambda m: print(m, flush=True))
        print("  national set: " + ", ".join(f"{n:,} {k}" for k, n in counts.items()), flush=True)

    return _bench_score().prepare_database(base_url, None, f"national seed {seed} scale {scale:g}", reuse,
                                           name=f"{BENCH_DB}_national", load=load)


def _bench_score():
    spec = importlib.util.spec_from_file_location("bench_score", ROOT / "bench" / "score" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(conn):
    """The feature rows, keyed by stable ids, to compare runs."""
    from geo.risk.store import query_frame

    f = query_frame(conn, """
        SELECT r.kind, coalesce(g.pipeline_id || ':' || g.seq, r.feature_id::text) AS key, r.score, r.level,
               r.factors::text AS factors
        FROM feature_risk r LEFT JOIN pipeline_segment g ON r.kind = 'pipeline_segment' AND g.id = r.feature_id
        ORDER BY 1, 2""")
    conn.rollback()
    f["score"] = f["score"].round(9)
    return f.set_index(["kind", "key"])


def area_rows(conn):
    """The area rows (score rounded to 1e-9), to compare runs."""
    from geo.risk.store import query_frame

    a = query_frame(conn, "SELECT area_type, resolution, area_id, score, level, counts::text AS counts, features, "
                          "population_exposed FROM area_risk ORDER BY 1, 2, 3")
    conn.rollback()
    a["score"] = a["score"].round(9)
    a["population_exposed"] = a["population_exposed"].round(6)
    return a.set_index(["area_type", "resolution", "area_id"])


def differing(a, b) -> int:
    if not a.index.equals(b.index):
        return len(a.index.symmetric_difference(b.index))
    return int((a != b).any(axis=1).sum())


class CoreSampler:
    """The machine's busy cores over time: its busy and total jiffies (``cpu_busy``, /proc/stat) sampled every 0.2 s,
    so that the cores kept busy during each step (found afterwards from the task stream) can be read off."""

    def __init__(self):
        import threading

        self.samples: list[tuple[float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()

    def _tick(self):
        while True:
            busy, _stolen, total = cpu_busy()
            self.samples.append((time.time(), busy, total))
            if self._stop.wait(0.2):
                return

    def close(self):
        self._stop.set()
        self._thread.join()
        busy, _stolen, total = cpu_busy()
        self.samples.append((time.time(), busy, total))

    def cores(self, t0: float, t1: float) -> float:
        """Cores busy on average between t0 and t1 (the nearest samples inside)."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return float("nan")
        (_, b0, t0_), (_, b1, t1_) = inside[0], inside[-1]
        return (os.cpu_count() or 1) * (b1 - b0) / max(1, t1_ - t0_)


def step_profile(stream: list[dict], prefix: str, sampler: CoreSampler) -> str:
    """One step's tasks (keys starting ``prefix``) from a Dask task stream: its span, each worker's busy time and
    the time from the first worker's last task ending to the step's end (the tail, when some worker had nothing
    left), the longest tasks, and the machine's busy cores over the span."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for task in stream:
        if not str(task["key"]).startswith(prefix):
            continue
        for ss in task["startstops"]:
            if ss["action"] == "compute":
                spans.setdefault(task["worker"], []).append((ss["start"], ss["stop"]))
    if not spans:
        return f"{prefix}: no tasks"
    t0 = min(a for v in spans.values() for a, _ in v)
    t1 = max(b for v in spans.values() for _, b in v)
    last = sorted(max(b for _, b in v) for v in spans.values())
    busy = [sum(b - a for a, b in v) for v in spans.values()]
    longest = sorted((b - a for v in spans.values() for a, b in v), reverse=True)[:3]
    return (f"{prefix}: span {t1 - t0:.1f} s, workers busy " + ", ".join(f"{x:.1f}" for x in sorted(busy))
            + f" s, tail {last[-1] - last[0]:.1f} s, longest tasks " + ", ".join(f"{x:.1f}" for x in longest)
            + f" s, machine cores busy {sampler.cores(t0, t1):.2f}")


class PauseWatch:
    """How long this process was stopped (the lead's quiet.sh SIGSTOPs helpers' processes while it measures):
    a thread ticking every 50 ms notes each gap over 3 s during which this process used little CPU (shorter gaps,
    and longer ones with the CPU busy, happen without a pause, when a long call holds the GIL; a pause lasts as
    long as the other's measurement).  A timed run that was paused is run again."""

    def __init__(self):
        import threading

        self.paused = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()

    def _tick(self):
        last, cpu = time.monotonic(), time.process_time()
        while not self._stop.wait(0.05):
            now, now_cpu = time.monotonic(), time.process_time()
            # (a long call holding the GIL also stops the ticks, but this process's CPU time goes on meanwhile:
            # at national size such calls last seconds; a stopped process uses none)
            if now - last > 3.0 and now_cpu - cpu < 0.2 * (now - last):
                self.paused += now - last - 0.05
            last, cpu = now, now_cpu

    def close(self):
        self._stop.set()
        self._thread.join()


def timed(fn, attempts: int = 4):
    """(seconds, result) of ``fn()``, run again (up to ``attempts`` times) while a run was paused."""
    for _attempt in range(attempts):
        watch = PauseWatch()
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
        watch.close()
        if watch.paused == 0:
            return seconds, result
        print(f"  (paused {watch.paused:.1f} s by another's measurement: run again)", flush=True)
    print("  (paused every time: this figure includes pauses)", flush=True)
    return seconds, result


def settle(url: str) -> None:
    """VACUUM ANALYZE the database, then CHECKPOINT, before a timed run, untimed.  Each run rewrites feature_risk,
    area_risk and the exposure tables: autovacuum would otherwise pay for the previous run's dead rows during the
    next one (on the idle core at 1 worker, on the busy ones at 2), and a checkpoint started by the previous runs'
    WAL (one every 2 GB or so) would run through some runs and not others.  After a checkpoint each run writes its
    pages' first changes whole into the WAL, the same for every run.  (A server user who may not CHECKPOINT: the
    runs go on without it, and it says so.)"""
    import psycopg2

    from geo import store

    c = store.connect(url)
    try:
        c.autocommit = True
        with c.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
            try:
                cur.execute("CHECKPOINT")
            except psycopg2.errors.InsufficientPrivilege:
                print("  (this user may not CHECKPOINT: runs may meet a checkpoint under way)", flush=True)
    finally:
        c.close()


def warm_up() -> None:
    """Import what scoring imports on first use (in each worker, and here), so that no timed run pays for it."""
    from geo.risk import distributed, partitions  # noqa: F401
    from geo.risk.chemicals import load_tables
    from geo.risk.scoring import _rules

    _rules()
    load_tables()


def worker_peaks(client) -> list[float]:
    """Each worker process's peak resident set size (MiB)."""
    import resource

    peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return sorted(peaks.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=200_000, help="point features in total (default 200,000)")
    ap.add_argument("--pipeline-km", type=float, default=4_000.0)
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--resolution", type=int, help="H3 resolution of the partitions (default: chosen from the data)")
    ap.add_argument("--national", type=float, metavar="SCALE",
                    help="instead of the scaled demo region, the national set at this scale (data/national: China's "
                         "real boundaries, 3,211 areas), generated under the bench's folder")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2],
                    help="the worker counts (default 1 2; none: only the single-process runs)")
    ap.add_argument("--url", help="a server URL (default: the embedded cluster)")
    ap.add_argument("--reuse-db", action="store_true")
    ap.add_argument("--database", metavar="URL",
                    help="an existing database with its features (for example the scored national set of "
                         "bench/scale/growth.py --scales 1): scored there, nothing loaded")
    ap.add_argument("--no-single", action="store_true",
                    help="no single-process run (nor the comparison of rows with it)")
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "riskmap-bench-score")
    args = ap.parse_args()

    from distributed import get_task_stream

    from geo import store
    from geo.risk.config import load_model
    from geo.risk.distributed import dask_client, score_partitioned
    from geo.risk.scoring import score

    if args.database is not None:
        url = args.database
    elif args.national is not None:
        url = national_database(server_url(args.url), args.national, args.seed, args.reuse_db)
    else:
        bs = _bench_score()
        scale = args.points / bs.DEMO_POINTS
        tag = bs.dataset_tag(args.seed, scale, args.pipeline_km)
        counts = bs.build_data(args.data / tag, args.seed, scale, args.pipeline_km)
        print(f"data set {tag}: " + ", ".join(f"{counts[k]:,} {k}" for k in
                                              ("enterprise", "tailings_pond", "venue", "settlement", "pipeline"))
              + f", {counts['pipeline_km']:,.0f} km of pipelines", flush=True)
        url = bs.prepare_database(server_url(args.url), args.data / tag, tag, args.reuse_db, name=BENCH_DB)
    conn = store.connect(url)
    model = load_model()

    warm_up()
    clusters = {}
    for n in args.workers:
        t0 = time.perf_counter()
        context = dask_client(workers=n)
        clusters[n] = (context, context.__enter__())
        clusters[n][1].run(warm_up)
        print(f"local cluster of {n} worker(s) started in {time.perf_counter() - t0:.1f} s", flush=True)

    single: list[float] = []
    whole: dict[int, list[float]] = {n: [] for n in args.workers}
    step: dict[int, list[float]] = {n: [] for n in args.workers}
    busy: dict[int, list[float]] = {n: [] for n in args.workers}
    areas: dict[int, list[float]] = {n: [] for n in args.workers}
    parts = halo = resolution = None
    try:
        for run in range(args.runs):
            reference = None
            if not args.no_single:
                settle(url)
                load = os.getloadavg()[0]
                seconds, summary = timed(lambda: score(conn, model, full=True))
                single.append(seconds)
                print(f"run {run + 1}: single process {single[-1]:.1f} s ({sum(summary.scored.values()):,} "
                      f"features; load average before {load:.2f})", flush=True)
                print(f"  peak RSS of this process so far: "
                      f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB", flush=True)
                reference = (rows(conn), area_rows(conn)) if run == args.runs - 1 and args.workers else None
            for n in args.workers:
                settle(url)
                load = os.getloadavg()[0]
                sampler = CoreSampler()
                with get_task_stream(clusters[n][1]) as stream:
                    seconds, summary = timed(lambda n=n: score_partitioned(conn, url, model, clusters[n][1],
                                                                           resolution=args.resolution))
                sampler.close()
                whole[n].append(seconds)
                step[n].append(summary.phases["partitions"])
                busy[n].append(summary.phases["partition_work"])
                areas[n].append(summary.phases["areas"])
                parts, halo, resolution = summary.partitions, summary.halo_m, summary.partition_resolution
                print(f"run {run + 1}: {n} worker(s) {whole[n][-1]:.1f} s, of which partitions "
                      f"{step[n][-1]:.1f} s (workers busy {busy[n][-1]:.1f} s), areas {areas[n][-1]:.1f} s "
                      f"({summary.area_groups} groups), before "
                      f"{summary.phases['before']:.1f} s, after {summary.phases['after']:.1f} s "
                      f"({parts} partitions at resolution {resolution}, halo {halo:,.0f} m, "
                      f"{summary.halo_misses} halo misses; load average before {load:.2f})", flush=True)
                for prefix in ("riskmap-partition-", "riskmap-area-group-"):
                    print("  " + step_profile(stream.data, prefix, sampler), flush=True)
                if reference is not None:
                    print(f"  rows differing from the single-process run: features "
                          f"{differing(rows(conn), reference[0])}, areas {differing(area_rows(conn), reference[1])}",
                          flush=True)
        for n in args.workers:
            print(f"peak RSS of the {n}-worker cluster's workers: "
                  + ", ".join(f"{p:,.0f} MiB" for p in worker_peaks(clusters[n][1])), flush=True)
    finally:
        for context, _ in clusters.values():
            context.__exit__(None, None, None)
        conn.close()

    med = statistics.median
    if not args.workers:
        print(f"\nmedians of {args.runs} run(s): single process {med(single):.1f} s")
        return
    print(f"\nmedians of {args.runs} run(s); {parts} partitions (H3 resolution {resolution}), halo {halo:,.0f} m")
    if single:
        print(f"  single process: {med(single):.1f} s")
    base = args.workers[0]
    for n in args.workers:
        speedup = med(step[base]) / med(step[n])
        paired = [a / b for a, b in zip(step[base], step[n], strict=True)]
        against = f" ({med(whole[n]) / med(single):.2f} of the single process)" if single else ""
        print(f"  {n} worker(s): whole run {med(whole[n]):.1f} s{against}; partitioned step {med(step[n]):.1f} s, "
              f"workers busy {med(busy[n]):.1f} s; "
              f"step speed-up against {base} worker(s) {speedup:.2f}, parallel efficiency "
              f"{speedup / (n / base):.2f}; run by run (each against the same run's {base} worker(s)): "
              + ", ".join(f"{r:.2f}" for r in paired) + f", median {med(paired):.2f}")
        a_speedup = med(areas[base]) / med(areas[n])
        a_paired = [a / b for a, b in zip(areas[base], areas[n], strict=True)]
        print(f"  {n} worker(s): area step (groups of areas aggregated and written) {med(areas[n]):.1f} s; speed-up "
              f"against {base} worker(s) {a_speedup:.2f}, parallel efficiency {a_speedup / (n / base):.2f}; run by "
              "run: " + ", ".join(f"{r:.2f}" for r in a_paired) + f", median {med(a_paired):.2f}")


if __name__ == "__main__":
    main()
