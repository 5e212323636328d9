"""A campaign's state in the database (migration 0034), against the scored demo: two apps on one database stand in
for two server processes.  What one starts the other shows, lists and cancels; the limit on running campaigns
holds over both; a scoped user sees their areas' campaigns only; a campaign whose server died reads failed (found
by a reader, and by a server starting); the table's writes are in the audit trail."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psycopg2
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.dependencies import SCOPE
from api.settings import Settings
from geo import users
from geo.planning.campaign_runs import Owner, process_start
from tests.api.test_campaigns import ASK, LUBEI, WAIT_S, ZUNHUA, check_feasible, ended, wait_for

KEY = "k-campaign-state-5e2a91c7d0f3"
LONG = {**ASK, "days": 10, "max_sites": 200, "min_level": "yellow", "time_limit_s": 600}


@pytest.fixture(scope="module")
def servers(demo_url, conn):
    """Two apps on the demo database (A and B), and the headers of the admin key and of Lubei's and Zunhua's
    planners."""
    tokens = {}
    for name, areas in [("lubei", [LUBEI]), ("zunhua", [ZUNHUA])]:
        _, tokens[name] = users.add(conn, f"state-{name}", "planner", areas, "test")
    settings = Settings(anonymous_reads=True, database_url=demo_url, api_keys=KEY)
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        yield a, b, {"admin": {"X-API-Key": KEY}, **{k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}}


def row(conn, run_id: int) -> tuple:
    with conn.cursor() as cur:
        cur.execute("SELECT state, error, cancel_requested, plan_id FROM campaign_run WHERE id = %s", (run_id,))
        return cur.fetchone()


def test_what_one_server_starts_the_other_shows(servers):
    """A campaign POSTed to A is at once seen by B with the same id and owner, B follows it to done, and both
    answer the same for it then, in GET /campaigns/{id} and at the top of GET /campaigns."""
    a, b, who = servers
    started = a.post("/campaigns", json=ASK, headers=who["admin"])
    assert started.status_code == 202, started.text
    where = started.headers["location"]
    seen = b.get(where, headers=who["admin"])
    assert seen.status_code == 200
    assert seen.json()["id"] == started.json()["id"] and seen.json()["state"] in ("queued", "running", "done")
    assert {k: seen.json()["server"][k] for k in ("host", "pid")} == {"host": os.uname().nodename, "pid": os.getpid()}
    state = wait_for(b, where, who["admin"], ended)
    assert state["state"] == "done" and state["progress"]["days_done"] == ASK["days"], state
    assert a.get(where, headers=who["admin"]).json() == state
    assert b.get("/campaigns", headers=who["admin"]).json()[0] == state
    assert b.get(f"/plans/{state['plan_id']}", headers=who["admin"]).json()["kind"] == "campaign"


def test_two_servers_starting_at_once_start_one_campaign(servers, demo_url):
    """Two POSTs, one to each server, made while a start is under way (the test holds the start's lock): both
    wait for it, then one campaign starts and the other is refused (429): the count and the insert of one start
    are never split by another."""
    a, b, who = servers
    holder = psycopg2.connect(demo_url)
    answers: dict[str, object] = {}
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('riskmap campaign_run start'))")
        posts = [threading.Thread(target=lambda n=n, c=c: answers.__setitem__(
                     n, c.post("/campaigns", json=ASK, headers=who["admin"]))) for n, c in (("a", a), ("b", b))]
        for p in posts:
            p.start()
        deadline = time.monotonic() + WAIT_S
        with psycopg2.connect(demo_url) as watch, watch.cursor() as cur:
            while True:
                cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                if cur.fetchone()[0] == 2:
                    break
                assert time.monotonic() < deadline, "the two starts did not both wait for the lock"
                time.sleep(0.05)
            watch.rollback()
    finally:
        holder.rollback()
        holder.close()
    for p in posts:
        p.join()
    assert sorted(r.status_code for r in answers.values()) == [202, 429], {n: r.text for n, r in answers.items()}
    started = next(r for r in answers.values() if r.status_code == 202)
    refused = next(r for r in answers.values() if r.status_code == 429)
    assert f"campaign {started.json()['id']}" in refused.json()["detail"]
    assert wait_for(a, started.headers["location"], who["admin"], ended)["state"] == "done"


def test_the_other_server_refuses_a_second_campaign_and_cancels_the_first(servers, conn):
    """While Lubei's long campaign runs on A: B refuses another (429 naming it: the limit counts both servers);
    Zunhua's planner neither sees nor cancels it on B; Lubei's planner cancels it on B, A hears of it and stores
    a whole, feasible plan saying it was interrupted; the audit trail has who started and who cancelled it."""
    a, b, who = servers
    started = a.post("/campaigns", json=LONG, headers=who["lubei"])
    assert started.status_code == 202, started.text
    run_id, where = started.json()["id"], started.headers["location"]
    running = wait_for(b, where, who["lubei"], lambda s: s["state"] == "running")
    assert running["state"] == "running"
    busy = b.post("/campaigns", json=ASK, headers=who["admin"])
    assert busy.status_code == 429 and f"campaign {run_id} by user:state-lubei" in busy.json()["detail"], busy.text
    assert b.get(where, headers=who["zunhua"]).status_code == 404
    assert run_id not in [c["id"] for c in b.get("/campaigns", headers=who["zunhua"]).json()]
    assert b.delete(where, headers=who["zunhua"]).status_code == 404
    assert row(conn, run_id)[2] is False
    assert run_id in [c["id"] for c in b.get("/campaigns", headers=who["admin"]).json()]

    cancelled = b.delete(where, headers=who["lubei"])
    assert cancelled.status_code == 202 and cancelled.json()["cancel_requested"] is True
    state = wait_for(b, where, who["lubei"], ended)
    assert state["state"] == "done" and state["interrupted"] is True, state
    doc = b.get(f"/plans/{state['plan_id']}", headers=who["lubei"]).json()
    assert doc["solver"]["interrupted"] is True and all(len(t["days"]) == LONG["days"] for t in doc["teams"])
    check_feasible(doc)
    with conn.cursor() as cur:
        cur.execute("SELECT actor, request, action, after -> 'cancel_requested', after ->> 'state' FROM audit_event "
                    "WHERE table_name = 'campaign_run' AND row_key = %s ORDER BY id", (str(run_id),))
        events = cur.fetchall()
    assert events[0] == ("user:state-lubei", "POST /campaigns", "insert", False, "queued")
    assert ("user:state-lubei", f"DELETE /campaigns/{run_id}", "update", True, "running") in events
    assert events[-1][2:] == ("update", True, "done")


def dead_process() -> tuple[int, int]:
    """The id and start time of a process of this machine that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    started = process_start(child.pid)
    child.kill()
    child.wait()
    return child.pid, started


def insert_run(conn, space: str, pid: int, started: int, silent_s: float) -> int:
    """A running campaign of Lubei owned by the process ``pid`` of ``space``, last heard of ``silent_s`` ago."""
    with conn.cursor() as cur:
        cur.execute("INSERT INTO campaign_run (created_by, area, teams, days, time_limit_s, request, state, "
                    "started_at, owner_host, owner_space, owner_pid, owner_started) "
                    "VALUES ('user:state-lubei', %s, 2, 4, 60, '{}', 'running', now(), 'elsewhere', %s, %s, %s) "
                    "RETURNING id", (LUBEI, space, pid, started))
        run_id = cur.fetchone()[0]
        cur.execute("INSERT INTO campaign_run_progress (run_id, heartbeat_at) "
                    "VALUES (%s, now() - make_interval(secs => %s))", (run_id, silent_s))
    return run_id


def test_a_campaign_whose_server_is_gone_reads_failed(servers, conn):
    """A running campaign whose owner is a process of this machine that has ended reads failed at once, saying
    the server stopped; one of another machine, after its heartbeat has been silent for a minute; one of another
    machine heard of a moment ago still reads running (and blocks another campaign)."""
    a, b, who = servers
    here = Owner.this_process().space
    dead_here = insert_run(conn, here, *dead_process(), silent_s=0)
    silent_elsewhere = insert_run(conn, "another-machine/pid:[4026531836]", 4321, 99, silent_s=60)
    alive_elsewhere = insert_run(conn, "another-machine/pid:[4026531836]", 4322, 99, silent_s=1)
    for run_id in (dead_here, silent_elsewhere):
        state = b.get(f"/campaigns/{run_id}", headers=who["lubei"]).json()
        assert state["state"] == "failed" and "the server stopped" in state["error"], state
        assert state["finished_at"] is not None
        assert row(conn, run_id)[:2] == ("failed", state["error"])
    assert b.get(f"/campaigns/{alive_elsewhere}", headers=who["lubei"]).json()["state"] == "running"
    assert a.post("/campaigns", json=ASK, headers=who["admin"]).status_code == 429
    with conn.cursor() as cur:
        cur.execute("SELECT actor, request FROM audit_event WHERE table_name = 'campaign_run' AND action = 'update' "
                    "AND row_key = %s", (str(dead_here),))
        assert cur.fetchall() == [("riskmap-server", f"process {os.getpid()}: campaigns whose server is gone")]
        cur.execute("UPDATE campaign_run SET state = 'failed', error = 'test over' WHERE id = %s", (alive_elsewhere,))


SERVER = textwrap.dedent("""
    import json, sys, time
    from fastapi.testclient import TestClient
    from api.app import create_app
    from api.settings import Settings
    url, key, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    with TestClient(create_app(Settings(database_url=url, api_keys=key))) as c:
        r = c.post("/campaigns", json=body, headers={"X-API-Key": key})
        print(r.status_code, r.json().get("id"), flush=True)
        time.sleep(600)
""")


def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    return int(stat[stat.rfind(")") + 2:].split()[1])


def test_a_server_killed_while_its_campaign_runs(servers, conn, demo_url):
    """A server process killed (SIGKILL: no shutdown) while its campaign runs: its worker ends without storing a
    plan; the run stays as it was until a server starts, which marks it failed before anyone asks; then every
    server reads it failed, saying the server stopped."""
    a, b, who = servers
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM inspection_plan")
        plans = cur.fetchone()[0]
    server = subprocess.Popen([sys.executable, "-c", SERVER, demo_url, KEY, json.dumps(LONG)],
                              stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.dirname(
                                  os.path.dirname(os.path.abspath(__file__)))))
    fork_server = None
    try:
        status, run_id = server.stdout.readline().split()
        assert status == "202"
        run_id = int(run_id)
        running = wait_for(a, f"/campaigns/{run_id}", who["admin"], lambda s: s["state"] == "running")
        assert running["state"] == "running" and running["server"]["pid"] == server.pid
        worker = running["server"]["worker_pid"]
        fork_server = parent_of(worker)  # (it outlives a killed server: ended below)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
        server.stdout.close()
    try:
        deadline = time.monotonic() + WAIT_S
        while process_start(worker) is not None:
            assert time.monotonic() < deadline, "the worker of a killed server did not end"
            time.sleep(0.2)
    finally:
        if fork_server is not None and fork_server != os.getpid():
            with contextlib.suppress(ProcessLookupError):  # (it may have ended with its last worker)
                os.kill(fork_server, signal.SIGTERM)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM inspection_plan")
        assert cur.fetchone()[0] == plans
    assert row(conn, run_id)[0] == "running"  # nobody has looked since
    with TestClient(create_app(Settings(database_url=demo_url, api_keys=KEY))):
        state, error, _, plan_id = row(conn, run_id)
    assert state == "failed" and "the server stopped" in error and f"process {server.pid}" in error
    assert plan_id is None
    for client in (a, b):
        assert client.get(f"/campaigns/{run_id}", headers=who["admin"]).json()["error"] == error


