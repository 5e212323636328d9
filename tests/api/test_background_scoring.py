"""Re-scoring after writes happens in the background: a write answers once it is committed, its scores follow,
and GET /health tells their state (pending, updating, current) from the database; against a real PostGIS
holding the scored demo, with real scoring processes."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.rescoring import Rescorer
from api.settings import Settings
from geo import store
from geo.importer import import_file
from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.api.conftest import AS_OF

KEY = {"X-API-Key": "k-bg-a1b2c3d4e5f6"}
PATIENCE_S = 180  # how long a test waits for a background run before it reports the state it saw


def enterprise(source_id: str, lon=118.17, lat=39.62, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"source_id": source_id, "name": f"后台评分 {source_id}", "industry": "hazardous_chemicals",
                           "chemicals": "氯:30", **props}}


def health_scores(client) -> dict:
    r = client.get("/health")
    assert r.status_code == 200, r.text
    return r.json()["scores"]


def wait_for_scores(client, state: str = "current") -> dict:
    """Poll /health until the scores reach ``state``; the last answer in the failure message if they do not."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        scores = health_scores(client)
        if scores["state"] == state:
            return scores
        assert time.monotonic() < deadline, f"scores never became {state}: {scores}"
        time.sleep(0.2)


def score_now(url: str) -> None:
    """Bring the scores up to date in this process, as `riskmap score` does."""
    c = store.connect(url)
    try:
        score(c, load_model(), AS_OF)
    finally:
        c.close()


def one(conn, query: str, params=()):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()[0]


def rows(conn, query: str, params=()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


@pytest.fixture(scope="module")
def impatient(demo_url):
    """A client of an app whose writes never wait for their scores (rescore_wait_s=0)."""
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url, api_keys="k-bg-a1b2c3d4e5f6",
                                        rescore_wait_s=0))) as c:
        yield c


def test_a_write_answers_before_its_scores_and_they_follow(impatient, conn):
    """With no wait, POST answers 201 with scoring pending once the feature is committed (it is stored); the
    background run then scores it: /health turns current and the feature has its score."""
    r = impatient.post("/features/enterprise", json=enterprise("BG-1"), headers=KEY)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["scoring"]["state"] == "pending" and "committed" in body["scoring"]["detail"]
    assert body["scoring"]["scored"] is None
    assert one(conn, "SELECT count(*) FROM enterprise WHERE source_id = 'BG-1'") == 1

    scores = wait_for_scores(impatient)
    assert scores["pending_changes"] == 0 and scores["updating_since"] is None
    assert scores["last_run"]["full"] is False and scores["last_run"]["scored"]["enterprise"] >= 1
    detail = impatient.get(body["href"]).json()["properties"]
    assert detail["source_id"] == "BG-1" and detail["level"] in ("blue", "yellow", "orange", "red")
    assert detail["score"] is not None


def test_health_tells_pending_updating_and_current(client, conn, demo_url):
    """An edit not yet scored makes /health say pending; a transaction holding feature_risk's scoring lock makes
    it say updating, with its start; a committed run makes it current again, and last_run is that run's row
    (finished when it committed, not when it began)."""
    assert health_scores(client)["state"] == "current"
    with conn.cursor() as cur:
        cur.execute("UPDATE enterprise SET employees = 77 WHERE id = (SELECT min(id) FROM enterprise)")
    scores = health_scores(client)
    assert scores["state"] == "pending" and scores["pending_changes"] >= 1 and scores["updating_since"] is None

    scorer = store.connect(demo_url)
    try:
        with scorer.cursor() as cur:
            cur.execute("LOCK TABLE feature_risk IN EXCLUSIVE MODE")  # what score() takes first
            cur.execute("SELECT now()")
            began = cur.fetchone()[0]
        scores = health_scores(client)
        assert scores["state"] == "updating" and scores["pending_changes"] >= 1
        assert dt.datetime.fromisoformat(scores["updating_since"]) == began
    finally:
        scorer.rollback()
        scorer.close()
    assert health_scores(client)["state"] == "pending"

    before = one(conn, "SELECT clock_timestamp()")
    c = store.connect(demo_url)
    try:
        summary = score(c, load_model(), AS_OF)
    finally:
        c.close()
    scores = health_scores(client)
    assert scores["state"] == "current" and scores["pending_changes"] == 0
    run = scores["last_run"]
    assert (run["full"], run["changes"], run["scored"]) == (summary.full, summary.changes, summary.scored)
    assert run["model_version"] == load_model()["version"] == client.get("/health").json()["scores_model_version"]
    # the run's row is written as it commits: at least its length after the moment before it began
    assert dt.datetime.fromisoformat(run["finished_at"]) >= before + dt.timedelta(seconds=run["seconds"])


def test_startup_scores_changes_imported_before(demo_url, conn, tmp_path):
    """Changes imported without scoring (as `riskmap import` leaves them) are scored by the service once it
    starts, without any write: /health goes from pending to current and the new enterprise has its score."""
    csv = tmp_path / "cli.csv"
    csv.write_text("id,name,industry,lon,lat\nBG-CLI-1,命令行导入,mining,118.21,39.66\n", encoding="utf-8")
    c = store.connect(demo_url)
    try:
        import_file(c, csv, "enterprise")
    finally:
        c.close()
    assert one(conn, "SELECT count(*) FROM risk_dirty") >= 1
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url))) as started:
        wait_for_scores(started)
    assert one(conn, "SELECT count(*) FROM enterprise e JOIN feature_risk r ON r.kind = 'enterprise' "
                     "AND r.feature_id = e.id WHERE e.source_id = 'BG-CLI-1'") == 1


