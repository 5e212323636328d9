"""The audit trail (issue 15, part 2) against a real PostGIS holding the scored demo, with the API connected as the
application's role (riskmap_app, no superuser) as in a cluster riskmap runs: every kind of write is recorded with
who, from where, the request and the rows before and after (a DELETE too); a write nobody named is recorded as
'unknown'; a pooled connection does not carry one request's writer into the next; the application's role cannot
change, delete or empty the trail; refused credentials are recorded without the key and an address that keeps
failing gets 429; GET /audit and `riskmap audit` read it back."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json

import psycopg2
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.settings import Settings
from geo import store
from geo.embedded import APP_ROLE, prepare
from tests.api.conftest import demo_database
from tests.api.test_records_api import danger, png

KEY = "k-audit-test-a1b2c3d4e5f6"
HEADERS = {"X-API-Key": KEY}
WHO = "api:" + hashlib.sha256(KEY.encode()).hexdigest()[:12]
SINCE = "2000-01-01"


@pytest.fixture(scope="module")
def app_url(cluster):
    """The scored demo in a database of its own, handed over to the application's role; its URL as that role."""
    c, _ = cluster
    with demo_database(cluster) as admin_url:
        conn = store.connect(admin_url)
        prepare(conn, APP_ROLE)  # the demo's tables were made by the superuser
        conn.close()
        yield c.app_url(admin_url.rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def api(app_url):
    with TestClient(create_app(Settings(database_url=app_url, api_keys=KEY, rescore_wait_s=0,
                                        plan_max_time_s=10))) as c:
        yield c


@pytest.fixture(scope="module")
def conn(app_url):
    c = store.connect(app_url)
    c.autocommit = True
    yield c
    c.close()


@pytest.fixture(scope="module")
def site(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT id, source_id FROM enterprise ORDER BY id LIMIT 1")
        return cur.fetchone()


def last_id(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM audit_event")
        return cur.fetchone()[0]


def events_since(conn, mark: int, table: str | None = None) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute("SELECT actor, client, request, action, table_name, row_key, before, after FROM audit_event "
                    "WHERE id > %s AND (%s::text IS NULL OR table_name = %s) ORDER BY id", (mark, table, table))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def feature(source_id: str, name: str = "审计测试企业") -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.18, 39.63]},
            "properties": {"source_id": source_id, "name": name, "industry": "mining"}}


def test_the_api_connects_as_a_role_that_is_no_superuser(conn):
    """The fixture's role is the embedded cluster's application role, and it is not a superuser."""
    with conn.cursor() as cur:
        cur.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone() == (APP_ROLE, False)


def test_a_feature_added_changed_and_deleted_is_recorded_with_who_where_what_and_the_rows(api, conn):
    """POST, PATCH and DELETE of a feature: an insert (the row after), an update (before and after) and a delete
    (the row before), each by the key's fingerprint, from the client's address, with the request."""
    mark = last_id(conn)
    r = api.post("/features/enterprise", json=feature("AUDIT-1"), headers=HEADERS)
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    assert api.patch(f"/features/enterprise/{fid}", json={"properties": {"name": "改名企业"}},
                     headers=HEADERS).status_code == 200
    assert api.delete(f"/features/enterprise/{fid}", headers=HEADERS).status_code == 200
    got = [e for e in events_since(conn, mark, "enterprise")]
    assert [(e["action"], e["row_key"], e["actor"], e["client"], e["request"]) for e in got] == [
        ("insert", str(fid), WHO, "testclient", "POST /features/enterprise"),
        ("update", str(fid), WHO, "testclient", f"PATCH /features/enterprise/{fid}"),
        ("delete", str(fid), WHO, "testclient", f"DELETE /features/enterprise/{fid}")]
    insert, update, delete = got
    assert insert["before"] is None and insert["after"]["name"] == "审计测试企业"
    assert insert["after"]["geom"]["coordinates"] == [118.18, 39.63]
    assert (update["before"]["name"], update["after"]["name"]) == ("审计测试企业", "改名企业")
    assert delete["before"]["name"] == "改名企业" and delete["after"] is None


def test_an_upload_records_each_row_and_the_import(api, conn):
    """POST /imports of two rows: an insert per row and the import's log entry, by the key, with the request."""
    mark = last_id(conn)
    text = "id,name,industry,lon,lat\nAUDIT-UP-1,上传一,mining,118.19,39.64\nAUDIT-UP-2,上传二,mining,118.2,39.65\n"
    r = api.post("/imports", data={"kind": "enterprise"}, files={"file": ("up.csv", text.encode(), "text/csv")},
                 headers=HEADERS)
    assert r.status_code == 200, r.text
    got = events_since(conn, mark)
    rows = [e for e in got if e["table_name"] == "enterprise"]
    assert sorted(e["after"]["source_id"] for e in rows) == ["AUDIT-UP-1", "AUDIT-UP-2"]
    assert {(e["action"], e["actor"], e["request"]) for e in got} == {("insert", WHO, "POST /imports")}
    assert [e["after"]["file"] for e in got if e["table_name"] == "import_log"] == ["up.csv"]


