"""The writer processes (api/writer.py): the API's writes run in a process of their own, as their caller (scope
and audit tags, undone after each job), their errors reach the request as if raised there, and a writer process
that dies fails only the write it was making; against a real PostGIS holding the scored demo."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import pickle
import pkgutil
import signal
import time

import psycopg2
import pytest
from fastapi.testclient import TestClient

import api
import geo
from api.app import create_app
from api.settings import Settings
from api.writer import Caller, Writer, WriterLost
from geo.errors import FieldError, ImportRejected, ImportReport, RiskmapError, RowError, TransitionRefused, UnknownKind

KEY = {"X-API-Key": "k-writer-a1b2c3d4e5f6"}


# --- functions a writer process runs (module level: they are pickled by name) ---------------------------------

def _whoami(conn) -> dict:
    with conn.cursor() as cur:
        cur.execute("SELECT current_user::text, current_setting('riskmap.area_codes', true), "
                    "current_setting('riskmap.actor', true), current_setting('riskmap.request', true), "
                    "current_setting('application_name')")
        user, areas, actor, request, app = cur.fetchone()
    return {"pid": os.getpid(), "user": user, "areas": areas or "", "actor": actor or "",
            "request": request or "", "application_name": app}


def _sleep(conn, seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _fail_in_sql(conn) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 / 0")


def _leave_a_transaction_open(conn) -> None:
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    raise ValueError("failed with a transaction open")


def _in_transaction(conn) -> bool:
    return conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE


@pytest.fixture(scope="module")
def writer(demo_url):
    w = Writer(demo_url, processes=1)
    yield w
    w.close()


def run(writer: Writer, caller: Caller, fn, *args):
    return asyncio.run(writer.run(caller, fn, *args))


def test_a_write_runs_in_a_writer_process_on_its_own_connection(writer):
    """The job runs in another process than the caller's, on a connection named riskmap-writer."""
    seen = run(writer, Caller(), _whoami)
    assert seen["pid"] != os.getpid()
    assert seen["application_name"] == "riskmap-writer"


def test_a_job_runs_as_its_caller_and_the_next_job_does_not(writer, conn):
    """A caller limited to an area: the job's connection is scoped (the scoped role, the area) and tagged with the
    caller's name and request; the next job, of an unlimited and unnamed caller, is neither."""
    with conn.cursor() as cur:
        cur.execute("SELECT admin_code FROM area ORDER BY admin_code LIMIT 1")
        code = cur.fetchone()[0]
    scoped = run(writer, Caller(areas=(code,), writer="api:tester", client="10.0.0.9",
                                request="POST /inspections"), _whoami)
    assert scoped["user"] == "riskmap_scoped"
    assert code in scoped["areas"].split(",")
    assert scoped["actor"] == "api:tester" and scoped["request"] == "POST /inspections"
    plain = run(writer, Caller(), _whoami)
    assert plain["pid"] == scoped["pid"]  # the same process and connection, cleaned
    assert plain["user"] != "riskmap_scoped" and plain["areas"] == ""
    assert plain["actor"] == "" and plain["request"] == ""


def test_a_database_error_reaches_the_caller_with_its_sqlstate(writer):
    with pytest.raises(psycopg2.errors.DivisionByZero) as e:
        run(writer, Caller(), _fail_in_sql)
    assert e.value.pgcode == "22012"


def test_a_failed_job_leaves_no_transaction_to_the_next(writer):
    with pytest.raises(ValueError, match="transaction open"):
        run(writer, Caller(), _leave_a_transaction_open)
    assert run(writer, Caller(), _in_transaction) is False


def test_every_domain_error_crosses_processes_whole():
    """Every RiskmapError class (of every module of geo/ and api/) pickles back to the same class, message and
    fields, so that api/errors.py maps a writer's error as if raised in the request."""
    for package in (geo, api):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            importlib.import_module(info.name)
    classes, stack = [], [RiskmapError]
    while stack:
        cls = stack.pop()
        classes.append(cls)
        stack.extend(cls.__subclasses__())
    assert len(classes) > 15
    report = ImportReport(file="f.csv", kind="enterprise", rows_read=2, error_count=1,
                          errors=[RowError(row=2, field="lat", reason="out of range")])
    made = {ImportRejected: ImportRejected(report), TransitionRefused: TransitionRefused("open", "verified",
                                                                                         ("rectified",)),
            UnknownKind: UnknownKind("mine", ["enterprise", "venue"], ["accident"]),
            FieldError: FieldError("deadline", "before the found date")}
    for cls in classes:
        exc = made.get(cls)
        if exc is None:
            params = [p for p in inspect.signature(cls.__init__).parameters.values()
                      if p.name != "self" and p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
            try:
                exc = cls(*[f"value {i}" for i in range(len(params))]) if params else cls(f"what {cls.__name__} says")
            except (TypeError, ValueError):  # an __init__ that wants structured arguments: made as one would be
                exc = cls.__new__(cls)
                Exception.__init__(exc, f"what {cls.__name__} says")
                exc.detail = {"field": "x", "rows": [1, 2]}
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is cls and str(back) == str(exc), cls
        assert {k: v for k, v in vars(back).items()} == {k: v for k, v in vars(exc).items()}, cls


@pytest.fixture(scope="module")
def api_client(demo_url):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url,
                                        api_keys=KEY["X-API-Key"]))) as c:
        yield c


