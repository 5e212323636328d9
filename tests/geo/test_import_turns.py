"""Imports of one kind take turns (geo/write_queue.py): two imports of the same new ids at once both succeed,
the second updating what the first inserted; a reader is never kept waiting by an import; imports sharing one
transaction (``commit=False``) take their turn again without waiting for themselves.

The overlap is forced, not hoped for: the first import is held open (``commit=False``) until the second is seen
waiting for a lock (pg_blocking_pids), and only then commits.  ``WAIT_S`` only bounds how long a test waits
for a step before it fails; nothing asserts a duration.
"""

from __future__ import annotations

import csv
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from geo import store
from geo.importer import import_file
from geo.write_queue import WRITE_QUEUE

WAIT_S = 120
IDS = [f"NEW-{i}" for i in range(50)]


def write_enterprises(path, ids, name="企业"):
    """A CSV of enterprise points around Tangshan, one per id."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "industry", "lon", "lat"])
        for i, sid in enumerate(ids):
            lon, lat = 118.0 + (i % 10) * 0.01, 39.5 + (i // 10) * 0.01
            w.writerow([sid, f"{name}{sid}", "化工", f"{lon:.2f}", f"{lat:.2f}"])
    return path


def one(conn, query, params=()):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()[0]


def wait_until_blocked(watcher, pid: int) -> None:
    """Return once the session ``pid`` waits for a lock another session holds."""
    deadline = time.monotonic() + WAIT_S
    while not one(watcher, "SELECT cardinality(pg_blocking_pids(%s)) > 0", (pid,)):
        assert time.monotonic() < deadline, f"session {pid} never waited for a lock"
        time.sleep(0.02)


@pytest.fixture
def sessions(db_url):
    """Three connections to the test's database: the first import's, the second's and a watcher (autocommit)."""
    first, second, watcher = (store.connect(db_url) for _ in range(3))
    watcher.autocommit = True
    yield first, second, watcher
    for c in (first, second, watcher):
        c.close()


def overlapping_imports(sessions, first_file, second_file, while_both_run=None):
    """Import ``first_file`` and hold its transaction open until the import of ``second_file`` (started at the
    barrier, on its own connection) is seen waiting; then commit it.  Both reports, first then second.
    ``while_both_run(watcher)`` is called at that moment, before the first commits."""
    first, second, watcher = sessions
    start = threading.Barrier(2, timeout=WAIT_S)

    def run_first():
        try:
            first.autocommit = False
            report = import_file(first, first_file, "enterprise", commit=False)
        except BaseException:
            start.abort()
            raise
        start.wait()  # the second starts now: the first's rows are written, not committed
        try:
            wait_until_blocked(watcher, second.info.backend_pid)
            if while_both_run:
                while_both_run(watcher)
        except BaseException:
            first.rollback()
            raise
        first.commit()
        return report

    def run_second():
        start.wait()
        return import_file(second, second_file, "enterprise")

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(run_first), pool.submit(run_second)]
        return [f.result(timeout=WAIT_S) for f in futures]


def test_two_imports_of_the_same_new_ids_at_once_both_succeed_the_second_updating(sessions, tmp_path):
    """Two imports of the same 50 new ids, the second starting while the first's are written and uncommitted:
    both succeed; the first inserts them, the second waits for it and then updates them; each id is stored
    once, with the second file's names."""
    first_file = write_enterprises(tmp_path / "first.csv", IDS, name="甲")
    second_file = write_enterprises(tmp_path / "second.csv", IDS, name="乙")
    a, b = overlapping_imports(sessions, first_file, second_file)
    assert (a.inserted, a.updated) == (50, 0)
    assert (b.inserted, b.updated, b.unchanged) == (0, 50, 0)
    watcher = sessions[2]
    assert one(watcher, "SELECT count(*) FROM enterprise") == 50
    assert one(watcher, "SELECT count(DISTINCT source_id) FROM enterprise") == 50
    assert one(watcher, "SELECT array_agg(DISTINCT name ~ '^乙') FROM enterprise") == [True]


def test_the_same_file_imported_twice_at_once_leaves_the_second_unchanged(sessions, tmp_path):
    """The same file of new ids imported twice at once: the second finds every row as the first stored it and
    counts them unchanged (no update, no duplicate)."""
    path = write_enterprises(tmp_path / "same.csv", IDS)
    a, b = overlapping_imports(sessions, path, path)
    assert (a.inserted, a.updated) == (50, 0)
    assert (b.inserted, b.updated, b.unchanged) == (0, 0, 50)
    assert one(sessions[2], "SELECT count(*) FROM enterprise") == 50


def test_readers_do_not_wait_for_an_import_holding_its_turn(sessions, tmp_path, db_url):
    """While one import holds its turn and another waits for it, a reader (2 s lock_timeout, which fails rather
    than waits) reads the table, the spatial index and the import log at once, and sees none of the new rows."""
    seen = {}

    def read(_watcher):
        reader = store.connect(db_url)
        reader.autocommit = True
        try:
            with reader.cursor() as cur:
                cur.execute("SET lock_timeout = '2s'")
                cur.execute("SELECT count(*) FROM enterprise")
                seen["rows"] = cur.fetchone()[0]
                cur.execute("SELECT count(*) FROM enterprise WHERE geom && ST_MakeEnvelope(117, 39, 119, 40, 4326)")
                seen["in_box"] = cur.fetchone()[0]
                cur.execute("SELECT count(*) FROM import_log")
                seen["imports"] = cur.fetchone()[0]
        finally:
            reader.close()

    first_file = write_enterprises(tmp_path / "first.csv", IDS, name="甲")
    second_file = write_enterprises(tmp_path / "second.csv", IDS, name="乙")
    a, b = overlapping_imports(sessions, first_file, second_file, while_both_run=read)
    assert seen == {"rows": 0, "in_box": 0, "imports": 0}
    assert a.inserted == 50 and b.updated == 50


def test_imports_sharing_one_transaction_take_their_turn_again_without_waiting(db, tmp_path):
    """Two imports of one kind in one transaction (commit=False): the second takes the turn the transaction
    already holds (advisory locks are re-entrant), and both are committed together."""
    db.autocommit = False
    import_file(db, write_enterprises(tmp_path / "a.csv", IDS[:25]), "enterprise", commit=False)
    with db.cursor() as cur:
        cur.execute("SET LOCAL lock_timeout = '2s'")  # a wait for itself would fail here, not hang
    report = import_file(db, write_enterprises(tmp_path / "b.csv", IDS[25:]), "enterprise", commit=False)
    db.commit()
    assert report.inserted == 25
    assert one(db, "SELECT count(*) FROM enterprise") == 50


def test_an_import_of_another_kind_does_not_wait_for_the_turn(sessions, tmp_path):
    """Turns are per kind: while an enterprise import holds its turn, the turn of another kind is free."""
    first, second, _ = sessions
    first.autocommit = False
    import_file(first, write_enterprises(tmp_path / "a.csv", IDS), "enterprise", commit=False)
    try:
        with second.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext('venue')), "
                        "pg_try_advisory_xact_lock(%s, hashtext('enterprise'))", (WRITE_QUEUE, WRITE_QUEUE))
            assert cur.fetchone() == (True, False)
        second.rollback()
    finally:
        first.rollback()
