"""A full scoring run in spatial partitions on a Dask cluster (issue 18 item 2): `riskmap score --workers N`
starts a local cluster of N worker processes, `riskmap score --scheduler tcp://HOST:8786` uses one that runs.

The run has four parts:

1. *Before* (here, one transaction): the change records are taken (a partitioned run is a full run), the
   pipelines are cut into segments and their impact distances set, the exposed settlements emptied (the
   partitions add them again), and the scores before are read for the history.  Then the partitions are planned
   (geo/risk/partitions.py ``plan_partitions``).
2. *The partitions* (on the workers): each worker connects to PostGIS with the URL it is given, scores one
   partition with its halo and writes it (one transaction that deletes the partition's rows, COPYs its new
   ones and adds the settlements its red and orange features expose).
3. *The areas* (on the workers): when every partition is written, the results of features that no longer
   exist are dropped (here), and then each group of areas (admin areas by province, H3 cells by a coarse
   ancestor: geo/risk/area_groups.py) is aggregated from the stored scores of its region and written (one
   transaction that deletes the group's rows and COPYs its new ones).
4. *After* (here, one transaction): the area rows no group owned are deleted, the pipelines rolled up from
   their segments, the site tiles counted again, the exposure surface computed from the stored scores, and the
   run and its history recorded, as a whole run does.

A worker keeps its connection from one task to the next, and the run closes it when the tasks are done.  A task
that fails is run again (``retries`` times, by Dask, on a new connection); when one fails every time, the
others still finish and the run then stops with :class:`PartitionFailed`, the failed task's rows as they were
before the run.  While 2 and 3 run, readers see each partition's and each group's rows as they are written, not
the whole run's at once.

A run that fails leaves a change record of unknown extent, so the next `riskmap score` is a full run (the change
records taken in 1 are no longer there to say what changed).  The single-process run (geo/risk/scoring.py
``score``) stays the default: on data that fit one machine it has no per-partition overhead.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager

import h3
import psycopg2

from geo.errors import ClusterUnavailable, Conflict, PartitionFailed
from geo.risk import area_groups, history
from geo.risk.aggregate import build_exposure_surface
from geo.risk.area_groups import AreaGroup, GroupResult, aggregate_group, group_resolution
from geo.risk.partitions import (
    Partition,
    PartitionResult,
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


def _on_worker(url: str, run: str, work, *args):
    """``work(conn, *args)`` on the worker's kept connection for the run ``run`` (dropped after an error)."""
    conn = _worker_connection(url, run)
    try:
        return work(conn, *args)
    except BaseException:
        _drop_worker_connection(url)  # (whatever state it is in, the retry starts on a new one)
        raise


def run_partition(url: str, model: dict, as_of: dt.date, part: Partition, halo: float,
                  max_impact_m: float, area_resolution: int, run: str) -> PartitionResult:
    """One partition of the run ``run`` on a worker: its rows computed and written (``tables`` and ``exposed``
    are dropped from the result sent back: the rows are in the database)."""
    def work(conn):
        t0 = time.perf_counter()
        result = score_partition(conn, model, as_of, part, halo, max_impact_m, area_resolution)
        conn.rollback()  # (the reads' snapshot; the write opens its own transactions)
        write_partition(conn, result)
        result.tables, result.exposed = {}, None
        result.seconds = time.perf_counter() - t0  # (reading, scoring and writing)
        return result

    return _on_worker(url, run, work)


