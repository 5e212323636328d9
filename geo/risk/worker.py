"""One thread that owns the scoring transaction's connection, so PostgreSQL and Python work at the same time.

A full scoring spends about as long in PostgreSQL (loading layers, parsing the results written with COPY) as
in Python (proximity searches, rules, aggregation).  With every database call submitted to this worker in
order, the main thread computes the next class while the previous class's results are being written, and the
order of the calls (hence what each read sees) is exactly the order of submission, as with one thread.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor


class DatabaseWorker:
    """Runs ``fn(conn, *args)`` calls one after another on one background thread."""

    def __init__(self, conn, background: bool = True):
        self.conn = conn
        self.background = background
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskmap-db") if background else None
        self._pending: list[Future] = []
        self._failure: BaseException | None = None

    def _run(self, fn, args, kwargs):
        # after a failure the transaction is aborted: later calls report the first failure, not a consequence
        if self._failure is not None:
            raise self._failure
        try:
            return fn(self.conn, *args, **kwargs)
        except BaseException as e:
            self._failure = e
            raise

    def submit(self, fn, *args, **kwargs) -> Future:
        """Queue a call (or, without a background thread, run it now); its result or exception is in the
        returned future."""
        if self._pool is None:
            future: Future = Future()
            try:
                future.set_result(self._run(fn, args, kwargs))
            except BaseException as e:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(e)
        else:
            future = self._pool.submit(self._run, fn, args, kwargs)
        # (the calls done are let go, with their results, unless they failed: drain raises the first failure)
        self._pending = [f for f in self._pending if not f.done() or f.exception() is not None]
        self._pending.append(future)
        return future

    def call(self, fn, *args, **kwargs):
        """Queue a call and wait for its result."""
        return self.submit(fn, *args, **kwargs).result()

    def drain(self) -> None:
        """Wait for every queued call; the first failure is raised."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        """Wait for the queue to empty (without raising) and stop the thread."""
        for future in self._pending:
            future.exception()
        self._pending = []
        if self._pool is not None:
            self._pool.shutdown(wait=True)
