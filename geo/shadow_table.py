"""A shadow copy of a feature table, built inside an import's transaction and swapped in when it commits.

A bulk load into a table holding few rows is fastest with the indexes built once at the end: one sorted build
instead of a million insertions, and on a server with ``wal_level=minimal`` (the embedded one) a table created
in the loading transaction skips the WAL.  Dropping the live table's indexes for that would lock readers out
until the import commits (issue 13: `/features` waited 6.8 s during a 500,000-row import).  So a bulk import
builds a shadow instead:

1. ``start``: lock the live table against writers (``EXCLUSIVE``: plain reads go on), create the shadow as
   ``riskmap_import.<table>`` with the live table's columns, CHECK constraints, defaults, identity, comments and
   storage parameters but no indexes, copy the live rows into it (ids kept), continue its identity sequence
   from the live one and give it the live table's triggers.  The shadow has the live table's *name* in its
   own schema, so the change-recording triggers (migrations 0002/0005: ``TG_TABLE_NAME`` is the kind) record
   the import's inserts and updates exactly as they would on the live table.
2. The importer COPYs the new rows into the shadow and applies its updates there.
3. ``finish``: build the indexes and constraints (the primary key is built before the COPYs: new ids only
   append to it), ANALYZE when the live table had rows (the planner had statistics for it), then take the live
   table's ``ACCESS EXCLUSIVE`` lock in short attempts (a reader arriving during an attempt waits at most
   ``LOCK_ATTEMPT_MS``), drop it, move the shadow into its schema and re-add the foreign keys of other tables
   that pointed at it.  The caller commits at once.

Readers see the old table until the commit and the new one after it; a failure rolls everything back and the
live table is untouched.  (As with TRUNCATE, a REPEATABLE READ transaction whose snapshot is older than the
commit and that first reads the table after it finds it empty; riskmap reads in READ COMMITTED, a snapshot per
statement.)  ``plan`` returns None, and the importer loads in place, when the table has something
a swap cannot carry over (a view over it, row security, column privileges...).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import psycopg2
import psycopg2.errors
from psycopg2 import sql

from geo.errors import TableBusy

SCHEMA = "riskmap_import"  # where shadows are built; created on first use
LOCK_ATTEMPT_MS = 100  # the longest a reader waits behind one attempt to take the live table for the swap
SWAP_WAIT_S = 600.0  # give up (and roll back) when the table stayed in use this long

_CATALOG = resources.files("geo").joinpath("sql/shadow_table_catalog.sql").read_text(encoding="utf-8")


@dataclass
class ShadowTable:
    """The plan of a shadow of ``schema.table`` (see the module's docstring); built by ``plan``."""

    schema: str
    table: str
    qualified: str  # the table's name as pg_get_*def write it
    quoted: str  # its name alone, quoted where needed
    owner: str
    indexes: list[str] = field(default_factory=list)  # CREATE INDEX statements for the live table
    constraints: list[tuple[str, str]] = field(default_factory=list)  # (name, definition)
    referenced: list[tuple[str, str, str]] = field(default_factory=list)  # (other table, name, definition)
    triggers: list[tuple[str, str, str]] = field(default_factory=list)  # (name, CREATE TRIGGER, tgenabled)
    grants: list[tuple[str, str, bool]] = field(default_factory=list)  # (privilege, grantee or '', option)
    reloptions: str | None = None
    comment: str | None = None
    row_security: str | None = None  # ENABLE or FORCE: row-level security, with ``policies`` (migration 0019)
    policies: list[str] = field(default_factory=list)  # CREATE POLICY statements for the live table
    copied: int = 0  # rows of the live table copied into the shadow

    @property
    def live(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.table)

    @property
    def shadow(self) -> sql.Identifier:
        return sql.Identifier(SCHEMA, self.table)

    def _on_shadow(self, definition: str) -> str:
        """A pg_get_*def statement about the live table, about the shadow instead."""
        on_live = f" ON {self.qualified} "
        if definition.count(on_live) != 1:
            raise RuntimeError(f"cannot re-target {definition!r} at the shadow of {self.qualified}")
        return definition.replace(on_live, f" ON {SCHEMA}.{self.quoted} ")

    def start(self, cur, rows: sql.Composable | None = None, arrange: Callable[[Any], None] | None = None) -> None:
        """Lock out writers, create the shadow with the live rows and triggers (see the module's docstring).

        ``rows``: the statement that copies the live rows into the shadow, instead of ``INSERT ... SELECT *`` (a
        rewrite in another order, geo/province_order.py); it is run as it is, and must keep every row and id.
        ``arrange``: called with the cursor once the rows are in, before the shadow has a constraint but its checks,
        an index or a trigger (geo/province_order.py rewrites it page by page there); it must leave the same rows."""
        cur.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(self.live))
        cur.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(
            self.shadow, self.live))
        if self.owner != _current_user(cur):
            cur.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(self.shadow, sql.Identifier(self.owner)))
        if self.reloptions:
            cur.execute(sql.SQL("ALTER TABLE {} SET ({})").format(self.shadow, sql.SQL(self.reloptions)))
        if self.comment is not None:
            cur.execute(sql.SQL("COMMENT ON TABLE {} IS %s").format(self.shadow), (self.comment,))
        for privilege, grantee, option in self.grants:
            cur.execute(sql.SQL("GRANT {} ON {} TO {}{}").format(
                sql.SQL(privilege), self.shadow, sql.Identifier(grantee) if grantee else sql.SQL("PUBLIC"),
                sql.SQL(" WITH GRANT OPTION" if option else "")))
        # the live rows, ids kept; written before the triggers exist, as they are not changes
        cur.execute(rows if rows is not None else sql.SQL("INSERT INTO {} OVERRIDING SYSTEM VALUE SELECT * FROM {}")
                    .format(self.shadow, self.live))
        self.copied = cur.rowcount
        if arrange is not None:
            arrange(cur)
        # the primary key now: new ids only ever append to it, during the COPYs, while the client validates
        for name, definition in self.constraints:
            if definition.startswith("PRIMARY KEY"):
                self._add_constraint(cur, name, definition)
        # new rows continue the live identity sequence (ids are never reused: scores refer to them)
        cur.execute(
            "SELECT pg_get_serial_sequence(%s, a.attname), pg_get_serial_sequence(%s, a.attname) "
            "FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attidentity <> '' AND NOT a.attisdropped",
            (f"{SCHEMA}.{self.table}", self.qualified, self.qualified))
        for new_seq, old_seq in cur.fetchall():
            cur.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(sql.SQL(old_seq)))
            last, called = cur.fetchone()
            cur.execute("SELECT setval(%s, %s, %s)", (new_seq, last, called))
        if self.row_security:
            cur.execute(sql.SQL("ALTER TABLE {} {} ROW LEVEL SECURITY").format(
                self.shadow, sql.SQL(self.row_security)))
        for definition in self.policies:
            cur.execute(self._on_shadow(definition))
        for name, definition, enabled in self.triggers:
            if not _counted_after_swap(name):
                self._add_trigger(cur, self.shadow, self._on_shadow(definition), name, enabled)

    def finish(self, cur, changed: bool = True) -> None:
        """Index the shadow and swap it in for the live table; the caller commits right after.  ``changed=False``:
        the shadow holds the live rows as they were (a rewrite in another order), so the class's kept tile counts
        still hold and are not marked stale."""
        # constraints first: unique indexes, then the foreign keys that need them (the primary key is there)
        for name, definition in sorted(self.constraints, key=lambda c: c[1].startswith("FOREIGN KEY")):
            if not definition.startswith("PRIMARY KEY"):
                self._add_constraint(cur, name, definition)
        for definition in self.indexes:
            cur.execute(self._on_shadow(definition))
        if self.copied:
            # the planner had statistics of the old rows: the new table gets its own before readers meet it.
            # (A table that was empty had none; autovacuum analyses the new one soon after, as it would have.)
            cur.execute(sql.SQL("ANALYZE {}").format(self.shadow))
        others = [sql.Identifier(*_split(t)) for t, _, _ in self.referenced]
        self._lock_for_swap(cur, [self.live, *others], LOCK_ATTEMPT_MS, SWAP_WAIT_S)
        for (_, name, _), ident in zip(self.referenced, others, strict=True):
            cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(ident, sql.Identifier(name)))
        cur.execute(sql.SQL("DROP TABLE {}").format(self.live))
        cur.execute(sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(self.shadow, sql.Identifier(self.schema)))
        counted = [t for t in self.triggers if _counted_after_swap(t[0])]
        for name, definition, enabled in counted:
            self._add_trigger(cur, self.live, definition, name, enabled)
        if counted and changed:  # the kept tile counts of the class: left to the scoring run that follows (0031)
            cur.execute("SELECT riskmap_site_cells_mark_stale(%s)", (self.table,))
        for (_, name, definition), ident in zip(self.referenced, others, strict=True):
            cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(ident, sql.Identifier(name))
                        + sql.SQL(definition))

    @staticmethod
    def _add_trigger(cur, table: sql.Composable, definition: str, name: str, enabled: str) -> None:
        cur.execute(definition)
        if enabled == "D":
            cur.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(table, sql.Identifier(name)))
        elif enabled in ("R", "A"):
            mode = "REPLICA" if enabled == "R" else "ALWAYS"
            cur.execute(sql.SQL("ALTER TABLE {} ENABLE {} TRIGGER {}").format(table, sql.SQL(mode),
                                                                            sql.Identifier(name)))

    def _add_constraint(self, cur, name: str, definition: str) -> None:
        cur.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(self.shadow, sql.Identifier(name))
                    + sql.SQL(definition))

    @staticmethod
    def _lock_for_swap(cur, tables: list[sql.Identifier], attempt_ms: int, wait_s: float) -> None:
        """Take ACCESS EXCLUSIVE locks in attempts of ``attempt_ms``: while an attempt waits for a reader to
        finish, readers arriving after it queue behind it, so a long wait would block them all; short attempts
        with pauses between them let them through."""
        deadline = time.monotonic() + wait_s
        pause = 0.02
        while True:
            cur.execute("SAVEPOINT riskmap_swap_lock")
            try:
                cur.execute("SET LOCAL lock_timeout = %s", (f"{attempt_ms}ms",))
                cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.SQL(", ").join(tables)))
            except psycopg2.errors.LockNotAvailable:
                cur.execute("ROLLBACK TO SAVEPOINT riskmap_swap_lock")
                if time.monotonic() > deadline:
                    raise TableBusy(f"the table stayed in use for {wait_s:.0f} s; the import was rolled back, "
                                    "nothing was written") from None
                time.sleep(pause)
                pause = min(1.0, pause * 2)
                continue
            cur.execute("SET LOCAL lock_timeout = DEFAULT")
            cur.execute("RELEASE SAVEPOINT riskmap_swap_lock")
            return


