"""Request dependencies, as ``Annotated`` aliases: ``def route(conn: Connection, model: RiskModel)``.

They are coroutines: FastAPI runs a plain function dependency in its thread pool, a hop there and back (two for a
generator) on every request, which costs more CPU than the little they do.  Nothing here waits on the database,
except returning a connection that needs a rollback or is broken, which goes to the thread pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import psycopg2
import psycopg2.extensions
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

# A user limited to areas: the connection acts as riskmap_scoped, whose rows row-level security filters (migration
# 0019), with the user's admin codes and every code below them.  The codes are expanded before the role changes
# (the area table is itself filtered for that role).  One round trip, when the connection is taken.
SCOPE = """SELECT set_config('riskmap.area_codes', coalesce((
    WITH RECURSIVE below(code) AS (SELECT unnest(%(areas)s::text[])
                                   UNION SELECT a.admin_code FROM area a JOIN below b ON a.parent_code = b.code)
    SELECT string_agg(code, ',') FROM below), ''), false);
SET ROLE riskmap_scoped"""
UNSCOPE = "RESET ROLE; RESET riskmap.area_codes"


class LazyConnection:
    """A pooled connection taken on first use, so that a request with bad parameters is answered 422 before
    the database is needed (and stays 422 while the database is down).  For a principal limited to areas it is
    scoped (``SCOPE``) before anything else runs on it, and unscoped before it goes back to the pool: the one
    place where a request's queries get their scope."""

    def __init__(self, pool, areas: tuple[str, ...] = ()):
        self._pool = pool
        self._areas = list(areas)
        self._conn: psycopg2.extensions.connection | None = None

    def _get(self) -> psycopg2.extensions.connection:
        if self._conn is None:
            conn = self._pool.getconn()
            if self._areas:
                try:
                    with conn.cursor() as cur:
                        cur.execute(SCOPE, {"areas": self._areas})
                except BaseException:
                    self._pool.putconn(conn, broken=True)  # never reused half-scoped
                    raise
            self._conn = conn
        return self._conn

    def raw(self) -> psycopg2.extensions.connection:
        """The pooled connection itself (for code that manages its own transactions, e.g. imports)."""
        return self._get()

    def cursor(self, *args, **kwargs):
        return self._get().cursor(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._get(), name)

    def release(self, broken: bool) -> None:
        if self._conn is not None:
            if self._areas and not broken and not self._conn.closed:
                try:
                    if self._conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                        self._conn.rollback()
                    with self._conn.cursor() as cur:
                        cur.execute(UNSCOPE)
                except psycopg2.Error:
                    broken = True  # closed by the pool rather than kept scoped
            self._pool.putconn(self._conn, broken=broken)
            self._conn = None

    def release_is_instant(self, broken: bool) -> bool:
        """True when returning the connection does not talk to the server: none was taken, or one that is
        healthy and outside a transaction (the pool rolls back, or closes, the others)."""
        conn = self._conn
        return conn is None or (not self._areas and not broken and not conn.closed and conn.info.transaction_status
                                == psycopg2.extensions.TRANSACTION_STATUS_IDLE)


async def _connection(request: Request) -> AsyncIterator[LazyConnection]:
    """A pooled connection for this request, returned (rolled back) afterwards; discarded if it broke."""
    # (the gate, api/access.py, sets the principal of every request; none here is a bug, and fails rather than
    # read unscoped)
    conn = LazyConnection(request.app.state.pool, request.state.principal.areas)
    broken = False
    try:
        yield conn
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
        # a connection failure; an error the server reported (a deadlock, a lock or statement timeout: they are
        # OperationalErrors too) leaves the connection usable once rolled back, and the pool checks it is open
        broken = getattr(e, "pgcode", None) is None
        raise
    finally:
        if conn.release_is_instant(broken):
            conn.release(broken)
        else:
            await run_in_threadpool(conn.release, broken)


async def _model(request: Request) -> dict:
    return request.app.state.model


Connection = Annotated[LazyConnection, Depends(_connection)]
RiskModel = Annotated[dict, Depends(_model)]
