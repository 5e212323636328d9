"""The API's connection pool (``Pool``): the request threads' connections, and a writer process's own
(api/writer.py)."""

from __future__ import annotations

import logging
import select
import threading

import psycopg2
import psycopg2.extensions
import psycopg2.pool

from api.routes import PreparingConnection
from geo import store

log = logging.getLogger("riskmap.api")

POOL_MAX = 16  # connections at most; a request waits POOL_WAIT_S for one, then gets a 503
POOL_WAIT_S = 5.0
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 30_000  # a runaway query ends as a 504 (api/errors.py), not a hung worker


class Pool:
    """A thread-safe connection pool that connects lazily, keeps its connections open, waits briefly when all
    are in use and migrates the schema once.

    (psycopg2's own pools connect ``minconn`` connections in their constructor, fail at once when all are in
    use, and close every connection returned beyond ``minconn``: under load that is a new PostgreSQL backend,
    and a password exchange, for most requests.)  Up to ``maxconn`` connections are open at a time; a caller
    waits up to ``wait_s`` for one, then gets ``PoolError`` (a 503).
    """

    def __init__(self, url: str, maxconn: int = POOL_MAX, wait_s: float = POOL_WAIT_S,
                 application_name: str = "riskmap-api"):
        self.url, self.application_name = url, application_name
        self.maxconn, self.wait_s = maxconn, wait_s
        self._idle: list[psycopg2.extensions.connection] = []
        self._slots = threading.BoundedSemaphore(maxconn)
        self._lock = threading.Lock()
        self._closed = False
        self.migrated = False

    def _connect(self) -> psycopg2.extensions.connection:
        return psycopg2.connect(
            self.url, connect_timeout=CONNECT_TIMEOUT_S, application_name=self.application_name,
            connection_factory=PreparingConnection,
            # JIT compiles for hundreds of milliseconds to save a few on these short, indexed queries; the
            # prepared statements (api.routes.execute_prepared) keep one plan (their plans do not depend on the
            # values: KNN index scans), which saves about 0.7 ms of a 5.5 ms near query
            # UTF-8 whatever the server's encoding: documents are passed on as bytes (JSON is UTF-8, RFC 8259)
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c jit=off -c plan_cache_mode=force_generic_plan "
                    "-c client_encoding=UTF8")

    def getconn(self) -> psycopg2.extensions.connection:
        if not self._slots.acquire(timeout=self.wait_s):
            raise psycopg2.pool.PoolError(f"connection pool exhausted: no connection free within {self.wait_s} s")
        try:
            conn = self._idle_connection()
            if conn is None:
                conn = self._connect()
            if not self.migrated:
                self._migrate(conn)
            if not conn.autocommit:
                # each read is its own transaction: no BEGIN before it and no ROLLBACK after it (one round
                # trip a request instead of two); code that writes opens its own transaction (imports, scoring)
                conn.autocommit = True
            return conn
        except BaseException:
            self._slots.release()
            raise

    def _idle_connection(self) -> psycopg2.extensions.connection | None:
        """The most recently used idle connection that is still open; the dead ones met on the way are closed.

        A connection the server ended while it sat idle (a database restart, an administrator's
        pg_terminate_backend, a server crash) is not marked closed until it is used, and using it fails the request
        with a 503 even though the server may be back: after a restart, every connection pooled before it would
        fail one request each.  The server ends a connection by sending its last message (FATAL 57P01) and closing
        it, so an idle connection whose socket has something to read is a dead one: checked with a poll that
        does not wait and does not talk to the server (unlike a "SELECT 1" before each use, which would cost a
        round trip on every request)."""
        dead = []
        conn = None
        with self._lock:
            while self._idle:
                candidate = self._idle.pop()
                if candidate.closed or _has_input(candidate):
                    dead.append(candidate)
                else:
                    conn = candidate
                    break
        for candidate in dead:
            candidate.close()
        return conn

    def putconn(self, conn: psycopg2.extensions.connection, broken: bool = False) -> None:
        try:
            if not broken and not conn.closed:
                try:
                    if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                        conn.rollback()  # a transaction left open: a pooled connection starts clean
                    conn.autocommit = True
                except psycopg2.Error:
                    broken = True
            with self._lock:
                keep = not (broken or conn.closed or self._closed)
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()
        finally:
            self._slots.release()

    def _migrate(self, conn) -> None:
        with self._lock:
            if not self.migrated:
                applied = store.migrate(conn)
                if applied:
                    log.info("applied migrations: %s", ", ".join(f"{m.version:04d}_{m.name}" for m in applied))
                self.migrated = True

    def migrate_now(self) -> None:
        """Migrate at startup when the database is reachable; log and carry on when it is not."""
        try:
            conn = self.getconn()
        except (psycopg2.OperationalError, psycopg2.pool.PoolError) as e:
            log.warning("database %s unavailable at startup (%s); serving 503 until it is back",
                        store.redact(self.url), str(e).strip())
            return
        self.putconn(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _has_input(conn: psycopg2.extensions.connection) -> bool:
    """Whether the server has sent something on an idle connection (it does so only when it ends it)."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))
