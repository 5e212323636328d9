"""Pages that many requests share, kept by the data version they were read at.

The map's county zoning layer asks for the same page (every county of the region) at every map load and every
move (8 % of bench/load's mix): about 5 ms of PostgreSQL a time for 130 KB that changes only when the data do.
``SharedPages`` keeps such pages by the request's full URL (its ``next`` and ``self`` links name it), the caller's
areas (a user limited to areas sees other rows) and the data version (api/sql/tiles_version.sql: it grows with
every scoring run, change of a feature or an area, change of a record and stored plan).  The version is read
before the page, each in a statement of its own: a page read after the version is at least as new as the version
it is kept under, and the version only grows, so a request never gets a page older than the data it could have
read.  A new version makes the pages of the older ones unreachable; they leave as the least recently used.

Bounded: at most ``entries`` pages and ``max_bytes`` in all (a page larger than a tenth of that is not kept).
Thread-safe: the routes run in the map's read lane.  Two requests missing the same key at once may both read the
page, which is harmless (the same page).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from api.routes import sql_text


class SharedPages:
    def __init__(self, entries: int = 64, max_bytes: int = 32 * 1024 * 1024):
        self.entries = entries
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, read: Callable[[], bytes]) -> bytes:
        """The page of ``key``, read with ``read()`` when it is not kept."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                self.hits += 1
                return page
            self.misses += 1
        page = read()
        if len(page) <= self.max_bytes // 10:
            with self._lock:
                if key not in self._pages:
                    self._pages[key] = page
                    self._bytes += len(page)
                while self._pages and (len(self._pages) > self.entries or self._bytes > self.max_bytes):
                    _, old = self._pages.popitem(last=False)
                    self._bytes -= len(old)
        return page


def data_version(conn) -> str:
    """The version of the data (api/sql/tiles_version.sql), read in a statement of its own."""
    with conn.cursor() as cur:
        cur.execute(sql_text("tiles_version"))
        return cur.fetchone()[0]