def run_area_group(url: str, model: dict, group: AreaGroup, resolution: int, run: str) -> GroupResult:
    """One group of areas of the run ``run`` on a worker, computed and written."""
    return _on_worker(url, run, aggregate_group, model, group, resolution)


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
        execute(conn, "DELETE FROM settlement_exposed")  # (the partitions add those their hot features expose)
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

        # 2. the partitions, 3. the areas
        area_resolution = group_resolution(model, summary.partition_resolution or 0)
        run = uuid.uuid4().hex  # (names this run's connections on the workers)
        t1 = time.perf_counter()
        try:
            results = _on_workers(client, "partition", [
                (p.cell, p.size, run_partition, (url, model, as_of, p, halo, max_impact, area_resolution, run))
                for p in parts], retries, progress, 1, total)
            for r in results:
                for kind, n in r.scored.items():
                    summary.scored[kind] = summary.scored.get(kind, 0) + n
            summary.halo_misses = sum(r.misses for r in results)
            summary.phases["partitions"] = time.perf_counter() - t1
            summary.phases["partition_work"] = sum(r.seconds for r in results)  # (summed over the workers)

            t2 = time.perf_counter()
            drop_stale_rows(conn)  # (before the areas read the scores)
            conn.commit()
            groups = area_groups.admin_groups(conn) + area_groups.h3_groups(
                {c for r in results for c in r.area_cells}, area_resolution)
            density: Counter[str] = Counter()
            for r in results:
                density.update(r.density)
            groups = area_groups.by_cost(groups, density, area_resolution)  # (Dask starts them in this order)
            conn.rollback()
            summary.area_groups = len(groups)
            total = len(parts) + len(groups) + 2
            written = _on_workers(client, "area group", [
                (g.name, None, run_area_group, (url, model, g, area_resolution, run)) for g in groups],
                retries, progress, 1 + len(parts), total)
            summary.areas = sum(w.rows for w in written)
            summary.phases["areas"] = time.perf_counter() - t2
        finally:
            _close_connections(client, url)
        t3 = time.perf_counter()

        # 4. after
        with conn.cursor() as cur:
            cur.execute("LOCK TABLE feature_risk IN EXCLUSIVE MODE")
        area_groups.sweep(conn, model, groups, area_resolution)
        store_factor_defs(conn, [d for r in results for d in r.factor_defs], version)
        _roll_up_pipelines(conn, version, None)
        recount_site_tiles(conn)
        build_exposure_surface(conn, model)
        summary.levels = _level_counts(conn)
        summary.seconds = time.perf_counter() - t0
        _note_written(conn, recorder)
        with conn.cursor() as cur:
            cur.execute("INSERT INTO score_run (full_run, changes, scored, areas, seconds, model_version, as_of) "
                        "VALUES (true, %s, %s, %s, %s, %s, %s) RETURNING id, finished_at",
                        (summary.changes, json.dumps(summary.scored), summary.areas, summary.seconds, version,
                         as_of))
            run_id, finished_at = cur.fetchone()
        summary.history = recorder.append(conn, run_id, finished_at, as_of)
        summary.history_seconds = recorder.seconds
        with conn.cursor() as cur:
            _place_sites(cur, True)
        conn.commit()
        summary.phases["after"] = time.perf_counter() - t3
        if progress:
            progress("after", total, total)
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


def _on_workers(client, what: str, tasks: list[tuple], retries: int, progress: Progress | None, done: int,
                total: int) -> list:
    """Submit every task (name, size or None, function, arguments) and wait for each, in the order they finish.
    A task that fails on every attempt does not stop the others (a running task cannot be stopped midway, and
    their work is good): when all are done, PartitionFailed names those that failed."""
    from distributed import as_completed

    futures = {client.submit(fn, *args, retries=retries, pure=False,
                             key=f"riskmap-{what.replace(' ', '-')}-{name}-{time.time_ns()}"): (name, size)
               for name, size, fn, args in tasks}
    results, failed = [], []
    for future in as_completed(list(futures)):
        name, size = futures[future]
        done += 1
        if future.status == "finished":
            results.append(future.result())
        else:
            try:
                error = future.exception()
            except Exception as e:  # noqa: BLE001 - a future cancelled (its workers lost) has no exception of its own
                error = e
            failed.append((name, size, error))
        if progress:
            progress(f"{what} {name}", done, total)
    if failed:
        name, size, error = failed[0]
        others = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
        sized = f" ({size} features)" if size is not None else ""
        raise PartitionFailed(f"{what} {name}{sized}{others} failed {retries + 1} times, last with: "
                              f"{type(error).__name__}: {error}; the rows of a failed {what} are as they were "
                              "before this run, and the next `riskmap score` is a full run") from error
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