def _counted_after_swap(trigger: str) -> bool:
    """The triggers that keep a site class's tile counts (migrations 0026/0029) follow each statement; on the
    shadow they would follow each COPY of an import's chunks.  They are left off the shadow and put on the table
    swapped in, and the class's counts are marked stale there (``finish``): the scoring run that follows the import
    counts the class whole, as it would anyway for so many changed sites (migration 0031)."""
    return "_tile_cells_" in trigger


def plan(cur, table: str, why_not: list[str] | None = None) -> ShadowTable | None:
    """The shadow of ``table`` (in the current schema), or None when it cannot be swapped (see the catalog
    query's blockers) or its schema cannot be made; then ``why_not``, when given, gets the reasons."""
    cur.execute("SELECT current_schema()")
    schema = cur.fetchone()[0]
    cur.execute(_CATALOG, {"schema": schema, "table": table})
    rows = cur.fetchall()
    items: dict[str, list[tuple]] = {}
    for item, name, definition, other in rows:
        items.setdefault(item, []).append((name, definition, other))
    if "qualified" not in items or "blocker" in items:
        if why_not is not None:
            why_not.extend(d for _, d, _ in items.get("blocker", [(None, "no such table", None)]))
        return None
    if not _schema_ready(cur):
        if why_not is not None:
            why_not.append(f"the schema {SCHEMA} cannot be created")
        return None
    return ShadowTable(
        schema=schema, table=table, qualified=items["qualified"][0][1], quoted=items["qualified"][0][2],
        owner=items["owner"][0][1],
        indexes=[d for _, d, _ in items.get("index", [])],
        constraints=[(n, d) for n, d, _ in items.get("constraint", [])],
        referenced=[(o, n, d) for n, d, o in items.get("referenced", [])],
        triggers=list(items.get("trigger", [])),
        grants=[(n, o, d == "t") for n, d, o in items.get("grant", [])],
        reloptions=next((d for _, d, _ in items.get("reloptions", [])), None),
        comment=next((d for _, d, _ in items.get("comment", [])), None),
        row_security=next((d for _, d, _ in items.get("row_security", [])), None),
        policies=[d for _, d, _ in items.get("policy", [])],
    )


def _schema_ready(cur) -> bool:
    """Whether the shadows' schema exists or could be made here (inside a savepoint: a race with another
    session making it, or a missing privilege, only means this import loads in place)."""
    cur.execute("SELECT to_regnamespace(%s) IS NOT NULL", (SCHEMA,))
    if cur.fetchone()[0]:
        return True
    cur.execute("SAVEPOINT riskmap_shadow_schema")
    try:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
    except psycopg2.Error:
        cur.execute("ROLLBACK TO SAVEPOINT riskmap_shadow_schema")
        return False
    cur.execute("RELEASE SAVEPOINT riskmap_shadow_schema")
    return True


def _current_user(cur) -> str:
    cur.execute("SELECT current_user::text")
    return cur.fetchone()[0]


def _split(qualified: str) -> list[str]:
    """schema and name of a regclass text ("name" or "schema.name", quoted where needed)."""
    parts, buf, quoted = [], "", False
    for ch in qualified:
        if ch == '"':
            quoted = not quoted
            continue
        if ch == "." and not quoted:
            parts.append(buf)
            buf = ""
            continue
        buf += ch
    parts.append(buf)
    return parts
