"""The audit trail (migration 0017): who wrote what, when, from where, with the row before and after.

The database writes it (triggers on every audited table, so that no write path can forget it); the application
only says who is writing on a connection (``tag``: the session settings riskmap.actor, riskmap.client and
riskmap.request the triggers read), and reads the trail back (``events``).  A write on a connection nobody tagged
is recorded all the same, by 'unknown'.  Refused credentials are recorded too (``auth_failed``), through a
function of the trail's own role, since the application's role may only read the table.

Tags are session settings, not transaction-local ones: the API's pooled connections run in autocommit, where a
transaction-local setting would be gone before the write's own transaction began.  So a connection going back to
a pool must be ``untag``-ged, or the next request would write under this one's name.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources

import psycopg2.extensions

_EVENTS = resources.files("geo").joinpath("sql/audit_events.sql").read_text(encoding="utf-8")
ACTIONS = ("insert", "update", "delete", "truncate", "auth_failed")
COLUMNS = ("id", "at", "actor", "client", "request", "action", "table_name", "row_key", "before", "after")
MAX_TEXT = 1000  # a tag longer than this (a very long URL or command line) is cut


def tag(conn, actor: str, client: str | None = None, request: str | None = None) -> None:
    """Say who writes on ``conn`` from now on, from where (an IP address, a host) and by what request (e.g.
    ``PATCH /hidden-dangers/12``): every write until ``untag`` is recorded with them.  One round trip.

    (A session setting made in a transaction that rolls back is undone with it: on a connection outside a
    transaction, the one the setting opens is committed at once; inside one, the tags last if it commits.)"""
    with _own_transaction(conn), conn.cursor() as cur:
        cur.execute("SELECT set_config('riskmap.actor', %s, false), set_config('riskmap.client', %s, false), "
                    "set_config('riskmap.request', %s, false)",
                    (actor[:MAX_TEXT], (client or "")[:MAX_TEXT], (request or "")[:MAX_TEXT]))


def untag(conn) -> None:
    """Forget the tags of ``conn`` (before it serves someone else)."""
    with _own_transaction(conn), conn.cursor() as cur:
        cur.execute("SELECT set_config('riskmap.actor', '', false), set_config('riskmap.client', '', false), "
                    "set_config('riskmap.request', '', false)")


def auth_failed(conn, claimed: str | None, client: str | None, request: str | None, reason: str) -> None:
    """Record a refused credential: who it claimed to be (a key's fingerprint, never the key itself; None when
    no credential was sent), from where, for what request, and why it was refused."""
    with _own_transaction(conn), conn.cursor() as cur:
        cur.execute("SELECT riskmap_audit_auth_failed(%s, %s, %s, %s)",
                    (claimed, (client or "")[:MAX_TEXT], (request or "")[:MAX_TEXT], reason[:MAX_TEXT]))


@contextmanager
def _own_transaction(conn):
    """Commit what the block does when ``conn`` was outside a transaction (and not in autocommit); inside one,
    leave it to the caller's transaction."""
    idle = conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    yield
    if idle and not conn.autocommit:
        conn.commit()


@dataclass(frozen=True)
class EventFilter:
    """Which events to read: from ``since`` (inclusive) to ``until`` (exclusive), of an actor, a table, an
    action, after the event ``after`` (the last one of the previous page)."""

    since: dt.datetime
    until: dt.datetime | None = None
    actor: str | None = None
    table: str | None = None
    action: str | None = None
    after: int | None = None

    def __post_init__(self):
        if self.action is not None and self.action not in ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}; expected one of {', '.join(ACTIONS)}")


def events(conn, which: EventFilter, limit: int) -> list[dict]:
    """Up to ``limit`` events matching ``which``, oldest first (by id: the order they were written in)."""
    with conn.cursor() as cur:
        cur.execute(_EVENTS, {"since": which.since, "until": which.until, "after": which.after,
                              "actor": which.actor, "table": which.table, "action": which.action, "limit": limit})
        rows = cur.fetchall()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def is_superuser(conn) -> bool:
    """Whether ``conn``'s role is a superuser, which no trigger or privilege binds: the audit trail cannot be
    protected from it."""
    with conn.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cur.fetchone()
    return bool(row and row[0])


def table_rows(found: list[dict]) -> list[list]:
    """The events as rows of ``COLUMNS`` for a spreadsheet (geo/spreadsheet.py): the time in ISO 8601, the rows
    before and after as JSON text."""
    def cell(column: str, value):
        if value is None:
            return None
        if column == "at":
            return value.isoformat()
        if column in ("before", "after"):
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return value

    return [[cell(c, e[c]) for c in COLUMNS] for e in found]


def as_json(event: dict) -> dict:
    """An event as plain JSON values (the time in ISO 8601)."""
    return {**event, "at": event["at"].isoformat()}
