"""Writes through the API: API keys, uploads (same validation and report as the CLI), feature edits with
re-scoring, and the request-size limit; against a real PostGIS holding the scored demo."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

KEY = {"X-API-Key": "k-test-2-a1b2c3d4e5f6"}


@pytest.fixture(scope="module")
def writer(demo_url):
    """A client of an app that accepts the keys k-test-1 and k-test-2 and bodies up to 0.05 MB, and whose writes
    wait for their scores (up to two minutes: they come in a few seconds)."""
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url,
                                        api_keys="k-test-1-a1b2c3d4e5f6, k-test-2-a1b2c3d4e5f6",
                                        max_body_mb=0.05, rescore_wait_s=120))) as c:
        yield c


def count(conn, sql: str, params=()) -> int:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def new_enterprise(source_id: str, lon=118.18, lat=39.63, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"source_id": source_id, "name": f"测试企业 {source_id}", "industry": "hazardous_chemicals",
                           **props}}


def test_writes_need_a_valid_key(writer, client):
    """No key: 401; a wrong key: 401 (not valid); a server with no keys configured finds no key valid: 401."""
    body = new_enterprise("KEY-1")
    r = writer.post("/features/enterprise", json=body)
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert "X-API-Key" in r.json()["detail"]
    r = writer.post("/features/enterprise", json=body, headers={"X-API-Key": "nope"})
    assert r.status_code == 401 and "not valid" in r.json()["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = client.post("/features/enterprise", json=body, headers=KEY)
    assert r.status_code == 401 and "not valid" in r.json()["detail"]


def test_upload_imports_and_rescores(writer, conn):
    """A CSV upload inserts its rows, and the new enterprises get scores (incremental re-scoring)."""
    csv = ("id,name,industry,chemicals,lon,lat\n"
           "UP-1,上传化工一,hazardous_chemicals,\"氯:30;氨:200\",118.19,39.64\n"
           "UP-2,上传化工二,hazardous_chemicals,\"氨:5\",118.20,39.65\n").encode()
    r = writer.post("/imports", data={"kind": "enterprise"}, files={"file": ("new.csv", csv, "text/csv")},
                    headers=KEY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["report"]["inserted"] == 2 and body["report"]["error_count"] == 0
    assert body["scoring"]["full"] is False and body["scoring"]["scored"]["enterprise"] >= 2
    assert count(conn, "SELECT count(*) FROM enterprise e JOIN feature_risk r ON r.kind = 'enterprise' "
                       "AND r.feature_id = e.id WHERE e.source_id IN ('UP-1', 'UP-2')") == 2


def test_rejected_upload_writes_nothing_and_reports_rows(writer, conn):
    """One bad row rejects the file: 422 with the report naming the row and field, and no row is written."""
    before = count(conn, "SELECT count(*) FROM enterprise")
    csv = ("id,name,industry,lon,lat\nBAD-1,好企业,mining,118.1,39.6\nBAD-2,坏企业,mining,118.1,95.0\n").encode()
    r = writer.post("/imports", data={"kind": "enterprise"}, files={"file": ("bad.csv", csv, "text/csv")},
                    headers=KEY)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    report = r.json()["report"]
    assert report["error_count"] == 1 and report["errors"][0]["row"] == 2 and report["file"] == "bad.csv"
    assert count(conn, "SELECT count(*) FROM enterprise") == before


def test_upload_of_an_unsupported_file_type_is_422(writer):
    """A .txt upload is refused naming the `file` field; an unknown kind names `kind`."""
    r = writer.post("/imports", data={"kind": "enterprise"}, files={"file": ("x.txt", b"hello", "text/plain")},
                    headers=KEY)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = writer.post("/imports", data={"kind": "factory"}, files={"file": ("x.csv", b"id\n1\n", "text/csv")},
                    headers=KEY)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"


def test_an_unreadable_upload_names_the_users_file_not_the_servers_path(writer):
    """A GeoPackage that is not one: the 422 names the file as uploaded (mine.gpkg) and nothing of where the
    server keeps it (its temporary folder)."""
    r = writer.post("/imports", data={"kind": "enterprise"},
                    files={"file": ("mine.gpkg", bytes(range(256)) * 12, "application/octet-stream")}, headers=KEY)
    assert r.status_code == 422
    assert "mine.gpkg" in r.text and "/tmp" not in r.text and "riskmap-upload" not in r.text


def test_too_large_a_body_is_413(writer, conn):
    """A body over the configured limit (0.05 MB here) is refused with 413 problem+json, and nothing changes."""
    before = count(conn, "SELECT count(*) FROM enterprise")
    rows = "".join(f"BIG-{i},企业{i},mining,118.1,39.6\n" for i in range(3000))
    r = writer.post("/imports", data={"kind": "enterprise"},
                    files={"file": ("big.csv", ("id,name,industry,lon,lat\n" + rows).encode(), "text/csv")},
                    headers=KEY)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert "limit" in r.json()["detail"]
    assert count(conn, "SELECT count(*) FROM enterprise") == before


def test_add_change_and_delete_a_feature(writer, conn):
    """POST adds a scored feature (201, Location); a second POST of the same id is 409; PATCH of a major hidden
    danger makes it red by the direct-red rule; DELETE removes it and its score."""
    r = writer.post("/features/enterprise", json=new_enterprise("EDIT-1", employees=40), headers=KEY)
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"/features/enterprise/{created['id']}" == created["href"]
    detail = writer.get(created["href"]).json()["properties"]
    assert detail["source_id"] == "EDIT-1" and detail["level"] in ("blue", "yellow", "orange", "red")
    assert detail["attributes"]["employees"] == 40

    r = writer.post("/features/enterprise", json=new_enterprise("EDIT-1"), headers=KEY)
    assert r.status_code == 409

    r = writer.patch(created["href"], json={"properties": {"major_hidden_danger": True}}, headers=KEY)
    assert r.status_code == 200, r.text
    detail = writer.get(created["href"]).json()["properties"]
    assert detail["level"] == "red" and detail["direct_red"]
    assert detail["attributes"]["employees"] == 40  # untouched by the PATCH

    r = writer.delete(created["href"], headers=KEY)
    assert r.status_code == 200 and r.json()["source_id"] == "EDIT-1"
    assert writer.get(created["href"]).status_code == 404
    assert count(conn, "SELECT count(*) FROM feature_risk WHERE kind = 'enterprise' AND feature_id = %s",
                 (created["id"],)) == 0


def test_bad_feature_bodies_are_422_with_the_field(writer):
    """A feature with an out-of-range attribute is rejected with the import report; one without a source_id
    or a geometry names the field; PATCH of an unknown id is 404."""
    r = writer.post("/features/enterprise", json=new_enterprise("EDIT-2", employees=-5), headers=KEY)
    assert r.status_code == 422
    assert r.json()["report"]["errors"][0]["field"] == "employees"
    body = new_enterprise("X")
    del body["properties"]["source_id"]
    r = writer.post("/features/enterprise", json=body, headers=KEY)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "properties.source_id"
    r = writer.post("/features/enterprise", json={"properties": {"source_id": "G"}}, headers=KEY)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "geometry"
    r = writer.patch("/features/venue/999999", json={"properties": {"exits": 2}}, headers=KEY)
    assert r.status_code == 404
    r = writer.post("/features/enterprise", content=json.dumps({"type": "Feature"})[:-3], headers={
        **KEY, "content-type": "application/json"})
    assert r.status_code == 422


def test_a_streamed_body_over_the_limit_is_413(writer):
    """A body sent without Content-Length (chunked) is cut off once it passes the limit: 413, not a 500."""
    def chunks():
        yield b"--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nenterprise\r\n"
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n"
        for _ in range(200):
            yield b"x" * 1024
        yield b"\r\n--b--\r\n"

    r = writer.post("/imports", content=chunks(), headers={**KEY, "content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
