"""The audit trail's triggers (migration 0017) on a migrated database, without the API: what a statement of many
rows keeps (keys and before images, not after images), the tags a connection carries (geo/audit.py), and the
trail read back with its filters."""

from __future__ import annotations

import datetime as dt

from geo import audit

BULK = 10_000  # riskmap_audit_rows' threshold


def insert_enterprises(db, n: int, prefix: str) -> None:
    with db.cursor() as cur:
        cur.execute("INSERT INTO enterprise (source_id, name, industry, geom) "
                    "SELECT %s || i, 'n' || i, 'other', ST_SetSRID(ST_MakePoint(118 + i * 1e-6, 39), 4326) "
                    "FROM generate_series(1, %s) i", (prefix, n))
    db.commit()


def actions(db, table: str) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute("SELECT action, count(*), count(row_key), count(before), count(after) FROM audit_event "
                    "WHERE table_name = %s GROUP BY action ORDER BY action", (table,))
        out = cur.fetchall()
    db.rollback()
    return out


def ids_inserted(db) -> list[int]:
    """Every enterprise id the trail says was inserted: row by row, or in a statement's ranges of ids."""
    with db.cursor() as cur:
        cur.execute("SELECT row_key, after FROM audit_event WHERE table_name = 'enterprise' AND action = 'insert'")
        events = cur.fetchall()
    db.rollback()
    ids = []
    for key, after in events:
        if key is not None:
            ids.append(int(key))
        else:
            ranges = after["ids"]
            assert sum(hi - lo + 1 for lo, hi in ranges) == after["rows"]
            ids += [i for lo, hi in ranges for i in range(lo, hi + 1)]
    return sorted(ids)


def test_a_bulk_statement_keeps_keys_and_before_images_but_not_after_images(db):
    """A statement inserting more than 10,000 rows is one event naming how many and their ids (as ranges of
    consecutive ids); one updating or deleting them records every row's key and before image, but no after image
    (the row as written stays in its table until its next change); a smaller one records its after images too."""
    insert_enterprises(db, BULK + 1, "BULK-")
    insert_enterprises(db, 3, "SMALL-")
    with db.cursor() as cur:  # ids given, with a gap: two ranges in one statement
        cur.execute("INSERT INTO enterprise (id, source_id, name, industry, geom) OVERRIDING SYSTEM VALUE "
                    "SELECT 1000000 + i, 'GIVEN-' || i, 'n', 'other', ST_SetSRID(ST_MakePoint(118, 39), 4326) "
                    "FROM generate_series(1, %s) i WHERE i <> 5000", (BULK + 2,))
    db.commit()
    assert actions(db, "enterprise") == [("insert", 5, 3, 0, 5)]
    with db.cursor() as cur:
        cur.execute("SELECT after FROM audit_event WHERE table_name = 'enterprise' AND row_key IS NULL ORDER BY id")
        bulk_events = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT array_agg(id ORDER BY id) FROM enterprise")
        table_ids = cur.fetchone()[0]
    db.rollback()
    assert [e["rows"] for e in bulk_events] == [BULK + 1, BULK + 1]
    assert len(bulk_events[0]["ids"]) == 1  # (one statement's identities: consecutive)
    assert bulk_events[1]["ids"] == [[1000001, 1004999], [1005001, 1000000 + BULK + 2]]
    assert ids_inserted(db) == table_ids
    with db.cursor() as cur:
        cur.execute("UPDATE enterprise SET name = name || '!'")
        cur.execute("DELETE FROM enterprise WHERE source_id LIKE 'SMALL-%'")
    db.commit()
    n = len(table_ids)
    assert actions(db, "enterprise") == [("delete", 3, 3, 3, 0), ("insert", 5, 3, 0, 5), ("update", n, n, n, 0)]


def test_tags_name_the_writer_until_untagged_and_events_filter(db):
    """``tag`` names who writes, from where, for what; ``untag`` forgets it (later writes are 'unknown');
    ``events`` filters by actor, table and action and pages after an id."""
    db.autocommit = True
    audit.tag(db, "cli:tester", "host-1", "riskmap import --kind enterprise x.csv")
    insert_enterprises(db, 2, "TAG-")
    audit.untag(db)
    insert_enterprises(db, 1, "UNTAGGED-")
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    mine = audit.events(db, audit.EventFilter(since=since, actor="cli:tester"), 10)
    assert [(e["actor"], e["client"], e["request"], e["action"], e["table_name"]) for e in mine] == [
        ("cli:tester", "host-1", "riskmap import --kind enterprise x.csv", "insert", "enterprise")] * 2
    rest = audit.events(db, audit.EventFilter(since=since, table="enterprise", after=mine[-1]["id"]), 10)
    assert [(e["actor"], e["after"]["source_id"]) for e in rest] == [("unknown", "UNTAGGED-1")]
    assert audit.events(db, audit.EventFilter(since=since, action="delete"), 10) == []
    assert audit.events(db, audit.EventFilter(since=dt.datetime.now(dt.UTC) + dt.timedelta(days=1)), 10) == []
