"""Request dependencies, as ``Annotated`` aliases: ``def route(conn: Connection, model: RiskModel)``.

They are coroutines: FastAPI runs a plain function dependency in its thread pool, a hop there and back (two for a
generator) on every request, which costs more CPU than the little they do.  Nothing here waits on the database,
except returning a connection that needs a rollback, is broken or was tagged, which goes to the thread pool.

A write's connection says who writes (the audit trail, geo/audit.py): the access gate names the writer of every
write it lets through (``request.state.writer``), and the request's connection is tagged with that name, the
client's address and the request when it is taken, and untagged before it goes back to the pool.

A request of a user limited to areas gets its scope the same way: the connection acts as riskmap_scoped, whose
rows row-level security filters (migration 0019), from when it is taken until it goes back to the pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import psycopg2
import psycopg2.extensions
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from geo import audit

# A user limited to areas: the user's admin codes and every code below them, expanded before the role changes
# (the area table is itself filtered for that role), then the role.  One round trip, when the connection is taken.
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
    place where a request's queries get their scope.  (``request`` None: a connection of no request, unscoped
    and untagged.)"""

    def __init__(self, pool, request: Request | None = None):
        self._pool = pool
        self._request = request
        # (the gate, api/access.py, sets the principal of every request; a request without one fails here
        # rather than read unscoped)
        self._areas = list(request.state.principal.areas) if request is not None else []
        self._conn: psycopg2.extensions.connection | None = None
        self._tagged = False

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
        if not self._tagged and self._request is not None:
            writer = getattr(self._request.state, "writer", None)
            if writer is not None:
                self._tagged = True
                audit.tag(self._conn, writer, *request_origin(self._request))
        return self._conn

    @property
    def scoped(self) -> bool:
        """Whether this request's queries see only the areas of a user limited to them (row-level security)."""
        return bool(self._areas)

    def raw(self) -> psycopg2.extensions.connection:
        """The pooled connection itself (for code that manages its own transactions, e.g. imports)."""
        return self._get()

    def cursor(self, *args, **kwargs):
        return self._get().cursor(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._get(), name)

    def release(self, broken: bool) -> None:
        if self._conn is not None:
            if (self._tagged or self._areas) and not broken and not self._conn.closed:
                try:  # the next request must not write under this one's name, nor read in this one's areas
                    if self._conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                        self._conn.rollback()
                    if self._tagged:
                        audit.untag(self._conn)
                    if self._areas:
                        with self._conn.cursor() as cur:
                            cur.execute(UNSCOPE)
                except psycopg2.Error:
                    broken = True  # closed by the pool rather than passed on
            self._pool.putconn(self._conn, broken=broken)
            self._conn = None
            self._tagged = False

    def release_is_instant(self, broken: bool) -> bool:
        """True when returning the connection does not talk to the server: none was taken, or one that is
        healthy and outside a transaction (the pool rolls back, or closes, the others)."""
        conn = self._conn
        return conn is None or (not broken and not self._tagged and not self._areas and not conn.closed
                                and conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE)


async def _connection(request: Request) -> AsyncIterator[LazyConnection]:
    """A pooled connection for this request, returned (rolled back) afterwards; discarded if it broke."""
    conn = LazyConnection(request.app.state.pool, request)
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


def request_origin(request: Request) -> tuple[str | None, str]:
    """The client's address and the request's method and path (``PATCH /hidden-dangers/12``), for the audit
    trail."""
    return (request.client.host if request.client else None), f"{request.method} {request.url.path}"


async def _model(request: Request) -> dict:
    return request.app.state.model


Connection = Annotated[LazyConnection, Depends(_connection)]
RiskModel = Annotated[dict, Depends(_model)]
