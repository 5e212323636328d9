"""Request dependencies, as ``Annotated`` aliases: ``def route(conn: Connection, model: RiskModel)``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg2
import psycopg2.extensions
from fastapi import Depends, Request


class LazyConnection:
    """A pooled connection taken on first use, so that a request with bad parameters is answered 422 before
    the database is needed (and stays 422 while the database is down)."""

    def __init__(self, pool):
        self._pool = pool
        self._conn: psycopg2.extensions.connection | None = None

    def _get(self) -> psycopg2.extensions.connection:
        if self._conn is None:
            self._conn = self._pool.getconn()
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
            self._pool.putconn(self._conn, broken=broken)
            self._conn = None


def _connection(request: Request) -> Iterator[LazyConnection]:
    """A pooled connection for this request, returned (rolled back) afterwards; discarded if it broke."""
    conn = LazyConnection(request.app.state.pool)
    broken = False
    try:
        yield conn
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        broken = True
        raise
    finally:
        conn.release(broken)


def _model(request: Request) -> dict:
    return request.app.state.model


Connection = Annotated[LazyConnection, Depends(_connection)]
RiskModel = Annotated[dict, Depends(_model)]
