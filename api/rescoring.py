"""Bringing the scores up to date after writes, in the background: one run at a time, in a scoring process.

A write (an upload, a feature added, changed or deleted) commits its data and then asks the ``Rescorer`` for a
run of ``geo.risk.scoring.score`` (changes only).  The run happens in a worker process, not in the request:

- the request's own work stays bounded: it waits at most ``rescore_wait_s`` for the run that covers its write
  and answers either with that run's summary (``state: done``) or with ``state: pending`` (the write is
  committed either way, so the status is 2xx either way); ``GET /health`` shows the scores' state meanwhile;
- a long run (a backlog of changes, a large upload) cannot starve the other requests: it runs outside this
  process's interpreter (scoring is CPU-bound Python and numpy work that would otherwise hold the GIL the
  request threads need) and at a lower CPU priority (nice 10);
- writes that arrive during a run are covered by the next run, so a burst of edits costs one or two runs, not
  one each;
- a run starts at most once every ``min_interval_s`` (1 s): a run costs about 0.1 s of CPU for one changed site
  (0.2 s before the small-input paths of 2026-12-05, bench/rescore/few.py) and hardly more for a few, so under
  a steady stream of inspectors' writes (bench/load: two a second) one run a second covers them all, where a
  run per write took a tenth of the machine from the map's readers.  A write after a quiet second starts its
  run at once; its scores follow within about a second either way.

The scoring process starts from a "forkserver" that has imported the scoring modules once (``warm()`` starts it
with the app), with no connection or thread inherited from the API process, and is kept from one run to the
next with its connection: a run costs its own work only (a process per run cost about 0.15 s more a run, and
runs come every second or two under a steady stream of inspectors' writes).  If it dies, the run it was doing
reports the failure and the next run starts another; a connection that went away is made again.  As with every
program whose processes start this way, the main module of the program that creates the app is imported again
in the scoring process: riskmap's entry points (``riskmap serve``, uvicorn's workers) keep their work under
``if __name__ == "__main__"``, and so must a script that embeds ``create_app``.
Several API processes (``--workers``) each have a Rescorer; their runs take turns on the database (``score``
locks ``feature_risk``), and a run that finds nothing left to do ends at once.

A run that fails (the database went away, a deadlock three times over) leaves the change records where they
are: its transaction rolls back whole, so the next write's run, or ``riskmap score``, takes them again.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import random
import threading
import time
import traceback
from dataclasses import dataclass

log = logging.getLogger("riskmap.rescoring")

NICE = 10  # the scoring process's CPU priority below the API's
ATTEMPTS = 3  # a run that loses a deadlock (or a serialisation conflict) is tried again, this many times in all
MIN_INTERVAL_S = 1.0  # a run starts at most this often (module docstring)
CHECK_CLIENT_MS = 2000  # how often the server checks that the scoring process is still there (see _connect)
PRELOAD = ["geo.risk.scoring", "geo.risk.context", "geo.risk.aggregate", "geo.risk.enterprise", "geo.risk.pipeline",
           "geo.risk.tailings_pond", "geo.risk.venue",
           # the writer processes' (api/writer.py): the importer and the write routes' functions they run
           "geo.importer", "geo.records.store", "api.routes.writes", "api.routes.record_writes"]


@dataclass(frozen=True)
class RunOutcome:
    """What one background run did (``error`` set when it failed)."""

    full: bool = False
    changes: int = 0  # change records the run took
    scored: dict | None = None
    areas: int = 0
    seconds: float = 0.0
    error: str | None = None  # for the client: what failed, without the server's details
    detail: str | None = None  # for the log: the exception's message


def _connect(url: str):
    from geo import store

    conn = store.connect(url, application_name="riskmap-rescore")
    if conn.server_version >= 140000:
        # When the API stops it ends the scoring process; without this the server only notices that its client
        # has gone once the statement in progress ends (a long one holds feature_risk's lock meanwhile).
        with conn.cursor() as cur:
            cur.execute("SET client_connection_check_interval = %s", (CHECK_CLIENT_MS,))
        conn.commit()
    return conn


def _scoring_worker(url: str, model: dict, pipe) -> None:
    """The scoring process: at a lower priority, one incremental run of ``score`` for each request that comes down
    ``pipe``, its outcome sent back, until the pipe closes.  It keeps its connection (and what the scoring
    modules keep warm) from one run to the next; a connection that has gone (the database restarted) is made
    again, and the run tried again, as its transaction rolled back whole."""
    try:
        os.nice(NICE)
    except OSError:
        pass
    import psycopg2
    import psycopg2.errors

    from geo.risk.scoring import score

    conn = None
    while True:
        try:
            if pipe.recv() is None:
                break
        except EOFError:  # the API process has gone
            break
        try:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    if conn is None or conn.closed:
                        conn = _connect(url)
                    s = score(conn, model)
                    break
                except (psycopg2.errors.TransactionRollbackError, psycopg2.OperationalError,
                        psycopg2.InterfaceError) as e:  # rolled back whole: safe to run again
                    if not isinstance(e, psycopg2.errors.TransactionRollbackError):
                        conn = _forget(conn)  # (a connection that went away: made again for the next try)
                    if attempt == ATTEMPTS:
                        raise
                    time.sleep(random.uniform(0.5, 1.5) * attempt)
            outcome = RunOutcome(full=s.full, changes=int(s.changes), scored=dict(s.scored), areas=int(s.areas),
                                 seconds=round(s.seconds, 3))
        except BaseException as e:  # noqa: BLE001 - handed to the parent, which logs it and reports it
            conn = _forget(conn)
            outcome = RunOutcome(error=type(e).__name__, detail="".join(traceback.format_exception_only(e)).strip())
        try:
            pipe.send(outcome)
        except (BrokenPipeError, OSError):
            break
    _forget(conn)


def _forget(conn) -> None:
    """Close ``conn`` (if any) whatever state it is in; returns None, the connection the next run starts from."""
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001, S110 - it is being dropped
            pass
    return None


def _context():
    ctx = multiprocessing.get_context("forkserver")
    # the server imports these once; every worker forked from it has them loaded (an import that fails there is
    # skipped, and the run imports what it needs itself)
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


class Rescorer:
    """Runs ``score`` in the background whenever a write asks, one run at a time; requests wait for the run
    that covers them, up to a limit."""

    def __init__(self, url: str, model: dict, min_interval_s: float = MIN_INTERVAL_S):
        self.url = url
        self.model = model
        self.min_interval_s = min_interval_s
        self._last_start: float | None = None  # time.monotonic() when the last run started
        self._cond = threading.Condition()
        self._asked = 0  # tickets handed out
        self._covered = 0  # every ticket up to this one has had a run start after it, and that run has ended
        self._outcomes: dict[int, RunOutcome] = {}  # the outcome of the run that covered each recent ticket
        self._running_since: float | None = None
        self.last: RunOutcome | None = None
        self._closed = False
        self._child = None  # the scoring process (kept from one run to the next)
        self._pipe = None  # our end of its pipe
        self._thread: threading.Thread | None = None
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future]] = []  # of wait_async

    def warm(self) -> None:
        """Start the fork server now (it imports the scoring modules in its own process, in the background), so
        that the first write's run does not wait for those imports."""
        try:
            _context()
            multiprocessing.forkserver.ensure_running()
        except Exception as e:  # noqa: BLE001 - the first run starts it (or reports why it cannot)
            log.warning("could not start the scoring fork server: %s", e)

    # ----- asked by requests ------------------------------------------------------------------------------------

    def request(self) -> int:
        """Ask for a run after a committed write; returns the ticket to wait on."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the rescorer is closed")
            self._asked += 1
            ticket = self._asked
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="riskmap-rescorer", daemon=True)
                self._thread.start()
            self._cond.notify_all()
            return ticket

    def wait(self, ticket: int, timeout: float) -> RunOutcome | None:
        """The outcome of the run covering ``ticket``, or None if it has not finished within ``timeout`` s."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while ticket not in self._outcomes:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(left)
            return self._outcomes[ticket]

    async def wait_async(self, ticket: int, timeout: float) -> RunOutcome | None:
        """As ``wait``, for a coroutine: the waiting takes no thread (a request thread is what the other
        requests need; a write's wait for its scores must not take one from them)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        entry = (ticket, loop, future)
        with self._cond:
            if ticket in self._outcomes:
                return self._outcomes[ticket]
            if self._closed:
                return None
            self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, max(0.0, timeout))
        except TimeoutError:
            return None
        finally:
            with self._cond:
                if entry in self._waiters:
                    self._waiters.remove(entry)

    def _wake(self, upto: int | None) -> None:
        """Answer the coroutines waiting for tickets up to ``upto`` (all of them, with None, when None)."""
        with self._cond:
            due = [w for w in self._waiters if upto is None or w[0] <= upto]
            self._waiters = [w for w in self._waiters if w not in due]
            outcomes = {t: self._outcomes.get(t) if upto is not None else None for t, _, _ in due}
        for ticket, loop, future in due:
            def answer(future=future, outcome=outcomes[ticket]):
                if not future.done():
                    future.set_result(outcome)
            try:
                loop.call_soon_threadsafe(answer)
            except RuntimeError:  # that event loop has closed: nobody waits there any more
                pass

    def state(self) -> dict:
        """This process's view: running or not, since when, and the last outcome."""
        with self._cond:
            return {"running_since": self._running_since, "last": self.last, "asked": self._asked,
                    "covered": self._covered}

    # ----- the background thread --------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._covered >= self._asked and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                # not sooner than min_interval_s after the last run started: the writes meanwhile join this run
                while (not self._closed and self._last_start is not None
                       and (left := self._last_start + self.min_interval_s - time.monotonic()) > 0):
                    self._cond.wait(left)
                if self._closed:
                    return
                self._last_start = time.monotonic()
                upto = self._asked  # this run starts after every write up to this ticket committed
                self._running_since = time.time()
            try:
                outcome = self._run_once()
            except BaseException as e:  # noqa: BLE001 - never leave waiters without an answer
                log.exception("background scoring could not run")
                outcome = RunOutcome(error=type(e).__name__, detail=str(e))
            with self._cond:
                for t in range(self._covered + 1, upto + 1):
                    self._outcomes[t] = outcome
                for t in [t for t in self._outcomes if t <= upto - 1000]:  # keep the recent ones only
                    del self._outcomes[t]
                self._covered = upto
                self._running_since = None
                self.last = outcome
                self._cond.notify_all()
            self._wake(upto)

    def _worker(self):
        """The scoring process and our end of its pipe, started if there is none (or it has died)."""
        if self._child is not None and self._child.is_alive():
            return self._child, self._pipe
        self._stop_worker()
        ctx = _context()
        ours, theirs = ctx.Pipe(duplex=True)
        child = ctx.Process(target=_scoring_worker, args=(self.url, self.model, theirs), daemon=True,
                            name="riskmap-rescore")
        with self._cond:
            if self._closed:
                raise RuntimeError("the service is shutting down")
            child.start()
            self._child, self._pipe = child, ours
        theirs.close()
        return child, ours

    def _stop_worker(self) -> None:
        with self._cond:
            child, pipe = self._child, self._pipe
            self._child = self._pipe = None
        if pipe is not None:
            pipe.close()  # (the worker sees the pipe close and ends)
        if child is not None:
            child.join(timeout=5)
            if child.is_alive():
                child.terminate()
                child.join()

    def _run_once(self) -> RunOutcome:
        try:
            child, pipe = self._worker()
            try:
                pipe.send("run")
                outcome = pipe.recv()  # EOFError: the worker died without answering
            except (EOFError, BrokenPipeError, OSError):
                child.join(timeout=5)
                if self._closed:  # close() ended it
                    log.info("background scoring stopped at shutdown; its changes wait for the next run")
                    return RunOutcome(error="the service is shutting down")
                self._stop_worker()  # the next run starts another
                outcome = RunOutcome(error=f"the scoring process ended with exit code {child.exitcode}")
        except Exception as e:  # noqa: BLE001 - reported in the outcome and the log; the next write retries
            outcome = RunOutcome(error=type(e).__name__, detail="".join(traceback.format_exception_only(e)).strip())
        if outcome.error:
            log.error("background scoring failed: %s", outcome.detail or outcome.error)
        return outcome

    def close(self) -> None:
        """Stop taking requests and stop a run in progress: its transaction rolls back whole, and the changes
        it was scoring stay recorded for the next run (or ``riskmap score``)."""
        with self._cond:
            self._closed = True
            child = self._child
            self._cond.notify_all()
        if child is not None and child.is_alive():
            child.terminate()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._stop_worker()
        self._wake(None)
