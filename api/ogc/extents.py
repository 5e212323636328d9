"""The extents of the /ogc collections (and the H3 resolutions that are collections), kept by data version
(issue 16): /ogc/collections describes every layer with its extent, and an extent computed per call reads every row
of its layer (ST_Extent over 1,000,000 enterprises is most of a second), on every call of a client that opens the
service.

An extent is computed in one statement with the data version of the tiles (api/sql/tiles_version.sql), so it is
kept under the version of the very snapshot it was read from, and used while the version read by a later request
is the same.
Any change of what an extent covers changes the version first (a feature, an area, a score, a hidden danger, a
plan).  Row-level security: a user limited to areas sees the extents of their areas' rows, so the key holds the
request's areas too (none for a user of every area): one user's extent is never served to a user of other areas.
The cache is per process, bounded (least recently used out), and holds small tuples only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from psycopg2 import sql

from api.ogc.layers import Layer
from api.routes import sql_text

MAX_ENTRIES = 1024


def version_sql() -> sql.Composable:
    return sql.SQL(sql_text("tiles_version").strip())


def extent_statement(layer: Layer) -> tuple[sql.Composable, dict]:
    """The SQL of a layer's extent (bounding box, then first and last date where it has dates) and its
    parameters."""
    if layer.family == "area":
        return sql.SQL(sql_text("ogc_area_extent")), {"area_type": layer.area_type, "resolution": layer.resolution}
    if layer.family == "danger":
        return sql.SQL(sql_text("ogc_danger_extent")), {}
    if layer.family == "plan":
        return sql.SQL(sql_text("ogc_plan_route_extent")), {}
    date = sql.SQL("f.{}").format(sql.Identifier(layer.date)) if layer.date else sql.SQL("NULL::date")
    return sql.SQL(sql_text("ogc_table_extent")).format(table=sql.Identifier(layer.table), date=date,
                                                       kept=sql.SQL(layer.kept_sql)), {}


class ExtentCache:
    """Extent rows by (data version, areas of the reader, layer id)."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self._rows: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: tuple) -> tuple | None:
        with self._lock:
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
            return row

    def put(self, key: tuple, row: tuple) -> None:
        with self._lock:
            self._rows[key] = row
            self._rows.move_to_end(key)
            while len(self._rows) > self._max:
                self._rows.popitem(last=False)


class Extents:
    """The extents one request reads: through ``cache`` (None: computed every time) for a reader of ``areas``."""

    def __init__(self, conn, cache: ExtentCache | None, areas: list[str] | tuple[str, ...] = ()):
        self._conn, self._cache, self._areas = conn, cache, tuple(sorted(areas))
        self._version: str | None = None

    def h3_resolutions(self) -> list[int]:
        """The H3 resolutions with cells this reader sees (one collection each), kept like the extents: under
        row-level security the loose index scan of ogc_h3_resolutions.sql tests every cell's scope (a third of a
        second at 1,000,000 enterprises), on every /ogc/collections and every request of an H3 collection."""
        query = sql.SQL(sql_text("ogc_h3_resolutions"))
        with self._conn.cursor() as cur:
            if self._cache is None:
                cur.execute(query)
                return [r[0] for r in cur.fetchall()]
            self._read_version(cur)
            row = self._cache.get((self._version, self._areas, "h3"))
            if row is not None:
                return list(row)
            cur.execute(sql.SQL("SELECT ({}), coalesce((SELECT array_agg(r ORDER BY r) FROM ({}) AS h(r)), "
                                "'{{}}')").format(version_sql(), query))
            version, resolutions = cur.fetchone()
        self._cache.put((version, self._areas, "h3"), tuple(resolutions))
        return list(resolutions)

    def _read_version(self, cur) -> None:
        if self._version is None:
            cur.execute(version_sql())
            self._version = cur.fetchone()[0]

    def row(self, layer: Layer) -> tuple:
        """The layer's extent row: xmin, ymin, xmax, ymax (NULLs without rows), then its first and last date."""
        statement, params = extent_statement(layer)
        with self._conn.cursor() as cur:
            if self._cache is None:
                cur.execute(statement, params)
                return cur.fetchone()
            self._read_version(cur)
            row = self._cache.get((self._version, self._areas, layer.id))
            if row is not None:
                return row
            # (one statement, one snapshot: the extent is kept under the version it was read with)
            cur.execute(sql.SQL("SELECT ({}), e.* FROM ({}) AS e").format(version_sql(), statement), params)
            version, *row = cur.fetchone()
        row = tuple(row)
        self._cache.put((version, self._areas, layer.id), row)
        return row
