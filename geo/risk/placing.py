"""Places for area scope found beside a full scoring run, on a second connection (issue 18: national scoring).

A full run must give every site and every cell it writes its place for users limited to areas (migrations 0019,
0025, 0036: the admin codes of the areas whose outline covers the point).  On a first run after a national import
that is every one of 6.3 million sites and millions of cells, a third of the run's database time, and the run's
transaction did it on one core while the other waited.  A ``Placer`` does it on a connection of its own, at the
same time as the run, each job in a transaction of its own that holds the areas (SHARE):

- ``place_sites(kind)`` (from the run's start: a site's place depends on the site and the areas only) places the
  sites of a class that have none straight into ``scope_site`` and, before it commits, drops the places of rows
  changed meanwhile (migration 0039, ``riskmap_scope_place_class_beside``: no place outlives its site's position);
- ``place_cells(keys, ...)`` places H3 cells (from their ids, at the centre of their hexagon, as the trigger of
  0025 does) or exposure cells (at their point) in ``scope_cell``, from the rows the run is about to write: a
  cell's place depends on nothing but the cell and the areas.  The run writes those rows meanwhile, its statement
  triggers told to leave their cells alone (``riskmap.cells_placed_later``; scope_state says that cells may lack
  a place).

Before it commits, the run waits for the placer (``RunPlaces.finish``) and calls ``riskmap_scope_refresh()`` as it
always did, which places whatever is still without a place: the sites and cells of a job that failed or could not
see them (rows of the run's own transaction).  The run holds the ``area`` table in SHARE mode for its whole
transaction (``hold_areas``), so the areas cannot change between a place found here and the run's commit (a change
of areas forgets every place: migration 0019).  The places are exactly those the run would have found (the same
SQL function, on the same points).  Every lock the placer waits for is bounded by ``LOCK_TIMEOUT_MS``: anything
that fails here only leaves its work to the run, so a failed or slow placer costs time, never a place.
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


def place_cells_later(conn) -> None:
    """In the run's transaction: its new cells are placed beside it or by its riskmap_scope_refresh()."""
    with conn.cursor() as cur:
        cur.execute("SET LOCAL riskmap.cells_placed_later = on")
        cur.execute("UPDATE scope_state SET cells_placed = false WHERE cells_placed")


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

    def classes(self) -> list[tuple[str, str]]:
        """The classes that have places, and the point each is placed at (migration 0039)."""
        with self._conn.cursor() as cur:
            cur.execute("SELECT site_kind, point_sql FROM riskmap_scope_classes()")
            out = cur.fetchall()
        self._conn.commit()
        return out

    def place_sites(self, kind: str, point_sql: str) -> Future:
        """Place the sites of ``kind`` without a place (the future's result: how many places were kept)."""
        def place(cur):
            cur.execute("SELECT riskmap_scope_place_class_beside(%s, %s)", (kind, point_sql))
            return int(cur.fetchone()[0])
        return self._job(place)

    def place_cells(self, keys, h3: bool, points: pa.ChunkedArray | None = None) -> Future:
        """Place the cells ``keys`` that have no place yet: H3 cells (``h3``: ids in a numpy array, placed at
        their hexagon's centre) or exposure cells (ids and ``points``, hex WKB, as exposure_cell's columns: arrow
        arrays) at their point.  The future's result: how many were new to scope_cell."""
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

    def close(self) -> None:
        """Stop: a job still running is cancelled (what it committed stays: places are right whoever found them)."""
        self._closed = True
        try:
            self._conn.cancel()
        except Exception:  # noqa: BLE001 - (closing anyway)
            pass
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._conn.close()


def _settled(job: Future) -> int | None:
    """Wait for a job: its result, or None when it failed (logged: the run's refresh does its work)."""
    try:
        return job.result()
    except Exception as e:  # noqa: BLE001 - the run places what is left itself
        log.warning("places for area scope left to the scoring run: %s", e)
        return None


class RunPlaces:
    """A scoring run's places found beside it: a full run starts a ``Placer`` (``start``); an incremental run,
    or a run whose placer could not connect, has none, and every call below then does nothing."""

    def __init__(self):
        self.placer: Placer | None = None
        self._jobs: list[Future] = []

    def start(self, worker) -> None:
        """Hold the areas in the run's transaction (on its worker), then start placing the sites beside it."""
        import psycopg2

        worker.call(hold_areas)
        try:
            self.placer = Placer(worker.conn)
            classes = self.placer.classes()
        except psycopg2.Error as e:
            log.warning("no second connection for places, the run places them: %s", e)
            self.close()
            return
        worker.call(place_cells_later)
        self._jobs += [self.placer.place_sites(kind, point) for kind, point in classes]

    def cells(self, keys, h3: bool, points=None) -> None:
        """Place cells the run writes (``Placer.place_cells``)."""
        if self.placer is not None:
            self._jobs.append(self.placer.place_cells(keys, h3, points))

    def finish(self) -> int:
        """Wait for every job; how many places were found beside the run (those of failed jobs are left to the
        run's riskmap_scope_refresh())."""
        return sum(n or 0 for n in map(_settled, self._jobs))

    def close(self) -> None:
        if self.placer is not None:
            self.placer.close()
            self.placer = None