def enterprise(source_id: str) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.18, 39.63]},
            "properties": {"source_id": source_id, "name": f"写入进程 {source_id}", "industry": "mining"}}


def _writer_pids(app) -> list[int]:
    executor = app.state.writer._executor
    return list(executor._processes) if executor is not None else []


def test_an_api_write_is_made_by_a_writer_process_and_audited_as_its_caller(api_client, conn):
    """POST /features: 201, the row's audit event names the key's writer and the request (the tags were set in
    the writer process, whose connection made the insert)."""
    r = api_client.post("/features/enterprise", json=enterprise("WRITER-1"), headers=KEY)
    assert r.status_code == 201, r.text
    assert _writer_pids(api_client.app)
    with conn.cursor() as cur:
        cur.execute("SELECT actor, request FROM audit_event WHERE table_name = 'enterprise' AND action = 'insert' "
                    "AND after ->> 'source_id' = 'WRITER-1'")
        actor, request = cur.fetchone()
    assert actor.startswith("api:") and request == "POST /features/enterprise"


def test_a_killed_writer_process_fails_its_write_only_and_the_next_write_succeeds(api_client, conn):
    """A writer process killed in the middle of a write: that write is a 500 saying it may not have been made;
    the next write starts a new process and is committed."""
    app = api_client.app
    api_client.post("/features/enterprise", json=enterprise("WRITER-2"), headers=KEY)
    pids = _writer_pids(app)
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    r = api_client.post("/features/enterprise", json=enterprise("WRITER-3"), headers=KEY)
    if r.status_code == 500:  # the pool learnt of the death with this write: it is refused, the next one goes
        assert r.json()["title"] == "Write interrupted" and "may or may not" in r.json()["detail"]
        r = api_client.post("/features/enterprise", json=enterprise("WRITER-3"), headers=KEY)
    assert r.status_code == 201, r.text
    assert not set(_writer_pids(app)) & set(pids)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM enterprise WHERE source_id = 'WRITER-3'")
        assert cur.fetchone()[0] == 1


def test_a_writer_process_killed_during_a_job_raises_writer_lost_and_the_writer_recovers(demo_url):
    w = Writer(demo_url, processes=1)
    try:
        pid = run(w, Caller(), _sleep, 0)

        async def kill_during_job():
            job = asyncio.ensure_future(w.run(Caller(), _sleep, 30))
            await asyncio.sleep(0.5)
            os.kill(pid, signal.SIGKILL)
            return await job

        with pytest.raises(WriterLost, match="may not have been made"):
            asyncio.run(kill_during_job())
        assert run(w, Caller(), _sleep, 0) not in (pid, os.getpid())
    finally:
        w.close()


def test_writer_processes_end_when_their_server_is_killed(demo_url):
    """A server process killed outright cannot shut its writer processes down; they see it gone and end (each
    waits for work on a queue it holds both ends of, and would otherwise wait for ever)."""
    import subprocess
    import sys

    script = ("import asyncio, time\n"
              "from api.writer import Caller, Writer\n"
              "from tests.api.test_writer import _sleep\n"
              "if __name__ == '__main__':\n"
              f"    w = Writer({demo_url!r}, processes=1)\n"
              "    print(asyncio.run(w.run(Caller(), _sleep, 0)), flush=True)\n"
              "    time.sleep(120)\n")
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    try:
        writer_pid = int(server.stdout.readline())
        os.kill(writer_pid, 0)  # running
    finally:
        server.kill()
        server.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(writer_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(writer_pid, signal.SIGKILL)
    pytest.fail(f"writer process {writer_pid} still ran 15 s after its server was killed")
