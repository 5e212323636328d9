"""A database restart under a running API (issue 15, load and faults): while PostgreSQL is down every request is a
503 with Retry-After; once it is back the API answers again at once, without being restarted and without a 503
left over from the connections pooled before the restart; what was acknowledged is still there.

It restarts a real PostgreSQL: a throwaway embedded cluster of this module's own (not the session's shared one,
whose other databases the other tests use).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo import store
from geo.embedded import EmbeddedCluster

KEY = {"X-API-Key": "k-restart-test-key-0123456789"}


@pytest.fixture(scope="module")
def restartable():
    """An embedded cluster of this module alone, migrated; yields it and its URL, destroys it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="riskmap-restart-"))
    os.chmod(root, 0o755)  # as root, the server runs as 'postgres' and must reach it
    cluster = EmbeddedCluster(root / "cluster")
    url = cluster.start()
    conn = store.connect(url)
    store.migrate(conn)
    conn.close()
    yield cluster, url
    cluster.destroy()
    shutil.rmtree(root, ignore_errors=True)


def enterprise(source_id: str) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.18, 39.63]},
            "properties": {"source_id": source_id, "name": f"重启测试企业 {source_id}", "industry": "mining"}}


def inspection(site_id: int, source_id: str) -> dict:
    return {"source_id": source_id, "site_kind": "enterprise", "site_id": site_id, "inspected_on": "2026-12-01",
            "outcome": "no_findings"}


def stored(url: str, table: str, source_id: str) -> bool:
    conn = store.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT EXISTS (SELECT FROM {table} WHERE source_id = %s)", (source_id,))
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_restart_is_503_with_retry_after_then_recovers_keeping_acknowledged_writes(restartable):
    """Writes acknowledged before the restart survive it; during it reads and writes are 503 problem+json with
    Retry-After; after it every request succeeds at once, including as many requests as there were pooled
    connections (none of them is a dead connection from before the restart), and a new write is stored."""
    cluster, url = restartable
    settings = Settings(database_url=url, api_keys=KEY["X-API-Key"], anonymous_reads=True, rescore_wait_s=0)
    with TestClient(create_app(settings)) as client:
        r = client.post("/features/enterprise", json=enterprise("RESTART-1"), headers=KEY)
        assert r.status_code in (200, 201), r.text
        site_id = r.json()["id"]
        r = client.post("/inspections", json=inspection(site_id, "RESTART-INS-1"), headers=KEY)
        assert r.status_code == 201, r.text
        # several connections open and idle in the pool, as after a burst of concurrent requests
        pool = client.app.state.pool
        burst = [pool.getconn() for _ in range(6)]
        for conn in burst:
            pool.putconn(conn)

        cluster.stop()
        try:
            for method, path, body in (("GET", "/features?kind=enterprise", None),
                                       ("GET", "/risks/near?lon=118.18&lat=39.63&radius_m=1000", None),
                                       ("POST", "/inspections", inspection(site_id, "RESTART-INS-DOWN"))):
                r = client.request(method, path, json=body, headers=KEY if body else None)
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert r.headers["content-type"] == "application/problem+json"
                assert int(r.headers["Retry-After"]) > 0
        finally:
            cluster.start()

        statuses = [client.get(f"/features/enterprise/{site_id}").status_code for _ in range(10)]
        assert statuses == [200] * 10
        r = client.post("/inspections", json=inspection(site_id, "RESTART-INS-2"), headers=KEY)
        assert r.status_code == 201, r.text

    assert stored(url, "enterprise", "RESTART-1")
    assert stored(url, "inspection", "RESTART-INS-1") and stored(url, "inspection", "RESTART-INS-2")
    assert not stored(url, "inspection", "RESTART-INS-DOWN")


def test_an_outage_logs_one_warning_a_second_not_one_a_request(caplog):
    """While the database is unreachable every request is a 503, but the log gets one warning a second with the
    number of the others, not one warning per request (a restart under load brought hundreds a second)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings = Settings(database_url=f"postgresql://riskmap@127.0.0.1:{closed}/riskmap", anonymous_reads=True)
    with TestClient(create_app(settings)) as client:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="riskmap.api"):
            statuses = [client.get("/features?kind=enterprise").status_code for _ in range(30)]
    assert statuses == [503] * 30
    warnings = [r for r in caplog.records if r.name == "riskmap.api" and "OperationalError" in r.getMessage()]
    assert 1 <= len(warnings) < 30
    assert len(warnings) == 1 or "not logged" in warnings[-1].getMessage()
