"""GET /health, the problem+json error table, a database that is down, OpenAPI, and `riskmap serve`."""

from __future__ import annotations

import os
import socket

import psycopg2
import pytest
from fastapi.testclient import TestClient

from api.access import Needs
from api.app import create_app
from api.settings import Settings
from geo import store
from geo.errors import DatabaseUnavailable, ImportRejected, ImportReport
from geo.risk.config import load_model


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def client(db_url):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=db_url))) as c:
        yield c


@pytest.fixture
def down_client():
    url = f"postgresql://riskmap@127.0.0.1:{closed_port()}/riskmap"
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=url))) as c:
        yield c


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def test_health_fields(client):
    """/health reports the database reachable, the current schema version, the configured model version and,
    for an empty database, scores that are current with no run recorded."""
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    latest = store.migrations()[-1].version
    assert body == {"status": "ok", "database": "reachable", "schema_version": latest,
                    "expected_schema_version": latest, "model_version": load_model()["version"],
                    "scores_model_version": None,
                    "scores": {"state": "current", "pending_changes": 0, "updating_since": None, "last_run": None}}


def test_startup_migrates_an_empty_database(cluster):
    """The app brings an empty database's schema up to date when it starts."""
    _, url = cluster
    name = f"riskmap_api_empty_{os.getpid()}"
    admin = psycopg2.connect(url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        with TestClient(create_app(Settings(anonymous_reads=True, database_url=url.rsplit("/",
                                            1)[0] + "/" + name))) as c:
            assert c.get("/health").json()["schema_version"] == store.migrations()[-1].version
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_bad_parameters_are_422_even_while_the_database_is_down(down_client):
    """Validation comes first: a bad latitude is 422 naming the field, not 503, with the database down."""
    body = assert_problem(down_client.get("/risks/near?lon=118&lat=91&radius_m=100"), 422)
    assert [e["field"] for e in body["errors"]] == ["lat"]


@pytest.mark.parametrize("url", ["/health", "/risks/near?lon=118.2&lat=39.6", "/features?kind=venue",
                                 "/features/venue/1"])
def test_database_down_is_503_with_retry_after(down_client, url):
    """With the database unreachable every endpoint answers 503 problem+json with Retry-After, no details leaked."""
    r = down_client.get(url)
    body = assert_problem(r, 503)
    assert int(r.headers["Retry-After"]) > 0
    assert "127.0.0.1" not in body["detail"] and "refused" not in body["detail"]


def test_connections_return_to_the_pool(client):
    """Many more requests than pooled connections succeed: each request gives its connection back."""
    for _ in range(60):
        assert client.get("/health").status_code == 200
    assert client.get("/features/venue/1").status_code == 404  # an error path returns its connection too
    assert client.get("/health").status_code == 200


def test_unknown_route_is_404_problem(client):
    """A path that does not exist is a 404 problem, not FastAPI's default body."""
    assert_problem(client.get("/no-such-thing"), 404)


def app_raising(db_url: str, exc: Exception):
    app = create_app(Settings(anonymous_reads=True, database_url=db_url))

    def boom():
        raise exc

    app.add_api_route("/boom", boom, dependencies=[Needs.viewer])
    return app


def test_unexpected_error_is_generic_500(db_url, caplog):
    """An unexpected exception is a 500 with a generic message; the detail is logged, not sent."""
    with TestClient(app_raising(db_url, RuntimeError("secret internals")), raise_server_exceptions=False) as c:
        body = assert_problem(c.get("/boom"), 500)
    assert "secret" not in body["detail"]
    assert "secret internals" in caplog.text


def test_import_rejected_is_422_with_report(db_url):
    """ImportRejected maps to 422 and carries the import report."""
    report = ImportReport(file="sites.csv", kind="enterprise", rows_read=2)
    report.add(2, "industry", "unknown industry 'foo'")
    with TestClient(app_raising(db_url, ImportRejected(report))) as c:
        body = assert_problem(c.get("/boom"), 422)
    assert body["report"] == report.as_dict()


def test_database_unavailable_is_503(db_url):
    """The domain's DatabaseUnavailable maps to 503 with Retry-After."""
    with TestClient(app_raising(db_url, DatabaseUnavailable("cannot connect"))) as c:
        r = c.get("/boom")
    assert_problem(r, 503)
    assert "Retry-After" in r.headers


def test_openapi_lists_the_endpoints(client):
    """/openapi.json documents the endpoints and their parameters."""
    spec = client.get("/openapi.json").json()
    assert {"/health", "/risks/near", "/features", "/features/{kind}/{id}"} <= set(spec["paths"])
    near = {p["name"] for p in spec["paths"]["/risks/near"]["get"]["parameters"]}
    assert near == {"lon", "lat", "radius_m", "kinds", "min_level", "limit"}
    assert "application/geo+json" in spec["paths"]["/risks/near"]["get"]["responses"]["200"]["content"]
    assert client.get("/docs").status_code == 200


def test_serve_command_serves_the_api_on_the_given_port(db_url):
    """`riskmap serve --host --port` really serves the API there (a real uvicorn process, polled over HTTP)."""
    import json
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=dict(os.environ, RISKMAP_DATABASE_URL=db_url), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    health = json.load(r)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    output = proc.stdout.read().decode() if proc.poll() is not None else "no answer"
                    raise AssertionError(output) from None
                time.sleep(0.3)
        assert health["database"] == "reachable" and health["schema_version"] >= 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_docs_page_uses_no_outside_address(client):
    """/docs is Swagger UI served by riskmap itself: the page loads its script and style from /static, which
    answer, and names no outside host (a closed network has no CDN)."""
    import re

    page = client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert not re.search(r"(src|href)=['\"]https?://", page.text)
    for asset in ("/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"):
        assert asset in page.text
        r = client.get(asset)
        assert r.status_code == 200 and len(r.content) > 100_000
    assert client.get("/openapi.json").json()["info"]["title"] == "riskmap"
