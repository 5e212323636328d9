"""Writes of one kind take turns: an advisory lock on (``WRITE_QUEUE``, the kind) for each writer of that kind.

The importer decides which ids of a file are new and which are known by looking them up when it writes them:
two imports of the same new ids at once would both find them new, both insert them, and the second would fail
on the unique id ("already exists").  So every import takes its kind's turn (``take_turn``, a transaction-level
lock) in its own transaction before it looks anything up, and holds it until that transaction ends: a second
import of the kind waits, then finds the first's rows known and updates them.  The API's writes take the same
turn for the whole request (a session-level lock on the same key, api/routes/writes.py); PostgreSQL's advisory
locks are re-entrant across both levels, so an import inside such a write gets its turn at once, as does the
second import of one kind in a transaction shared by several (``import_file(commit=False)``).

Readers never wait for a turn (an advisory lock is no lock on the table), nor do writers of other kinds.
"""

from __future__ import annotations

WRITE_QUEUE = 7_301_191  # next to geo.store's migration lock key


def take_turn(cur, kind: str) -> None:
    """Wait until no other transaction or session writes ``kind``; the turn lasts until this transaction ends."""
    cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (WRITE_QUEUE, kind))