def test_a_scoped_session_sees_its_areas_runs_and_may_only_ask_them_to_stop(servers, conn, demo_url):
    """In the database itself (migration 0034): a session scoped to Zunhua reads none of Lubei's runs nor their
    progress; one scoped to Lubei reads them, may set cancel_requested, and may not write their state, insert a
    run or touch the progress (the servers do, on connections of their own)."""
    run_id = insert_run(conn, "another-machine/pid:[4026531836]", 4323, 99, silent_s=1)
    try:
        for areas, seen in (([ZUNHUA], 0), ([LUBEI], 1)):
            scoped = psycopg2.connect(demo_url)
            try:
                with scoped.cursor() as cur:
                    cur.execute(SCOPE, {"areas": areas})
                    cur.execute("SELECT (SELECT count(*) FROM campaign_run WHERE id = %(id)s), "
                                "(SELECT count(*) FROM campaign_run_progress WHERE run_id = %(id)s)", {"id": run_id})
                    assert cur.fetchone() == (seen, seen)
                    cur.execute("UPDATE campaign_run SET cancel_requested = true WHERE id = %s", (run_id,))
                    assert cur.rowcount == seen
                scoped.commit()
                for statement in ("UPDATE campaign_run SET state = 'done', plan_id = 1 WHERE id = %(id)s",
                                  "UPDATE campaign_run_progress SET days_done = 3 WHERE run_id = %(id)s",
                                  "DELETE FROM campaign_run WHERE id = %(id)s",
                                  "INSERT INTO campaign_run (created_by, area, teams, days, time_limit_s, request, "
                                  "owner_host, owner_space, owner_pid, owner_started) "
                                  "VALUES ('x', '130203', 1, 1, 1, '{}', 'h', 's', 1, 1)"):
                    with pytest.raises(psycopg2.errors.InsufficientPrivilege), scoped.cursor() as cur:
                        cur.execute(statement, {"id": run_id})
                    scoped.rollback()
            finally:
                scoped.close()
        assert row(conn, run_id)[:3] == ("running", None, True)
    finally:
        with conn.cursor() as cur:
            cur.execute("UPDATE campaign_run SET state = 'failed', error = 'test over' WHERE id = %s", (run_id,))