def test_every_record_write_is_recorded(api, conn, site):
    """An inspection with a danger, a hidden danger, its status change, a photo (its size, never its bytes), an
    enforcement action and an accident: each is recorded by the key, with its request."""
    mark = last_id(conn)
    inspection = {"source_id": "AUDIT-INS-1", "site_kind": "enterprise", "site_id": site[0],
                  "inspected_on": "2026-04-02", "outcome": "dangers_found",
                  "hidden_dangers": [{"source_id": "AUDIT-INS-1-1", "description": "消防通道堵塞", "grade": "general"}]}
    assert api.post("/inspections", json=inspection, headers=HEADERS).status_code == 201
    r = api.post("/hidden-dangers", json=danger(site, "AUDIT-HD-1"), headers=HEADERS)
    assert r.status_code == 201, r.text
    href, hd = r.headers["location"], r.json()["id"]
    assert api.patch(href, json={"status": "rectified", "on": "2026-03-10"}, headers=HEADERS).status_code == 200
    image = png(noise=b"audit")
    r = api.post(href + "/photos", files={"file": ("现场.png", image, "image/png")}, headers=HEADERS)
    assert r.status_code == 201, r.text
    r = api.post("/enforcement-actions", json={"source_id": "AUDIT-EA-1", "site_kind": "enterprise",
                                               "site_id": site[0], "decided_on": "2026-04-03",
                                               "measure": "rectify_order"}, headers=HEADERS)
    assert r.status_code == 201, r.text
    r = api.post("/accidents", json={"source_id": "AUDIT-ACC-1", "occurred_on": "2025-06-01", "lon": 118.1,
                                     "lat": 39.6, "deaths": 1}, headers=HEADERS)
    assert r.status_code == 201, r.text

    got = events_since(conn, mark)
    assert {e["actor"] for e in got} == {WHO}
    seen = {(e["table_name"], e["action"], e["request"]) for e in got}
    assert {("inspection", "insert", "POST /inspections"), ("hidden_danger", "insert", "POST /inspections"),
            ("hidden_danger", "insert", "POST /hidden-dangers"),
            ("hidden_danger", "update", f"PATCH /hidden-dangers/{hd}"),
            ("hidden_danger_photo", "insert", f"POST /hidden-dangers/{hd}/photos"),
            ("enforcement_action", "insert", "POST /enforcement-actions"),
            ("accident", "insert", "POST /accidents")} <= seen
    change = next(e for e in got if e["action"] == "update" and e["table_name"] == "hidden_danger")
    assert (change["before"]["status"], change["after"]["status"]) == ("open", "rectified")
    photo = next(e for e in got if e["table_name"] == "hidden_danger_photo")["after"]
    assert photo["bytes"] == {"omitted": "not copied to the audit trail", "bytes": len(image)}
    assert photo["sha256"] == hashlib.sha256(image).hexdigest()


def test_a_plan_is_recorded(api, conn):
    """POST /plans: the stored plan's insert, by the key."""
    mark = last_id(conn)
    r = api.post("/plans", json={"teams": 1, "days": 1, "area": "130203", "min_level": "orange", "max_sites": 20,
                                 "time_limit_s": 1}, headers=HEADERS)
    assert r.status_code == 201, r.text
    got = events_since(conn, mark, "inspection_plan")
    assert [(e["action"], e["row_key"], e["actor"], e["request"]) for e in got] == [
        ("insert", str(r.json()["id"]), WHO, "POST /plans")]


def test_a_write_nobody_named_is_recorded_as_unknown(conn):
    """A statement on a connection without tags (a hand-typed UPDATE) is still recorded, by 'unknown'."""
    mark = last_id(conn)
    with conn.cursor() as cur:
        cur.execute("UPDATE venue SET name = name || '' WHERE id = (SELECT min(id) FROM venue)")
    got = events_since(conn, mark)
    assert [(e["action"], e["table_name"], e["actor"], e["client"], e["request"]) for e in got] == [
        ("update", "venue", "unknown", None, None)]