def test_a_failed_background_run_is_reported_and_the_write_stands(demo_url, conn):
    """When the background run fails (here its database is unreachable) the write still answers 201, with
    scoring failed and the error; the feature is stored and /health shows its change pending."""
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url, api_keys="k-bg-a1b2c3d4e5f6",
                                        rescore_wait_s=120))) as c:
        c.app.state.rescorer.close()
        c.app.state.rescorer = Rescorer("postgresql://riskmap@127.0.0.1:1/riskmap", load_model())
        r = c.post("/features/enterprise", json=enterprise("BG-FAIL-1", lon=118.15), headers=KEY)
        assert r.status_code == 201, r.text
        scoring = r.json()["scoring"]
        assert scoring["state"] == "failed" and scoring["error"] == "DatabaseUnavailable"
        assert "committed" in scoring["detail"] and "127.0.0.1" not in str(scoring)
        assert one(conn, "SELECT count(*) FROM enterprise WHERE source_id = 'BG-FAIL-1'") == 1
        assert health_scores(c)["state"] == "pending"
    score_now(demo_url)


def test_closing_stops_a_run_in_progress_and_keeps_its_changes(demo_url, conn):
    """Closing the rescorer ends a run in progress (here one waiting for the scoring lock): its database session
    ends while the lock is still held elsewhere, nothing was taken, and the change stays recorded."""
    with conn.cursor() as cur:
        cur.execute("UPDATE enterprise SET employees = 78 WHERE id = (SELECT min(id) FROM enterprise)")
    dirty = one(conn, "SELECT count(*) FROM risk_dirty")
    holder = store.connect(demo_url)
    rescorer = Rescorer(demo_url, load_model())
    try:
        with holder.cursor() as cur:
            cur.execute("LOCK TABLE feature_risk IN EXCLUSIVE MODE")
        ticket = rescorer.request()
        # the run's session: the one of the scoring process waiting for the lock (another app's scoring process
        # may keep an idle session of the same name)
        waiting = ("SELECT min(pid) FROM pg_stat_activity WHERE application_name = 'riskmap-rescore' "
                   "AND wait_event_type = 'Lock'")
        deadline = time.monotonic() + PATIENCE_S
        while (run_session := one(conn, waiting)) is None:
            assert time.monotonic() < deadline, "the background run never reached the scoring lock"
            time.sleep(0.1)
        rescorer.close()
        assert rescorer.wait(ticket, 0).error == "the service is shutting down"
        deadline = time.monotonic() + PATIENCE_S
        while one(conn, f"SELECT count(*) FROM pg_stat_activity WHERE pid = {run_session}") > 0:
            # gone although the lock it waits for is still held
            assert time.monotonic() < deadline, "the stopped run's database session stayed"
            time.sleep(0.1)
    finally:
        rescorer.close()
        holder.rollback()
        holder.close()
    assert one(conn, "SELECT count(*) FROM risk_dirty") == dirty
    score_now(demo_url)


def test_runs_share_one_scoring_process_and_a_dead_one_is_replaced(demo_url, conn):
    """Runs one after another are done by the same scoring process (started once, kept with its connection); if
    that process dies between runs, the next run starts another and succeeds."""
    import os
    import signal

    rescorer = Rescorer(demo_url, load_model())
    pids = []
    try:
        for employees in (81, 82, 83):
            with conn.cursor() as cur:
                cur.execute("UPDATE enterprise SET employees = %s WHERE id = (SELECT min(id) FROM enterprise)",
                            (employees,))
            outcome = rescorer.wait(rescorer.request(), PATIENCE_S)
            assert outcome is not None and outcome.error is None and outcome.changes >= 1
            pids.append(rescorer._child.pid)
            if employees == 82:
                os.kill(pids[-1], signal.SIGKILL)
                rescorer._child.join(timeout=10)
        assert pids[0] == pids[1] != pids[2]
        assert one(conn, "SELECT count(*) FROM risk_dirty") == 0
    finally:
        rescorer.close()


def test_runs_start_at_most_once_per_interval_and_the_writes_between_share_one(demo_url, conn):
    """Under a stream of writes a run starts no sooner than ``min_interval_s`` after the last one started, and the
    writes asked for meanwhile are all covered by that next run (one run, not one each)."""
    interval = 3.0
    rescorer = Rescorer(demo_url, load_model(), min_interval_s=interval)

    def change(employees: int) -> None:
        with conn.cursor() as cur:
            cur.execute("UPDATE enterprise SET employees = %s WHERE id = (SELECT max(id) FROM enterprise)",
                        (employees,))

    try:
        change(91)
        warm = rescorer.wait(rescorer.request(), PATIENCE_S)  # (starts the scoring process)
        assert warm is not None and warm.error is None
        time.sleep(interval)  # a quiet interval: the next write's run starts at once
        change(92)
        first = rescorer.wait(rescorer.request(), PATIENCE_S)
        change(93)
        second_ticket = rescorer.request()
        change(94)
        third_ticket = rescorer.request()
        second, third = rescorer.wait(second_ticket, PATIENCE_S), rescorer.wait(third_ticket, PATIENCE_S)
        assert first is not None and first.error is None and first.changes >= 1
        assert second is not None and second.error is None and second is third  # one run for both writes
        # when the runs started, by the database's clock: each ended at finished_at after running `seconds`
        starts = [row[0] for row in rows(conn, "SELECT extract(epoch FROM finished_at) - seconds FROM score_run "
                                               "ORDER BY id DESC LIMIT 2")][::-1]
        assert starts[1] - starts[0] >= interval - 0.1
        assert one(conn, "SELECT employees FROM enterprise WHERE id = (SELECT max(id) FROM enterprise)") == 94
        assert one(conn, "SELECT count(*) FROM risk_dirty") == 0
    finally:
        rescorer.close()
