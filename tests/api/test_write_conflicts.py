"""Writes that meet other writes: a deadlock is retried to success, a conflict that remains is a 409 with
Retry-After, a statement past the time limit a 504, never "database unavailable" (503); with real conflicts
provoked on a real PostGIS holding the scored demo."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import psycopg2.errors
import pytest
from fastapi.testclient import TestClient

from api.access import Needs
from api.app import create_app
from api.routes.writes import _write
from api.settings import Settings
from geo import store
from geo.importer import import_file

KEY = {"X-API-Key": "k-conflict-a1b2c3d4e5f6"}
PATIENCE_S = 60


@pytest.fixture(scope="module")
def writer(demo_url):
    """A client that may write, with bodies up to 1 MB, whose writes wait for their scores."""
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url,
                                        api_keys="k-conflict-a1b2c3d4e5f6", max_body_mb=1.0,
                                        rescore_wait_s=120))) as c:
        yield c


def one(conn, query: str, params=()):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()[0]


def wait_until_blocked(observer, pid: int) -> None:
    """Return once the session ``pid`` waits for a lock another session holds."""
    deadline = time.monotonic() + PATIENCE_S
    while not one(observer, "SELECT cardinality(pg_blocking_pids(%s)) > 0", (pid,)):
        assert time.monotonic() < deadline, f"session {pid} never waited for a lock"
        time.sleep(0.05)


def two_enterprises(conn) -> tuple[int, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM enterprise ORDER BY id LIMIT 2")
        a, b = (r[0] for r in cur.fetchall())
    return a, b


def test_a_real_deadlock_is_retried_to_success(demo_url, conn):
    """A write that loses a real deadlock (two sessions updating two rows in opposite order) is rolled back by
    the server and run again by the write routes' retry, which then succeeds; the other session's write stands."""
    first, second = two_enterprises(conn)
    mine, other = store.connect(demo_url), store.connect(demo_url)
    mine.autocommit = True
    attempts = []

    def rival():  # holds `second`, then waits for `first`, which `mine` holds: a cycle once `mine` waits too
        with other.cursor() as cur:
            cur.execute("SET deadlock_timeout = '60s'")  # `mine` (1 s) finds the cycle: it is the one rolled back
            cur.execute("UPDATE enterprise SET employees = 1 WHERE id = %s", (second,))
            holding.set()
            wait_until_blocked(conn, mine.info.backend_pid)
            cur.execute("UPDATE enterprise SET employees = 1 WHERE id = %s", (first,))
        other.commit()

    def write() -> str:
        attempts.append(1)
        mine.autocommit = False
        try:
            with mine.cursor() as cur:
                cur.execute("UPDATE enterprise SET employees = 2 WHERE id = %s", (first,))
                if len(attempts) == 1:
                    thread.start()
                    holding.wait()
                cur.execute("UPDATE enterprise SET employees = 2 WHERE id = %s", (second,))
            mine.commit()
        except BaseException:
            mine.rollback()
            raise
        finally:
            mine.autocommit = True
        return "written"

    holding = threading.Event()
    thread = threading.Thread(target=rival)
    try:
        assert _write(mine, "enterprise", write) == "written"
        thread.join()
    finally:
        mine.close()
        other.close()
    assert len(attempts) == 2
    assert one(conn, "SELECT array_agg(employees ORDER BY id) FROM enterprise WHERE id IN (%s, %s)",
               (first, second)) == [2, 2]


def test_a_write_blocked_by_another_write_is_409_with_retry_after(writer, conn, demo_url):
    """PATCH of a feature whose row another transaction holds waits for the writes' lock timeout, then answers
    409 with Retry-After (not 503, not a hung request), writing nothing; once the other ends, PATCH succeeds."""
    fid = two_enterprises(conn)[0]
    before = one(conn, "SELECT employees FROM enterprise WHERE id = %s", (fid,))
    holder = store.connect(demo_url)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 1 FROM enterprise WHERE id = %s FOR UPDATE", (fid,))
        r = writer.patch(f"/features/enterprise/{fid}", json={"properties": {"employees": 4321}}, headers=KEY)
    finally:
        holder.rollback()
        holder.close()
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json" and int(r.headers["Retry-After"]) > 0
    assert "locked by another write" in r.json()["detail"]
    assert one(conn, "SELECT employees FROM enterprise WHERE id = %s", (fid,)) == before
    r = writer.patch(f"/features/enterprise/{fid}", json={"properties": {"employees": 4321}}, headers=KEY)
    assert r.status_code == 200, r.text
    assert one(conn, "SELECT employees FROM enterprise WHERE id = %s", (fid,)) == 4321


def test_concurrent_uploads_of_the_same_ids_answer_200_or_409(writer, conn):
    """Two uploads of the same 1,000 new ids sent at the same time: each answers 200 or 409 with Retry-After
    (never 503 or 500), at least one is imported (the second, in turn, finds every row as stored: unchanged),
    and every id is stored once."""
    rows = "".join(f"SAME-{i},同批企业{i},mining,{118.0 + (i % 40) * 0.01:.2f},{39.5 + (i // 40) * 0.01:.2f}\n"
                   for i in range(1000))
    csv = ("id,name,industry,lon,lat\n" + rows).encode()
    start = threading.Barrier(2)

    def upload(_):
        start.wait()
        return writer.post("/imports", data={"kind": "enterprise"}, files={"file": ("same.csv", csv, "text/csv")},
                           headers=KEY)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(upload, range(2)))
    assert sorted(r.status_code for r in answers) in ([200, 200], [200, 409]), [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert int(r.headers["Retry-After"]) > 0 and r.headers["content-type"] == "application/problem+json"
        else:
            report = r.json()["report"]
            assert report["inserted"] + report["updated"] + report["unchanged"] == 1000  # the second: unchanged
    assert one(conn, "SELECT count(*) FROM enterprise WHERE source_id LIKE 'SAME-%%'") == 1000


def deadlock_detected(url: str) -> Exception:
    """The error of the session that loses a real deadlock."""
    a, b = store.connect(url), store.connect(url)
    observer = store.connect(url)
    observer.autocommit = True
    first, second = two_enterprises(observer)
    try:
        with a.cursor() as ca, b.cursor() as cb:
            cb.execute("SET deadlock_timeout = '60s'")
            ca.execute("UPDATE enterprise SET name = name WHERE id = %s", (first,))
            cb.execute("UPDATE enterprise SET name = name WHERE id = %s", (second,))
            rival = threading.Thread(target=lambda: (wait_until_blocked(observer, a.info.backend_pid),
                                                     cb.execute("UPDATE enterprise SET name = name WHERE id = %s",
                                                                (first,))))
            rival.start()
            try:
                ca.execute("UPDATE enterprise SET name = name WHERE id = %s", (second,))
            except psycopg2.Error as e:
                a.rollback()
                return e
            finally:
                rival.join()
        raise AssertionError("no deadlock")
    finally:
        for c in (a, b, observer):
            c.close()


def serialization_failure(url: str) -> Exception:
    """The error of a repeatable-read transaction updating a row another committed since its snapshot."""
    a, b = store.connect(url), store.connect(url)
    b.autocommit = True
    try:
        a.set_session(isolation_level="REPEATABLE READ")
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("SELECT min(id) FROM enterprise")
            fid = ca.fetchone()[0]
            cb.execute("UPDATE enterprise SET name = name WHERE id = %s", (fid,))
            try:
                ca.execute("UPDATE enterprise SET name = name WHERE id = %s", (fid,))
            except psycopg2.Error as e:
                return e
        raise AssertionError("no serialisation failure")
    finally:
        a.close()
        b.close()


def lock_not_available(url: str) -> Exception:
    """The error of a statement that waits for a row lock longer than its lock_timeout."""
    a, b = store.connect(url), store.connect(url)
    try:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("SELECT 1 FROM enterprise WHERE id = (SELECT min(id) FROM enterprise) FOR UPDATE")
            cb.execute("SET lock_timeout = 100")
            try:
                cb.execute("SELECT 1 FROM enterprise WHERE id = (SELECT min(id) FROM enterprise) FOR UPDATE")
            except psycopg2.Error as e:
                return e
        raise AssertionError("no lock timeout")
    finally:
        a.close()
        b.close()


def query_canceled(url: str) -> Exception:
    """The error of a statement that runs past its statement_timeout."""
    a = store.connect(url)
    try:
        with a.cursor() as ca:
            ca.execute("SET statement_timeout = 50")
            try:
                ca.execute("SELECT pg_sleep(5)")
            except psycopg2.Error as e:
                return e
        raise AssertionError("no timeout")
    finally:
        a.close()


def app_raising(db_url: str, exc: Exception):
    app = create_app(Settings(anonymous_reads=True, database_url=db_url))

    def boom():
        raise exc

    app.add_api_route("/boom", boom, dependencies=[Needs.viewer])
    return app


@pytest.mark.parametrize(("make", "cls", "status"), [
    (deadlock_detected, psycopg2.errors.DeadlockDetected, 409),
    (serialization_failure, psycopg2.errors.SerializationFailure, 409),
    (lock_not_available, psycopg2.errors.LockNotAvailable, 409),
    (query_canceled, psycopg2.errors.QueryCanceled, 504),
])
def test_database_conflicts_are_409_and_timeouts_504(demo_url, make, cls, status):
    """The errors a real server raises for a deadlock, a serialisation failure and a lock timeout answer 409
    with Retry-After, and a statement timeout 504; none says the database is unavailable or leaks its text."""
    exc = make(demo_url)
    assert type(exc) is cls
    with TestClient(app_raising(demo_url, exc)) as c:
        r = c.get("/boom")
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and "unavailable" not in body["detail"]
    assert str(exc).strip().splitlines()[0] not in body["detail"]  # the server's message stays in the log
    assert ("Retry-After" in r.headers) == (status == 409)


def test_two_posts_of_one_new_id_at_once_are_201_and_409(writer, conn):
    """Two POSTs of the same new feature at the same time: one adds it (201), the other finds it there (409),
    and it is stored once."""
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.3, 39.7]},
            "properties": {"source_id": "TWICE-1", "name": "同时新增", "industry": "mining"}}
    start = threading.Barrier(2)

    def post(_):
        start.wait()
        return writer.post("/features/enterprise", json=body, headers=KEY)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(post, range(2)))
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    assert one(conn, "SELECT count(*) FROM enterprise WHERE source_id = 'TWICE-1'") == 1


def test_an_upload_during_an_import_of_the_same_new_ids_waits_for_it_then_updates_them(writer, conn, demo_url,
                                                                                         tmp_path):
    """POST /imports of 20 new ids that an import on the CLI's path (import_file, in a transaction held open) has
    written and not committed: the upload waits for that import's turn of the class, then finds the ids stored
    and updates them (200, none inserted); each id is stored once, as the upload says."""
    def rows(name):
        return "".join(f"TURN-{i},{name}{i},mining,{118.3 + i * 0.01:.2f},39.80\n" for i in range(20))

    header = "id,name,industry,lon,lat\n"
    (tmp_path / "cli.csv").write_text(header + rows("先导入"), encoding="utf-8")
    holder = store.connect(demo_url)
    try:
        import_file(holder, tmp_path / "cli.csv", "enterprise", commit=False)
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(lambda: writer.post(
                "/imports", data={"kind": "enterprise"},
                files={"file": ("upload.csv", (header + rows("后上传")).encode(), "text/csv")}, headers=KEY))
            deadline = time.monotonic() + PATIENCE_S
            while not one(conn, "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                          (holder.info.backend_pid,)):
                assert time.monotonic() < deadline and not answer.done(), "the upload never waited for the import"
                time.sleep(0.05)
            holder.commit()
            r = answer.result(timeout=PATIENCE_S)
    finally:
        holder.rollback()
        holder.close()
    assert r.status_code == 200, r.text
    assert (r.json()["report"]["inserted"], r.json()["report"]["updated"]) == (0, 20)
    assert one(conn, "SELECT count(*) FROM enterprise WHERE source_id LIKE 'TURN-%%'") == 20
    assert one(conn, "SELECT bool_and(name LIKE '后上传%%') FROM enterprise WHERE source_id LIKE 'TURN-%%'")
