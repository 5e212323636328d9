"""Request dependencies, as ``Annotated`` aliases: ``def route(conn: Connection, model: RiskModel)``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg2
import psycopg2.extensions
from fastapi import Depends, Request


def _connection(request: Request) -> Iterator[psycopg2.extensions.connection]:
    """A pooled connection for this request, returned (rolled back) afterwards; discarded if it broke."""
    pool = request.app.state.pool
    conn = pool.getconn()
    broken = False
    try:
        yield conn
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        broken = True
        raise
    finally:
        pool.putconn(conn, broken=broken)


def _model(request: Request) -> dict:
    return request.app.state.model


Connection = Annotated[psycopg2.extensions.connection, Depends(_connection)]
RiskModel = Annotated[dict, Depends(_model)]
