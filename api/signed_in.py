"""Who the tokens seen lately belong to, kept in the process so that a signed-in request costs no database round
trip, and forgotten the moment any user changes.

Every change to ``riskmap_user`` (add, rotate, revoke, or a statement typed by hand) notifies the channel
``riskmap_users`` when it commits (migration 0020).  ``SignedIn`` listens on its own connection; a notification
empties it.  Before it answers from memory it makes sure it has every notification committed before the request
came: a notification travels to a listening connection on its own time (a revocation committed by another
process, such as ``riskmap users revoke``, had not always arrived when the next request looked, under load), so
it sends a statement on that connection, and PostgreSQL hands a listening session what is pending before it
answers one.  One such round trip covers every request that came before it started (a request that waited for
the lock while another did one does not do its own), so a request that arrives after a revocation committed
finds the token gone, not a remembered principal.  While it is not listening (connecting, or its connection
lost) it remembers nothing, and every request reads the user's row (api/access.py ``authenticate``).  An entry
also expires after ``ttl_s``.

A principal read from the database just before a change committed must not be remembered after the change
emptied the cache: ``generation`` counts the emptyings, and ``put`` keeps an entry only when none happened since
the caller read it.

The server's requests ask from the event loop (``aget``): the round trip runs in a worker thread, never in the
loop, and one round trip serves every request that came before it started.  Until 2026-12-05 the loop made the
round trip itself, one per request with a token, and waited for it: under bench/load's 50 clients each wait held
up every other request of the process while PostgreSQL, as busy as everything else, answered (the token runs
served 0.74-0.88 times the requests of the anonymous ones, where the same requests one at a time cost the same).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import select
import threading
import time
import weakref
from collections import OrderedDict

import psycopg2
import psycopg2.extensions

log = logging.getLogger("riskmap.api")

CHANNEL = "riskmap_users"


class SignedIn:
    def __init__(self, url: str, ttl_s: float = 60.0, size: int = 4096, clock=time.monotonic):
        self.url, self.ttl_s, self.size = url, ttl_s, size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[object, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._conn: psycopg2.extensions.connection | None = None
        self.generation = 0
        self._arrivals = itertools.count(1)  # numbers the requests as they come (before the lock)
        self._covered = 0  # every request numbered below this has had its notifications read
        # the round trip in flight for the requests of each event loop: (its number, its future)
        self._flights: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="riskmap-signed-in", daemon=True)
        self._thread.start()

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str):
        """The principal remembered for ``token``, or None."""
        arrival = next(self._arrivals)
        with self._lock:
            if self._conn is None or not self._synced(arrival):
                return None
            return self._entry(token)

    async def aget(self, token: str):
        """``get`` for a request of the event loop: the round trip, when one is needed, in a worker thread, shared
        by every request that came before it started."""
        arrival = next(self._arrivals)
        if not await self._asynced(arrival):
            return None
        with self._lock:
            if self._conn is None:
                return None
            return self._entry(token)

    async def _asynced(self, arrival: int) -> bool:
        """Wait until every notification committed before the request numbered ``arrival`` came has been read: by a
        round trip that started after it came (module docstring); False when the connection failed."""
        loop = asyncio.get_running_loop()
        while arrival >= self._covered:
            flight = self._flights.get(loop)
            if flight is None or flight[1].done():
                start = next(self._arrivals)
                flight = (start, loop.run_in_executor(None, self._round_trip, start))
                self._flights[loop] = flight
            if not await asyncio.shield(flight[1]):
                return False
        return True

    def _round_trip(self, start: int) -> bool:
        """One round trip on the listening connection (in a worker thread): afterwards every request numbered below
        ``start`` has had its notifications read."""
        with self._lock:
            if self._conn is None:
                return False
            if start <= self._covered:
                return True
            return self._trip(start)

    def _entry(self, token: str):
        """The remembered principal of ``token`` (under the lock), or None; an expired one is dropped."""
        entry = self._entries.get(self._key(token))
        if entry is None:
            return None
        principal, until = entry
        if self._clock() > until:
            del self._entries[self._key(token)]
            return None
        return principal

    def put(self, token: str, principal, generation: int) -> None:
        """Remember ``principal`` for ``token``, read from the database when the cache was at ``generation``."""
        with self._lock:
            if self._conn is None or generation != self.generation:
                return
            self._entries[self._key(token)] = (principal, self._clock() + self.ttl_s)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def _synced(self, arrival: int) -> bool:
        """Read every notification committed before the request numbered ``arrival`` came (under the lock): by a
        round trip on the listening connection, unless one that started after it came has done so; False when the
        connection failed."""
        if arrival < self._covered:
            return True
        return self._trip(next(self._arrivals))

    def _trip(self, start: int) -> bool:
        """A statement on the listening connection, then the notifications read (under the lock): every request
        numbered below ``start`` is covered; False when the connection failed."""
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT 1")
        except psycopg2.Error as e:
            self._lost(e)
            return False
        if not self._fresh():
            return False
        self._covered = max(self._covered, start)
        return True

    def _fresh(self) -> bool:
        """Read the notifications that have arrived (under the lock); False when the connection failed."""
        try:
            self._conn.poll()
        except psycopg2.Error as e:
            self._lost(e)
            return False
        if self._conn.notifies:
            self._conn.notifies.clear()
            self._empty()
        return True

    def _empty(self) -> None:
        self._entries.clear()
        self.generation += 1

    def _lost(self, e: Exception) -> None:
        log.warning("stopped remembering signed-in users until the notifications connection is back: %s",
                    str(e).strip())
        self._empty()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg2.Error:
                pass

    def _listen(self) -> None:
        while not self._closed.is_set():
            try:
                conn = psycopg2.connect(self.url, connect_timeout=5, application_name="riskmap-signed-in")
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(f"LISTEN {CHANNEL}")
            except psycopg2.Error:
                self._closed.wait(2.0)
                continue
            with self._lock:
                self._empty()  # whatever changed while nobody listened
                self._conn = conn
            while not self._closed.is_set():
                try:
                    ready, _, _ = select.select([conn], [], [], 1.0)
                except (OSError, ValueError):
                    ready = [conn]
                if ready:
                    with self._lock:
                        if self._conn is None or not self._fresh():
                            break
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
