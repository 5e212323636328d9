"""Choosing the database: the configured server, or riskmap's embedded cluster started on demand."""

from __future__ import annotations

import socket

from api.settings import Settings
from geo import audit, store
from geo.embedded import EmbeddedCluster


def database_url(settings: Settings) -> str:
    """The URL to use, starting the embedded cluster when no server is configured."""
    if settings.database_url:
        return settings.database_url
    return EmbeddedCluster(settings.data_dir).start()


def open_database(settings: Settings, writer: str | None = None, request: str | None = None):
    """A connection to an up-to-date schema (migrations applied).  With ``writer``, its writes are recorded in
    the audit trail under that name, from this host, for ``request`` (geo/audit.py)."""
    conn = store.connect(database_url(settings))
    store.migrate(conn)
    if writer is not None:
        audit.tag(conn, writer, socket.gethostname(), request)
    return conn