def test_a_pooled_connection_does_not_carry_the_previous_writer(api, conn):
    """After a write, every idle connection of the API's pool has no writer, client or request set."""
    assert api.post("/features/enterprise", json=feature("AUDIT-POOL"), headers=HEADERS).status_code == 201
    pool = api.app.state.pool
    taken = [pool.getconn() for _ in range(len(pool._idle))]
    try:
        for c in taken:
            with c.cursor() as cur:
                cur.execute("SELECT current_setting('riskmap.actor', true), current_setting('riskmap.client', true), "
                            "current_setting('riskmap.request', true)")
                assert all(not v for v in cur.fetchone())
    finally:
        for c in taken:
            pool.putconn(c)


@pytest.mark.parametrize("statement", ["DELETE FROM audit_event", "UPDATE audit_event SET actor = 'someone'",
                                       "TRUNCATE audit_event", "INSERT INTO audit_event (actor, action) "
                                                               "VALUES ('forged', 'insert')"])
def test_the_application_role_cannot_change_the_trail(conn, statement):
    """The application's role may read the trail but not delete, update, empty or write it directly."""
    assert last_id(conn) > 0
    with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn.cursor() as cur:
        cur.execute(statement)


def test_no_role_but_the_trails_own_may_write_it(cluster, app_url):
    """Whatever was granted on the trail (a broad grant of a later migration), after the hand-over no role but
    riskmap_audit holds a privilege on it other than SELECT."""
    admin = store.connect(cluster[1].rsplit("/", 1)[0] + "/" + app_url.rsplit("/", 1)[1])
    try:
        with admin.cursor() as cur:
            cur.execute("CREATE ROLE riskmap_test_broad NOLOGIN")
            cur.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO riskmap_test_broad, PUBLIC")
            prepare(admin, APP_ROLE)
            cur.execute("SELECT c.relowner::regrole::text, array_agg(DISTINCT a.privilege_type::text) "
                        "FILTER (WHERE a.grantee <> c.relowner) FROM pg_class c "
                        "CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE c.oid = 'audit_event'::regclass "
                        "GROUP BY 1")
            assert cur.fetchone() == ("riskmap_audit", ["SELECT"])
        admin.rollback()
    finally:
        admin.close()


def test_even_the_owner_cannot_change_the_trail(cluster, app_url):
    """The trail's trigger refuses UPDATE, DELETE and TRUNCATE to its owner too (as a superuser who takes its
    role)."""
    admin = store.connect(cluster[1].rsplit("/", 1)[0] + "/" + app_url.rsplit("/", 1)[1])
    try:
        for statement in ("DELETE FROM audit_event", "UPDATE audit_event SET actor = 'x'", "TRUNCATE audit_event"):
            with admin.cursor() as cur:
                cur.execute("SET ROLE riskmap_audit")
                with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="append-only"):
                    cur.execute(statement)
            admin.rollback()
    finally:
        admin.close()


def test_refused_credentials_are_recorded_without_the_key_and_a_failing_address_gets_429(app_url, conn):
    """Three refusals (no key, two wrong keys) are three auth_failed events naming the client, the request and
    the wrong key's fingerprint, never the key; the next request from that address, even with the right key,
    is 429 with Retry-After; other addresses are not affected."""
    wrong = "wrong-key-that-must-not-be-stored"
    mark = last_id(conn)
    with TestClient(create_app(Settings(database_url=app_url, api_keys=KEY, auth_fail_limit=3))) as c:
        assert c.post("/features/enterprise", json=feature("AUDIT-AUTH")).status_code == 401
        for _ in range(2):
            assert c.delete("/features/enterprise/1", headers={"X-API-Key": wrong}).status_code == 401
        r = c.post("/features/enterprise", json=feature("AUDIT-AUTH"), headers=HEADERS)
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert c.get("/audit", params={"since": SINCE}, headers=HEADERS).status_code == 429
        other = TestClient(c.app, client=("10.1.2.3", 50000))
        assert other.get("/audit", params={"since": SINCE, "limit": 1}, headers=HEADERS).status_code == 200
    got = events_since(conn, mark)
    fingerprint = "api:" + hashlib.sha256(wrong.encode()).hexdigest()[:12]
    assert [(e["action"], e["actor"], e["client"], e["request"]) for e in got] == [
        ("auth_failed", "anonymous", "testclient", "POST /features/enterprise"),
        ("auth_failed", fingerprint, "testclient", "DELETE /features/enterprise/1"),
        ("auth_failed", fingerprint, "testclient", "DELETE /features/enterprise/1")]
    assert wrong not in json.dumps(got) and "not valid" in got[1]["after"]["reason"]


