"""The feature tables stored province by province, then by place within a province: `riskmap db cluster` (issue 18,
item 4).

A query kept to one county reads the heap pages holding that county's rows (the GiST index finds them, a bitmap
heap scan reads their pages).  Stored in the order the importer wrote them, many of those pages also hold rows of
other provinces (bench/scale/province_pages.sql): a national register's county queries then read pages that are
mostly another province's, and a province's rows are spread over the whole table.  ``rewrite_by_province``
rewrites a table in the order (province, Hilbert key of the row's point on surface, id), and keeps each row's
province in its ``province`` column (migration 0037 says how a row's province is found, and why only this step
sets it).  Nothing else changes: the same rows, ids, columns, scores, places and indexes.

It is PostgreSQL's CLUSTER done as a bulk import does its loads (geo/shadow_table.py), in one transaction per table:

1. take the class's write turn (geo/write_queue.py) and lock the table against writers (``EXCLUSIVE``: imports,
   edits and the scoring run's writes of the table wait; readers go on, on the old table);
2. find every row's province (``riskmap_province_rows``: from the places for area scope a scoring run gave the
   sites, the others placed at their point on surface);
3. copy the rows with their provinces into a shadow table (geo/sql/province_order_copy.sql), add after each
   province's rows a padding row nearly a page long (geo/sql/province_order_pad.sql), have CLUSTER rewrite it page
   after page in that order (geo/sql/province_order_cluster.sql: an INSERT's own order does not hold, as smaller
   rows go back into earlier pages' free space), delete the padding rows, build its indexes and constraints,
   ANALYZE it.  A padding row takes a page of its own and leaves no room on it, so each province's run of rows
   starts on a new page and no page holds rows of two provinces (a province costs one page more, left empty, which
   rows added later may fill);
4. swap it in for the table: ``ACCESS EXCLUSIVE``, taken in attempts of 100 ms so that readers never queue behind
   the step for longer, held only for the swap (readers wait for that moment, not for the rewrite);
5. commit, then VACUUM the new table (its visibility map, so that its first readers need not set its rows' hint
   bits and index-only scans can skip its pages).

Unlike a CLUSTER of the table itself, no UPDATE of the province is ever needed (an UPDATE of every row would fire
the tables' change triggers: a re-scoring, an audit event and a history row per row) and readers are not locked
out for the rewrite.
It costs about twice what copying the table costs (the copy, then CLUSTER's sort and rewrite) plus its index
builds, and room for two more copies of the table on disk until it commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources

from psycopg2 import sql

from geo import shadow_table, write_queue
from geo.errors import Conflict, TableBusy, UnknownTable

# the tables stored by province; the sites first, in the order of their classes (geo/kinds.py)
TABLES = ("enterprise", "tailings_pond", "venue", "settlement", "pipeline", "pipeline_segment")

_COPY = resources.files("geo").joinpath("sql/province_order_copy.sql").read_text(encoding="utf-8")
_CLUSTER = resources.files("geo").joinpath("sql/province_order_cluster.sql").read_text(encoding="utf-8")
_PAD = resources.files("geo").joinpath("sql/province_order_pad.sql").read_text(encoding="utf-8")
# A padding row's length: a page (8,192 bytes) holds its header (24), one row's pointer (4) and up to 8,160 bytes of
# row; a row this long leaves less room on its page than any feature row takes (province_order_pad.sql).
PADDING_ROW_BYTES = 8136

Progress = Callable[["Rewritten"], None]  # called as each table is done


@dataclass
class Rewritten:
    """One table rewritten in province order."""

    table: str
    rows: int
    provinces: int  # distinct provinces among its rows
    no_province: int  # rows on no province (stored last)
    placed_here: int  # rows with no place for area scope yet (added or moved since the last scoring run)
    pages: int  # heap pages after the rewrite (with one left empty after each province's run)
    mixed_pages: int  # pages holding rows of two provinces (or of one and of none); 0 but for a short padding row
    seconds: float  # the whole step for the table: lock, provinces, copy, indexes, swap, commit, VACUUM

    def describe(self) -> str:
        none = f", {self.no_province:,} on no province (stored last)" if self.no_province else ""
        if self.mixed_pages:
            none += f", {self.mixed_pages:,} page{'s' if self.mixed_pages != 1 else ''} holding two provinces"
        return (f"{self.table}: {self.rows:,} rows in {self.provinces} province{'s' if self.provinces != 1 else ''}"
                f"{none}, {self.pages:,} page{'s' if self.pages != 1 else ''}, {self.seconds:.1f} s")


def check_tables(tables: Iterable[str] | None) -> list[str]:
    """The tables asked for, each once, in the order given (every table of ``TABLES`` for None or none); an
    UnknownTable error naming the first that is not one of them."""
    names = list(dict.fromkeys(tables or ()))
    for name in names:
        if name not in TABLES:
            raise UnknownTable(name, TABLES)
    return names or list(TABLES)


def rewrite_by_province(conn, tables: Iterable[str] | None = None, *, progress: Progress | None = None,
                        ) -> list[Rewritten]:
    """Rewrite each of ``tables`` (default: all of ``TABLES``) province by province, one committed transaction per
    table (see the module's docstring); what each became.  ``conn`` must be the tables' owner's (the application's
    role, or a superuser).  Raises UnknownTable for a name not in ``TABLES`` (before anything is done), Conflict
    when a table cannot be swapped (something depends on it that a swap cannot carry over: the message names it),
    TableBusy when readers kept the table for the swap longer than ``shadow_table.SWAP_WAIT_S``; a table that
    fails is left as it was, and the tables done before it stay done."""
    done = []
    for table in check_tables(tables):
        done.append(_rewrite(conn, table))
        if progress:
            progress(done[-1])
    return done


def _rewrite(conn, table: str) -> Rewritten:
    t0 = time.perf_counter()
    autocommit = conn.autocommit
    if autocommit:
        conn.autocommit = False
    try:
        with conn.cursor() as cur:
            if table != "pipeline_segment":  # (segments are written by scoring runs only, under their own lock)
                write_queue.take_turn(cur, table)
            live = sql.Identifier(table)
            cur.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(live))
            why_not: list[str] = []
            shadow = shadow_table.plan(cur, table, why_not)
            if shadow is None:
                raise Conflict(f"{table} cannot be rewritten in province order (a new table swapped in for it): "
                               f"{'; '.join(why_not)}; nothing was changed")
            cur.execute("SELECT riskmap_province_rows(%s)", (table,))
            placed_here = int(cur.fetchone()[0])
            cur.execute("SELECT count(DISTINCT province), count(*) FILTER (WHERE province IS NULL) "
                        "FROM riskmap_province_row")
            provinces, no_province = (int(v) for v in cur.fetchone())
            cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                        "AND NOT attisdropped ORDER BY attnum", (table,))
            columns = [r[0] for r in cur.fetchall()]
            copy = sql.SQL(_COPY).format(
                shadow=shadow.shadow, live=live,
                columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                values=sql.SQL(", ").join(sql.SQL("p.province") if c == "province" else sql.Identifier("f", c)
                                          for c in columns))
            mixed: list[int] = []
            shadow.start(cur, rows=copy,
                         arrange=lambda c: mixed.append(_arrange(c, table, shadow.shadow, live, columns)))
            try:
                shadow.finish(cur, changed=False)
            except TableBusy:
                raise TableBusy(f"{table} stayed in use by readers for {shadow_table.SWAP_WAIT_S:.0f} s, so the "
                                "rewritten table could not be swapped in; nothing was changed, and the step can be "
                                "run again") from None
            rows = shadow.copied
        conn.commit()
    except BaseException:
        conn.rollback()
        if autocommit:
            conn.autocommit = True
        raise
    # (outside the transaction: VACUUM cannot run in one)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
            cur.execute("SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::bigint", (table,))
            pages = int(cur.fetchone()[0])
    finally:
        conn.autocommit = autocommit
    return Rewritten(table=table, rows=rows, provinces=provinces, no_province=no_province, placed_here=placed_here,
                     pages=pages, mixed_pages=mixed[0], seconds=time.perf_counter() - t0)


def _arrange(cur, table: str, shadow: sql.Composable, live: sql.Composable, columns: list[str]) -> int:
    """Rewrite the shadow, filled with the table's rows and their provinces, page after page in province order with
    each province's run starting a page of its own (province_order_pad.sql, province_order_cluster.sql); the pages
    that still hold rows of two provinces (or of one and of none): 0 unless a padding row came out short."""
    # the padding rows' ids: below every row's (ids start at 1; ``floor`` also holds for a row given a lower one)
    cur.execute(sql.SQL("SELECT least(coalesce(min(id), 1), 1) FROM {}").format(live))
    floor = sql.Literal(int(cur.fetchone()[0]))
    values = [sql.SQL("{} - row_number() OVER (ORDER BY t.province)").format(floor) if c == "id"
              else sql.SQL("pad.geom") if c == "geom" else sql.Identifier("t", c) for c in columns]
    cur.execute(sql.SQL(_PAD).format(shadow=shadow, columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                                     values=sql.SQL(", ").join(values), row_bytes=sql.Literal(PADDING_ROW_BYTES)))
    cur.execute("SELECT current_setting('enable_indexscan')")
    indexscan = cur.fetchone()[0]
    cur.execute("SET LOCAL enable_indexscan = off")
    index = f"{table}_province_order"
    cur.execute(sql.SQL(_CLUSTER).format(shadow=shadow, index=sql.Identifier(index), floor=floor,
                                         qualified_index=sql.Identifier(shadow_table.SCHEMA, index)))
    cur.execute("SELECT set_config('enable_indexscan', %s, true)", (indexscan,))
    cur.execute(sql.SQL("DELETE FROM {} WHERE id < {}").format(shadow, floor))
    cur.execute(sql.SQL("SELECT count(*) FROM (SELECT FROM {} GROUP BY (ctid::text::point)[0] "
                        "HAVING min(coalesce(province, '')) <> max(coalesce(province, ''))) m").format(shadow))
    return int(cur.fetchone()[0])
