"""The API's writes run in writer processes, not in the process that answers requests.

A write of one record or feature goes through the importer (geo/importer.py: the same checks, the same report
as ``riskmap import``), which is pandas work: 25-30 ms of Python per write, holding the interpreter the request
threads and the event loop take turns at.  Under 50 clients with one write in 200 requests, that cost the reads
about a tenth of their rate and a quarter of their p99 (docs/benchmarks.md, bench/load).  So the write routes
check the body in the request (a 422 at once), and hand the database work to a small pool of processes
(``Writer``): started from the same "forkserver" as the background scoring (api/rescoring.py), each holding one
connection of its own, opened as the request threads' are (api/pool.py), and reopened after a database restart.

A job runs as the request would have run it: on a connection scoped to the caller's areas (row-level security,
``api.dependencies.SCOPE``) and tagged with the caller's name, address and request for the audit trail, both
undone before the next job.  Its result, or its exception, comes back to the request (the domain's errors and
the database's pickle whole, with their SQLSTATE: api/errors.py maps them as if raised in the request).  If a
writer process dies in the middle of a write, its transaction dies with its connection (nothing half-written);
that request gets a 500 saying the write may not have happened, and the next write starts a new process.  A
writer process whose server process was killed (so could not stop it) sees it gone and ends within a second.

They run at a lower CPU priority than the requests (``NICE``).  ``WRITER_PROCESSES`` bounds the processes: writes
of one kind take turns anyway (api/routes/writes.py), and a few cover writes of different kinds at once; more
writes than processes wait in line, holding no thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import psycopg2
import psycopg2.extensions
from fastapi import Depends, Request

from api.dependencies import SCOPE, UNSCOPE, request_origin
from api.rescoring import _context
from geo import audit
from geo.planning.campaign_runs import Owner

log = logging.getLogger("riskmap.api")

WRITER_PROCESSES = 3
# The writer processes' CPU priority below the request threads' (and above the background scoring's, nice 10,
# which follows the writes): under load the map's reads go first, and a write, whose answer waits for its
# re-scoring anyway, takes what they leave (bench/load: about 30 ms of CPU a write here).
NICE = 5
WATCH_S = 1.0  # how often a writer process looks whether its server is still there
T = TypeVar("T")


class WriterLost(RuntimeError):
    """The writer process running a write ended before answering (killed, out of memory)."""


@dataclass(frozen=True)
class Caller:
    """Who a write is for: the areas the caller is limited to (empty: every area), and the audit trail's tags."""

    areas: tuple[str, ...] = ()
    writer: str | None = None
    client: str | None = None
    request: str | None = None


class Writer:
    """A pool of writer processes for one app (``app.state.writer``)."""

    def __init__(self, url: str, processes: int = WRITER_PROCESSES):
        self.url, self.processes = url, processes
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the writer is closed (the service is stopping)")
            if self._executor is None:
                self._executor = ProcessPoolExecutor(self.processes, mp_context=_context(), initializer=_start,
                                                     initargs=(self.url, Owner.this_process()))
            return self._executor

    def _lost(self, executor: ProcessPoolExecutor) -> None:
        """Forget a pool whose process died (a broken pool takes no more work); the next write starts another."""
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def warm(self) -> None:
        """Start a writer process now, so that the first write does not wait for one."""
        try:
            self._pool().submit(_ready)
        except (BrokenProcessPool, RuntimeError) as e:
            log.warning("could not start a writer process: %s", e)

    async def run(self, caller: Caller, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` in a writer process, as ``caller``; its result, or its exception raised here.
        ``fn`` is a module-level function and its arguments plain data (they are pickled)."""
        executor = self._pool()
        try:
            future = executor.submit(_job, caller, fn, args)
        except BrokenProcessPool:
            self._lost(executor)
            executor = self._pool()
            future = executor.submit(_job, caller, fn, args)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as e:
            self._lost(executor)
            raise WriterLost("the process making this write ended before it answered; the write may not have "
                             "been made: look it up, or send it again") from e

    def close(self) -> None:
        """Let the writes under way finish, then stop the processes."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


class Writing:
    """The writer bound to one request's caller (a request dependency): ``await writing.run(fn, *args)``."""

    def __init__(self, writer: Writer, caller: Caller):
        self.writer, self.caller = writer, caller

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.writer.run(self.caller, fn, *args)


async def _writing(request: Request) -> Writing:
    client, origin = request_origin(request)
    caller = Caller(areas=tuple(request.state.principal.areas), writer=getattr(request.state, "writer", None),
                    client=client, request=origin)
    return Writing(request.app.state.writer, caller)


Write = Annotated[Writing, Depends(_writing)]


# --- in the writer process ---------------------------------------------------------------------------------------

_connections = None  # this process's one-connection api.pool.Pool


def _start(url: str, server: Owner) -> None:
    global _connections
    from api.pool import Pool

    os.nice(NICE)
    _connections = Pool(url, maxconn=1, application_name="riskmap-writer")
    _connections.migrated = True  # the API's own pool migrates
    threading.Thread(target=_end_with, args=(server,), name="riskmap-writer-watch", daemon=True).start()


def _end_with(server: Owner) -> None:
    """End this process once the server process is gone (killed: it could not shut the pool down).  A writer
    process waits for work on a queue it holds both ends of, so it would otherwise wait for ever; its parent is the
    fork server, so the server is looked up itself (as a campaign's worker does, api/campaigns.py)."""
    while True:
        time.sleep(WATCH_S)
        if server.alive() is False:
            os._exit(0)


def _ready() -> int:
    return 0


def _job(caller: Caller, fn: Callable[..., T], args: tuple) -> T:
    conn = _connections.getconn()  # the idle connection, unless the server ended it (then a new one)
    broken = False
    try:
        _enter(conn, caller)
        try:
            return fn(conn, *args)
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
            broken = getattr(e, "pgcode", None) is None  # a failed connection; a server's error leaves it usable
            raise _picklable(e) from None
        except BaseException as e:
            raise _picklable(e) from None
    finally:
        if not broken and not conn.closed:
            broken = not _leave(conn, caller)
        _connections.putconn(conn, broken=broken)


def _enter(conn, caller: Caller) -> None:
    if caller.areas:
        with conn.cursor() as cur:
            cur.execute(SCOPE, {"areas": list(caller.areas)})
    if caller.writer is not None:
        audit.tag(conn, caller.writer, caller.client, caller.request)


def _leave(conn, caller: Caller) -> bool:
    """Undo the job's scope and tags (the next job is someone else's); False when that failed."""
    try:
        if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            conn.rollback()
        if caller.writer is not None:
            audit.untag(conn)
        if caller.areas:
            with conn.cursor() as cur:
                cur.execute(UNSCOPE)
        return True
    except psycopg2.Error:
        return False


def _picklable(e: BaseException) -> BaseException:
    """``e``, or, when it cannot cross back to the request's process, a RuntimeError with its message (a 500)."""
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:
        log.exception("a write failed with an error that cannot be passed on")
        return RuntimeError(f"{type(e).__name__}: {e}")
