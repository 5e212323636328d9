"""Places for area scope found beside a full scoring run, on a second connection (issue 18: national scoring).

A full run must give every site and every cell it writes its place for users limited to areas (migrations 0019,
0025, 0036: the admin codes of the areas whose outline covers the point).  On a first run after a national import
that is every one of 6.3 million sites and millions of cells, a third of the run's database time, and the run's
transaction did it on one core while the other waited.  A ``Placer`` does it on a connection of its own, at the
same time as the run:

- ``stage_sites()`` (at the run's start: places depend on the sites and the areas only) places the sites without
  a place into ``scope_site_staged`` with the version (xmin) of each row placed, and commits; the run takes them
  into ``scope_site`` before its own ``riskmap_scope_refresh()`` (``take_staged``), only where the site's row is
  still that version (migration 0039), so a site moved or deleted meanwhile is placed by the run as before.
- ``place_cells(keys, ...)`` places H3 cells (from their ids, at the centre of their hexagon, as the trigger of
  0025 does) or exposure cells (at their point) in ``scope_cell`` and commits: a cell's place depends on nothing
  but the cell and the areas.  The run waits for it (``settled``) before it writes those cells, whose triggers
  then find them placed.

The run takes the ``area`` table in SHARE mode for its whole transaction (``hold_areas``), so the areas cannot
change between a place found here and the run's commit (a change of areas forgets every place: migration 0019).
The places are exactly those the run would have found (the same SQL function, on the same points).  Every lock
the placer waits for is bounded by ``LOCK_TIMEOUT_MS``, and anything that fails here only leaves the work to the
run's transaction, which places what is still unplaced as it always did: a failed or slow placer costs time,
never a place.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa

from geo.risk.store import COPY_CHUNK_ROWS, copy_rows, sql_text

log = logging.getLogger(__name__)

LOCK_TIMEOUT_MS = 2000  # the longest the placer waits for a lock (the run waits for the placer)


def hold_areas(conn) -> None:
    """Keep the areas as they are until the run's transaction ends (SHARE: readers go on, area writes wait)."""
    with conn.cursor() as cur:
        cur.execute("LOCK TABLE area IN SHARE MODE")


def take_staged(conn) -> int:
    """In the run's transaction: the staged places of sites still as placed; the staging emptied."""
    with conn.cursor() as cur:
        cur.execute("SELECT riskmap_scope_take_staged()")
        return int(cur.fetchone()[0])


class Placer:
    """Places found on a connection of its own, one job at a time, each its own transaction (see the module)."""

    def __init__(self, conn):
        from geo.risk.context import _connect_like

        self._conn = _connect_like(conn)
        self._conn.autocommit = False
        with self._conn.cursor() as cur:
            cur.execute("SET lock_timeout = %s", (LOCK_TIMEOUT_MS,))
            cur.execute("SET application_name = 'riskmap scoring: places'")
        self._conn.commit()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskmap-places")
        self._closed = False

    def _job(self, fn, *args) -> Future:
        return self._pool.submit(self._in_transaction, fn, *args)

    def _in_transaction(self, fn, *args):
        try:
            with self._conn.cursor() as cur:
                cur.execute("LOCK TABLE area IN SHARE MODE")
                out = fn(cur, *args)
            self._conn.commit()
            return out
        except BaseException:
            if not self._closed:
                self._conn.rollback()
            raise

    def stage_sites(self) -> Future:
        """Stage the places of every site without one (the future's result: how many)."""
        def stage(cur):
            cur.execute("SELECT riskmap_scope_stage_sites()")
            return int(cur.fetchone()[0])
        return self._job(stage)

    def place_cells(self, keys, h3: bool, points: pa.ChunkedArray | None = None) -> Future:
        """Place the cells ``keys`` that have no place yet: H3 cells (``h3``: ids in a numpy array, placed at
        their hexagon's centre) or exposure cells (ids and ``points``, hex WKB, as exposure_cell's columns: arrow
        arrays) at their point.  The future's result: how many were
        new to scope_cell."""
        def place(cur):
            from geo.risk.aggregate import h3_polygons_wkb

            cur.execute("CREATE TEMP TABLE riskmap_scope_incoming (key text, shape geometry(Geometry, 4326)) "
                        "ON COMMIT DROP")

            def chunks():
                for i in range(0, len(keys), COPY_CHUNK_ROWS):
                    if h3:
                        part = keys[i:i + COPY_CHUNK_ROWS]
                        yield pa.table({"key": pa.array(part, pa.string()),
                                        "shape": pa.array([w.hex() for w in h3_polygons_wkb(part)], pa.string())})
                    else:
                        yield pa.table({"key": keys.slice(i, COPY_CHUNK_ROWS),
                                        "shape": points.slice(i, COPY_CHUNK_ROWS)})

            if len(keys):
                copy_rows(cur, "riskmap_scope_incoming", ["key", "shape"], chunks())
            cur.execute(sql_text("scope_place_cells_beside"), {"centre": h3})
            return cur.rowcount
        return self._job(place)

    @staticmethod
    def settled(job: Future | None) -> bool:
        """Wait for a job; whether it did its work (a failure is logged: the run's transaction does the work)."""
        if job is None:
            return False
        try:
            job.result()
            return True
        except Exception as e:  # noqa: BLE001 - the run places what is left itself
            log.warning("places for area scope left to the scoring run: %s", e)
            return False

    def close(self) -> None:
        """Stop: a job still running is cancelled (what it committed stays: places are right whoever found them)."""
        self._closed = True
        try:
            self._conn.cancel()
        except Exception:  # noqa: BLE001 - (closing anyway)
            pass
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._conn.close()


class RunPlaces:
    """A scoring run's places found beside it: a full run starts a ``Placer`` (``start``); an incremental run,
    or a run whose placer could not connect, has none, and every call below then does nothing."""

    def __init__(self):
        self.placer: Placer | None = None
        self._sites: Future | None = None
        self._cells: list[Future] = []
        self.sites_taken = 0

    def start(self, worker) -> None:
        """Hold the areas in the run's transaction (on its worker), then start placing the sites beside it."""
        import psycopg2

        worker.call(hold_areas)
        try:
            self.placer = Placer(worker.conn)
        except psycopg2.Error as e:
            log.warning("no second connection for places, the run places them: %s", e)
            return
        self._sites = self.placer.stage_sites()

    def cells(self, keys, h3: bool, points=None) -> Future | None:
        if self.placer is None:
            return None
        job = self.placer.place_cells(keys, h3, points)
        self._cells.append(job)
        return job

    def take_sites(self, conn) -> int:
        """In the run's transaction, once the staging is done: the staged places still valid (0 without any)."""
        self.sites_taken = take_staged(conn) if Placer.settled(self._sites) else 0
        return self.sites_taken

    def placed(self) -> int:
        """How many places were found beside the run and used: sites taken, cells new to scope_cell."""
        cells = sum(j.result() for j in self._cells if j.done() and not j.cancelled() and j.exception() is None)
        return self.sites_taken + cells

    def close(self) -> None:
        if self.placer is not None:
            self.placer.close()
            self.placer = None
