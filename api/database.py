"""Choosing the database: the configured server, or riskmap's embedded cluster started on demand."""

from __future__ import annotations

from api.settings import Settings
from geo import store
from geo.embedded import EmbeddedCluster


def database_url(settings: Settings) -> str:
    """The URL to use, starting the embedded cluster when no server is configured."""
    if settings.database_url:
        return settings.database_url
    return EmbeddedCluster(settings.data_dir).start()


def open_database(settings: Settings):
    """A connection to an up-to-date schema (migrations applied)."""
    conn = store.connect(database_url(settings))
    store.migrate(conn)
    return conn
