"""The kept tile counts of a class marked stale by a bulk change (migration 0031) and counted whole again by a
scoring run, when the two happen at once: neither a count that started before the bulk change committed may take the
class off the list, nor a bulk change committed while a count waited be missed by it."""

from __future__ import annotations

import threading
import time

from geo import store

KEPT = """
    SELECT coalesce(array_agg(ROW(cx, cy, count)::text ORDER BY cx, cy), '{}')
    FROM site_tile_cell WHERE kind = 'enterprise'"""
COUNTED = """
    SELECT coalesce(array_agg(ROW(cell >> 14, cell & 16383, n)::text ORDER BY cell >> 14, cell & 16383), '{}')
    FROM (SELECT riskmap_site_cell(geom) AS cell, count(*) AS n FROM enterprise GROUP BY 1) c
    WHERE cell IS NOT NULL"""
STALE = "SELECT count(*) FROM site_tile_stale WHERE kind = 'enterprise'"
BULK = 20_001  # more sites in one statement than the counts follow one by one
INSERT = ("INSERT INTO enterprise (source_id, name, industry, geom) "
          "SELECT %s || i, 'n', 'other', ST_SetSRID(ST_MakePoint(118 + (i %% 300) * 0.003, 39 + (i / 300) * 0.003), "
          "4326) FROM generate_series(1, %s) i")


def one(conn, query: str, params=()):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()[0]


def waiting_for_lock(watcher, pid: int, worker: threading.Thread) -> None:
    """Until the backend ``pid`` waits for a lock (not a timing: the worker's state is polled)."""
    while one(watcher, "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)) != "Lock":
        assert worker.is_alive()
        time.sleep(0.02)


def run_waiting(url: str, first, second_work, watcher) -> None:
    """``second_work`` in a thread, on its own connection, once it waits for ``first``'s lock; then ``first``
    commits and the thread finishes."""
    second = store.connect(url)
    done = threading.Event()

    def work() -> None:
        second_work(second)
        second.commit()
        done.set()

    try:
        worker = threading.Thread(target=work)
        worker.start()
        waiting_for_lock(watcher, second.get_backend_pid(), worker)
        first.commit()
        worker.join(60)
        assert done.is_set()
    finally:
        second.close()


def test_a_count_started_before_a_bulk_change_leaves_the_class_stale(db, db_url):
    """A scoring run counts the class whole (holding its lock, not yet committed); a bulk insert of more than
    20,000 sites meanwhile waits to mark the class stale, and marks it after the count committed: the class stays
    stale (its counts lack the new sites), and the next whole count makes it exact again."""
    watcher = store.connect(db_url)
    watcher.autocommit = True
    with db.cursor() as cur:
        cur.execute(INSERT, ("A-", 10))
    db.commit()
    assert one(watcher, KEPT) == one(watcher, COUNTED) and one(watcher, STALE) == 0
    counting = store.connect(db_url)
    try:
        with counting.cursor() as cur:
            cur.execute("SELECT riskmap_site_cells_count('enterprise', 'enterprise'::regclass)")

        def bulk_insert(conn) -> None:
            with conn.cursor() as cur:
                cur.execute(INSERT, ("B-", BULK))

        run_waiting(db_url, counting, bulk_insert, watcher)
    finally:
        counting.close()
    assert one(watcher, STALE) == 1 and one(watcher, KEPT) == []
    with db.cursor() as cur:
        cur.execute("SELECT riskmap_site_cells_count('enterprise', 'enterprise'::regclass)")
    db.commit()
    assert one(watcher, STALE) == 0 and one(watcher, KEPT) == one(watcher, COUNTED)
    watcher.close()


def test_a_count_waiting_for_a_bulk_change_counts_what_it_committed(db, db_url):
    """A bulk insert of more than 20,000 sites marked the class stale (not yet committed); a scoring run's whole
    count meanwhile waits for the class's lock, then counts the sites the bulk insert committed and takes the class
    off the list: the kept counts are exact."""
    watcher = store.connect(db_url)
    watcher.autocommit = True
    with db.cursor() as cur:
        cur.execute(INSERT, ("B-", BULK))
    assert one(db, STALE) == 1

    def count(conn) -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT riskmap_site_cells_count('enterprise', 'enterprise'::regclass)")

    run_waiting(db_url, db, count, watcher)
    assert one(watcher, STALE) == 0
    kept = one(watcher, KEPT)
    assert kept == one(watcher, COUNTED) and sum(int(c.strip("()").split(",")[2]) for c in kept) == BULK
    watcher.close()
