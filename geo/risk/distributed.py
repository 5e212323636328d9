"""A full scoring run in spatial partitions on a Dask cluster (issue 18 item 2): `riskmap score --workers N`
starts a local cluster of N worker processes, `riskmap score --scheduler tcp://HOST:8786` uses one that runs.

The run has three parts:

1. *Before* (here, one transaction): the change records are taken (a partitioned run is a full run), the
   pipelines are cut into segments and their impact distances set, and the scores before are read for the
   history.  Then the partitions are planned (geo/risk/partitions.py ``plan_partitions``).
2. *The partitions* (on the workers): each worker connects to PostGIS with the URL it is given, scores one
   partition with its halo and writes it (one transaction that deletes the partition's rows and COPYs its new
   ones).  A worker keeps its connection from one partition to the next, and the run closes it when the
   partitions are done.  A partition that fails is run again (``retries`` times, by Dask, on a new connection);
   when one fails every time, the others still finish and the run then stops with :class:`PartitionFailed`, the
   failed partition's rows as they were before the run.
3. *After* (here, one transaction): the results of features that no longer exist are dropped, the pipelines
   are rolled up from their segments, the site tiles counted again, area risk and the exposure surface
   aggregated from the stored scores, and the run and its history recorded, as a whole run does.

A run that fails in 2 or 3 leaves a change record of unknown extent, so the next `riskmap score` is a full
run (the change records taken in 1 are no longer there to say what changed).  The single-process run
(geo/risk/scoring.py ``score``) stays the default: on data that fit one machine it has no per-partition
overhead.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager

import h3
import psycopg2

from geo.errors import ClusterUnavailable, Conflict, PartitionFailed
from geo.risk import history
from geo.risk.partitions import (
    Partition,
    PartitionResult,
    aggregate_stored,
    drop_stale_rows,
    halo_m,
    plan_partitions,
    recount_site_tiles,
    score_partition,
    store_factor_defs,
    write_partition,
)
from geo.risk.scoring import (
    SCORING_RUN_LOCK,
    ScoreSummary,
    _level_counts,
    _place_sites,
    _roll_up_pipelines,
    _set_impact_distances,
)
from geo.risk.store import execute, sql_text
from geo.store import connect

DEFAULT_RESOLUTION = None  # chosen from the data (geo/risk/partitions.py choose_resolution)
DEFAULT_RETRIES = 2
PARTITION_APPLICATION = "riskmap partition"  # the workers' connections, as pg_stat_activity names them
# (held alone for the whole run, at session level: no other partitioned run, and no single-process run, starts
# while it writes; geo/risk/scoring.py)
RUN_LOCK = SCORING_RUN_LOCK

Progress = Callable[[str, int, int], None]  # step name, steps done, steps in total


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None):
    """A distributed.Client: on a new local cluster of ``workers`` processes (one thread each: the rules hold
    the GIL for much of their work), or on the running cluster at ``scheduler``."""
    if (workers is None) == (scheduler is None):
        raise ValueError("give either a number of workers or a scheduler address")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers!r}")
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError) as e:
            raise ClusterUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        try:
            yield client
        finally:
            client.close()
        return
    quiet = logging.getLogger("distributed")  # (the in-process scheduler's INFO lines would fill the terminal)
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
    except (OSError, TimeoutError) as e:
        quiet.setLevel(level)
        raise ClusterUnavailable(f"a local Dask cluster of {workers} workers did not start: {e}") from None
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()
        quiet.setLevel(level)


# The connections of this worker process, kept from one partition to the next of a run: a new connection costs a
# server process, its start and its caches warmed again (about a tenth of an average partition's work,
# bench/scale/partitioned.py).  One per URL and thread (a worker may run several tasks at once), with the run it
# serves: a partition of another run (after a run whose driver died before closing them) starts on a new one.
# Dropped after any error (the retry connects anew), closed by the run when its partitions are done
# (close_worker_connections).
_CONNECTIONS: dict[tuple[str, int], tuple[str, psycopg2.extensions.connection]] = {}
_CONNECTIONS_LOCK = threading.Lock()


def _close_quietly(conn) -> None:
    try:
        conn.close()
    except psycopg2.Error:  # (a connection already broken: nothing to close)
        pass


def _worker_connection(url: str, run: str):
    key = (url, threading.get_ident())
    with _CONNECTIONS_LOCK:
        kept = _CONNECTIONS.get(key)
    if kept is not None and kept[0] == run and not kept[1].closed:
        return kept[1]
    if kept is not None:
        _close_quietly(kept[1])
    conn = connect(url, application_name=PARTITION_APPLICATION)
    conn.autocommit = False
    with _CONNECTIONS_LOCK:
        _CONNECTIONS[key] = (run, conn)
    return conn


def _drop_worker_connection(url: str) -> None:
    with _CONNECTIONS_LOCK:
        kept = _CONNECTIONS.pop((url, threading.get_ident()), None)
    if kept is not None:
        _close_quietly(kept[1])


def close_worker_connections(url: str) -> int:
    """Close this worker process's kept connections to ``url`` (run on every worker when a run's partitions are
    done; those to other databases, of other runs, stay).  Returns how many were closed."""
    with _CONNECTIONS_LOCK:
        kept = [_CONNECTIONS.pop(k) for k in [k for k in _CONNECTIONS if k[0] == url]]
    for _run, conn in kept:
        _close_quietly(conn)
    return len(kept)


def run_partition(url: str, model: dict, as_of: dt.date, part: Partition, halo: float,
                  max_impact_m: float, run: str) -> PartitionResult:
    """One partition of the run ``run`` on a worker: its rows computed and written on the worker's kept
    connection (``tables`` are dropped from the result sent back: the rows are in the database)."""
    t0 = time.perf_counter()
    conn = _worker_connection(url, run)
    try:
        result = score_partition(conn, model, as_of, part, halo, max_impact_m)
        conn.rollback()  # (the reads' snapshot; the write opens its own transactions)
        write_partition(conn, result)
    except BaseException:
        _drop_worker_connection(url)  # (whatever state it is in, the retry starts on a new one)
        raise
    result.tables = {}
    result.seconds = time.perf_counter() - t0  # (connecting, reading, scoring and writing)
    return result


def score_partitioned(conn, url: str, model: dict, client, as_of: dt.date | None = None, *,
                      resolution: int | None = DEFAULT_RESOLUTION, retries: int = DEFAULT_RETRIES,
                      progress: Progress | None = None) -> ScoreSummary:
    """A full scoring run in H3 partitions of ``resolution`` (None: chosen from the data) on the Dask ``client``'s
    workers, which connect to ``url`` (the database of ``conn``, reachable from them).  Returns what was done
    (``partitions``, ``partition_resolution``, ``halo_m``: as used)."""
    t0 = time.perf_counter()
    as_of = as_of or dt.date.today()
    version = model["version"]
    autocommit = conn.autocommit
    if autocommit:
        conn.autocommit = False
    summary = ScoreSummary(full=True)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK,))
        free = cur.fetchone()[0]
    conn.commit()
    if not free:
        if autocommit:
            conn.autocommit = True
        raise Conflict("another scoring run is under way on this database (partitioned, or a single-process run "
                       "such as the API's re-scoring after a write): nothing was done; run it again when it has "
                       "ended")
    try:
        # 1. before
        with conn.cursor() as cur:
            cur.execute(sql_text("take_changes"))
            cur.execute("SELECT (SELECT count(*) FROM riskmap_run_dirty) + (SELECT count(*) FROM "
                        "riskmap_run_removed) + (SELECT count(*) FROM riskmap_run_records)")
            summary.changes = int(cur.fetchone()[0])
        execute(conn, sql_text("pipeline_segments"), {**model["context"], "ids": None})
        max_impact = _set_impact_distances(conn, model, None)
        recorder = history.RunRecorder()
        recorder.read_before(conn, {k: None for k in ("enterprise", "tailings_pond", "venue", "pipeline_segment")})
        conn.commit()
        parts = plan_partitions(conn, resolution)
        conn.rollback()
        halo = halo_m(model, max_impact)
        summary.phases["before"] = time.perf_counter() - t0
        summary.partitions = len(parts)
        summary.partition_resolution = h3.get_resolution(parts[0].cell) if parts else resolution
        summary.halo_m = halo
        total = len(parts) + 2
        if progress:
            progress("partitions planned", 1, total)

        # 2. the partitions
        t1 = time.perf_counter()
        try:
            results = _run_partitions(client, url, model, as_of, parts, halo, max_impact, retries, progress, total)
        finally:
            _close_connections(client, url)
        for r in results:
            for kind, n in r.scored.items():
                summary.scored[kind] = summary.scored.get(kind, 0) + n
        summary.halo_misses = sum(r.misses for r in results)

        summary.phases["partitions"] = time.perf_counter() - t1
        summary.phases["partition_work"] = sum(r.seconds for r in results)  # (summed over the workers)
        t2 = time.perf_counter()

        # 3. after
        with conn.cursor() as cur:
            cur.execute("LOCK TABLE feature_risk IN EXCLUSIVE MODE")
        drop_stale_rows(conn)
        store_factor_defs(conn, [d for r in results for d in r.factor_defs], version)
        _roll_up_pipelines(conn, version, None)
        recount_site_tiles(conn)
        summary.areas = aggregate_stored(conn, model, version)
        summary.levels = _level_counts(conn)
        summary.seconds = time.perf_counter() - t0
        _note_written(conn, recorder)
        with conn.cursor() as cur:
            cur.execute("INSERT INTO score_run (full_run, changes, scored, areas, seconds, model_version, as_of) "
                        "VALUES (true, %s, %s, %s, %s, %s, %s) RETURNING id, finished_at",
                        (summary.changes, json.dumps(summary.scored), summary.areas, summary.seconds, version,
                         as_of))
            run, finished_at = cur.fetchone()
        summary.history = recorder.append(conn, run, finished_at, as_of)
        summary.history_seconds = recorder.seconds
        with conn.cursor() as cur:
            _place_sites(cur, True)
        conn.commit()
        summary.phases["after"] = time.perf_counter() - t2
        if progress:
            progress("areas", total, total)
    except BaseException:
        conn.rollback()
        _leave_for_a_full_run(conn)
        raise
    finally:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (RUN_LOCK,))
            conn.commit()
        except psycopg2.Error:  # (a connection lost: the lock went with its session; the run's error is the news)
            pass
        if autocommit:
            conn.autocommit = True
    summary.seconds = time.perf_counter() - t0
    return summary


def _run_partitions(client, url: str, model: dict, as_of: dt.date, parts: list[Partition], halo: float,
                    max_impact: float, retries: int, progress: Progress | None,
                    total: int) -> list[PartitionResult]:
    """Submit every partition and wait for each, in the order they finish.  A partition that fails on every
    attempt does not stop the others (a running task cannot be stopped midway, and their work is good): when all
    are done, PartitionFailed names those that failed."""
    from distributed import as_completed

    run = uuid.uuid4().hex  # (names this run's connections on the workers)
    futures = {client.submit(run_partition, url, model, as_of, p, halo, max_impact, run, retries=retries,
                             pure=False, key=f"riskmap-partition-{p.cell}-{time.time_ns()}"): p for p in parts}
    results, failed = [], []
    done = 1
    for future in as_completed(list(futures)):
        part = futures[future]
        done += 1
        if future.status == "finished":
            results.append(future.result())
        else:
            try:
                error = future.exception()
            except Exception as e:  # noqa: BLE001 - a future cancelled (its workers lost) has no exception of its own
                error = e
            failed.append((part, error))
        if progress:
            progress(f"partition {part.cell}", done, total)
    if failed:
        part, error = failed[0]
        others = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
        raise PartitionFailed(f"partition {part.cell} ({part.size} features){others} failed {retries + 1} times, "
                              f"last with: {type(error).__name__}: {error}; the rows of a failed partition are as "
                              "they were before this run, and the next `riskmap score` is a full run") from error
    return results


def _close_connections(client, url: str) -> None:
    """The workers' kept connections to ``url`` closed (a worker lost meanwhile took its own with it)."""
    try:
        client.run(close_worker_connections, url)
    except Exception:  # noqa: BLE001 - a worker gone or unreachable: its connections ended with it
        logging.getLogger(__name__).warning("could not close the Dask workers' connections", exc_info=True)


def _note_written(conn, recorder: history.RunRecorder) -> None:
    """The rows the partitions wrote, for the history's comparison with the scores before."""
    import pyarrow as pa

    from geo.risk.store import query_frame

    frame = query_frame(conn, "SELECT kind, feature_id, score, level, lon, lat FROM feature_risk "
                              "WHERE kind IN ('enterprise', 'tailings_pond', 'venue')",
                        column_types={"kind": pa.string(), "feature_id": pa.int64(), "score": pa.float64(),
                                      "level": pa.string(), "lon": pa.float64(), "lat": pa.float64()})
    recorder.note_written(pa.Table.from_pandas(frame, preserve_index=False))


def _leave_for_a_full_run(conn) -> None:
    """After a failed run: record a change of unknown extent, so that the next run is a full one (the run took
    the change records that said what changed)."""
    try:
        execute(conn, "INSERT INTO risk_dirty (kind, extent) VALUES ('enterprise', NULL)")
        conn.commit()
    except Exception:  # noqa: BLE001 - the run's own error is the one to report
        conn.rollback()