def test_get_audit_filters_pages_and_writes_csv(api, conn):
    """GET /audit needs a key; filtered by table, action and actor it pages with `next` through the same events
    as the database holds; the CSV has the columns and the same rows."""
    assert api.get("/audit", params={"since": SINCE}).status_code == 401
    assert api.post("/features/enterprise", json=feature("AUDIT-GET-1"), headers=HEADERS).status_code == 201
    assert api.post("/features/enterprise", json=feature("AUDIT-GET-2"), headers=HEADERS).status_code == 201
    params = {"since": SINCE, "table": "enterprise", "action": "insert", "actor": WHO, "limit": 2}
    seen, url = [], "/audit"
    while url:
        r = api.get(url, params=params if url == "/audit" else None, headers=HEADERS)
        assert r.status_code == 200, r.text
        seen += r.json()["events"]
        url = r.json()["next"]
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM audit_event WHERE table_name = 'enterprise' AND action = 'insert' AND actor = %s "
                    "ORDER BY id", (WHO,))
        assert [e["id"] for e in seen] == [i for (i,) in cur.fetchall()]
    assert {"AUDIT-GET-1", "AUDIT-GET-2"} <= {e["after"]["source_id"] for e in seen}

    r = api.get("/audit", params={**params, "limit": 1000, "format": "csv"}, headers=HEADERS)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["id", "at", "actor", "client", "request", "action", "table_name", "row_key", "before", "after"]
    assert [int(row[0]) for row in rows[1:]] == [e["id"] for e in seen]
    assert json.loads(rows[-1][9])["source_id"] == seen[-1]["after"]["source_id"]
    r = api.get("/audit", params={"since": "2030-01-02", "until": "2030-01-01"}, headers=HEADERS)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "until"


def test_cli_writes_are_recorded_by_the_user_and_riskmap_audit_writes_csv(app_url, conn, tmp_path):
    """`riskmap areas import` is recorded as cli:<user> with the command line; `riskmap audit --since ...
    --format csv --out FILE` writes the trail as CSV (the rows as JSON text), --format json one event a line."""
    from api.cli.common import cli_actor

    boundary = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"source_id": "AUDIT-AREA", "name": "=HYPERLINK(\"http://x\")",
                                          "admin_code": "999001", "level": "county"},
        "geometry": {"type": "Polygon", "coordinates": [[[118, 39], [118.01, 39], [118.01, 39.01], [118, 39]]]}}]}
    path = tmp_path / "area.geojson"
    path.write_text(json.dumps(boundary))
    runner = CliRunner()
    env = {"RISKMAP_DATABASE_URL": app_url}
    mark = last_id(conn)
    result = runner.invoke(cli, ["areas", "import", str(path)], env=env)
    assert result.exit_code == 0, result.output
    got = events_since(conn, mark, "area")
    assert [(e["action"], e["actor"]) for e in got] == [("insert", cli_actor())]
    assert got[0]["request"] == f"riskmap areas import {path}"

    out = tmp_path / "audit.csv"
    today = dt.date.today().isoformat()
    result = runner.invoke(cli, ["audit", "--since", today, "--table", "area", "--format", "csv", "--out", str(out)],
                           env=env)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "at", "actor"] and rows[-1][5] == "insert"
    assert json.loads(rows[-1][9])["name"] == "=HYPERLINK(\"http://x\")"
    result = runner.invoke(cli, ["audit", "--since", today, "--action", "insert", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    assert all(json.loads(line)["action"] == "insert" for line in result.stdout.splitlines())


def test_a_road_import_is_recorded_per_statement_and_by_its_file(app_url, conn, tmp_path):
    """`riskmap roads import`: the network's replacement as one event per statement with its row count (not a
    row each: it is rebuilt whole from a map file), and the import's own row (the file), by cli:<user>."""
    from api.cli.common import cli_actor

    ways = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"highway": "primary"},
         "geometry": {"type": "LineString", "coordinates": [[118.1, 39.6], [118.11, 39.6], [118.12, 39.6]]}},
        {"type": "Feature", "properties": {"highway": "secondary"},
         "geometry": {"type": "LineString", "coordinates": [[118.11, 39.59], [118.11, 39.6], [118.11, 39.61]]}}]}
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(ways))
    mark = last_id(conn)
    result = CliRunner().invoke(cli, ["roads", "import", str(path)], env={"RISKMAP_DATABASE_URL": app_url})
    assert result.exit_code == 0, result.output
    got = events_since(conn, mark)
    assert {e["actor"] for e in got} == {cli_actor()}
    summary = {(e["table_name"], e["action"]): e["after"] for e in got if e["row_key"] is None}
    assert summary == {("road_node", "insert"): {"rows": 5}, ("road_edge", "insert"): {"rows": 4}}
    assert [e["after"]["file"] for e in got if e["table_name"] == "road_import"] == [str(path)]
