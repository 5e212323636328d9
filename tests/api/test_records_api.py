"""The records over HTTP, against a real PostGIS holding the scored demo: POST of each record kind through the
importer's checks, POST /inspections with its dangers all or nothing, a hidden danger's status changes allowed
and refused (409 naming the allowed ones) with their history (before, after, who), photos checked by their
bytes, and GET of every record and its history.  Dates are fixed."""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import zlib

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

KEY = "k-records-a1b2c3d4e5f6"
HEADERS = {"X-API-Key": KEY}
WHO = "api:" + hashlib.sha256(KEY.encode()).hexdigest()[:12]
PHOTO_LIMIT_MB = 0.02  # about 20 KB


@pytest.fixture(scope="module")
def api(demo_url):
    """A client of an app that accepts the key KEY, photos up to about 20 KB and bodies up to 1 MB."""
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url, api_keys=KEY,
                                        photo_max_mb=PHOTO_LIMIT_MB,
                                        max_body_mb=1.0, rescore_wait_s=120))) as c:
        yield c


@pytest.fixture(scope="module")
def site(conn):
    """(riskmap id, source id) of a demo enterprise."""
    with conn.cursor() as cur:
        cur.execute("SELECT id, source_id FROM enterprise ORDER BY id LIMIT 1")
        return cur.fetchone()


def count(conn, query: str, params=()) -> int:
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()[0]


def png(width: int = 2, height: int = 2, noise: bytes = b"") -> bytes:
    """A real PNG image (8-bit greyscale); ``noise`` goes into a text chunk to make it larger or different."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(range(width)) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + (chunk(b"tEXt", b"Comment\x00" + noise) if noise else b"")
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def danger(site, source_id: str, **fields) -> dict:
    return {"source_id": source_id, "site_kind": "enterprise", "site_source_id": site[1],
            "description": "储罐区可燃气体报警器失效", "grade": "major", "found_on": "2026-03-01",
            "deadline": "2026-03-31", "responsible_unit": "唐山化工", "responsible_person": "张三", **fields}


def test_record_writes_need_a_valid_key(api):
    """No key: 401; a wrong key: 401 too; nothing is written either way."""
    assert api.post("/hidden-dangers", json={"description": "x"}).status_code == 401
    r = api.post("/accidents", json={"occurred_on": "2025-06-01", "lon": 118.1, "lat": 39.6},
                 headers={"X-API-Key": "nope"})
    assert r.status_code == 401


def test_status_changes_follow_the_rules_and_the_history_keeps_each_with_who(api, site):
    """open → rectified → verified → reopened → rectified are 200; open, and a second verified, are 409 naming
    the allowed statuses; the history holds the insert and each change, before and after, by the key's
    fingerprint."""
    r = api.post("/hidden-dangers", json=danger(site, "API-HD-1"), headers=HEADERS)
    assert r.status_code == 201, r.text
    href = r.headers["location"]
    assert href == r.json()["href"] and r.json()["scoring"]["state"] in ("done", "pending")
    got = api.get(href).json()
    assert (got["status"], got["status_changed_on"], got["site"]["id"], got["allowed_changes"]) == (
        "open", "2026-03-01", site[0], ["rectified"])

    r = api.patch(href, json={"status": "verified", "on": "2026-03-10"}, headers=HEADERS)
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["allowed"] == ["rectified"] and "rectified" in r.json()["detail"]

    steps = [("rectified", "2026-03-09"), ("verified", "2026-03-12"), ("reopened", "2026-05-01"),
             ("rectified", "2026-05-20")]
    for status, on in steps:
        r = api.patch(href, json={"status": status, "on": on}, headers=HEADERS)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["status_changed_on"]) == (status, on)
    final = api.get(href).json()
    assert (final["rectified_on"], final["verified_on"], final["reopened_on"]) == ("2026-05-20", None, "2026-05-01")

    r = api.patch(href, json={"status": "open", "on": "2026-06-01"}, headers=HEADERS)
    assert r.status_code == 409 and r.json()["allowed"] == ["verified", "reopened"]

    history = api.get(href + "/history").json()["changes"]
    assert [c["operation"] for c in history] == ["insert", "update", "update", "update", "update"]
    assert {c["changed_by"] for c in history} == {WHO}
    assert [(c["before"]["status"], c["after"]["status"]) for c in history[1:]] == [
        ("open", "rectified"), ("rectified", "verified"), ("verified", "reopened"), ("reopened", "rectified")]
    assert {"status", "rectified_on", "status_changed_on"} <= set(history[1]["changed"])


def test_a_status_change_dated_before_the_danger_was_found_is_422(api, site):
    """The date of a change may not precede the found date; the refused change writes nothing."""
    href = api.post("/hidden-dangers", json=danger(site, "API-HD-2"), headers=HEADERS).headers["location"]
    r = api.patch(href, json={"status": "rectified", "on": "2026-02-01"}, headers=HEADERS)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "on"
    assert "before the danger was found" in r.json()["detail"]
    assert len(api.get(href + "/history").json()["changes"]) == 1


def test_dates_after_today_are_422_naming_the_field(api, site):
    """A status change, an inspection and an accident dated after today are refused naming the field (the one
    rule of geo/dates.py), and nothing is written."""
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    href = api.post("/hidden-dangers", json=danger(site, "API-HD-AHEAD"), headers=HEADERS).headers["location"]
    r = api.patch(href, json={"status": "rectified", "on": tomorrow}, headers=HEADERS)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "on"
    assert "is after today" in r.json()["detail"]
    assert len(api.get(href + "/history").json()["changes"]) == 1
    r = api.post("/inspections", json={"source_id": "API-INS-AHEAD", "site_kind": "enterprise",
                                       "site_source_id": site[1], "inspected_on": tomorrow}, headers=HEADERS)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["report"]["errors"]] == ["inspected_on"]


def test_patch_of_an_unknown_danger_is_404_and_a_second_post_of_an_id_is_409(api, site):
    """PATCH of an id that does not exist is 404; POST of a source_id already stored is 409."""
    assert api.patch("/hidden-dangers/999999999", json={"status": "rectified", "on": "2026-03-02"},
                     headers=HEADERS).status_code == 404
    assert api.post("/hidden-dangers", json=danger(site, "API-HD-3"), headers=HEADERS).status_code == 201
    r = api.post("/hidden-dangers", json=danger(site, "API-HD-3"), headers=HEADERS)
    assert r.status_code == 409 and "API-HD-3" in r.json()["detail"]


def test_a_danger_of_an_unknown_site_is_422_naming_it(api, conn):
    """The importer's check: a site that does not exist is a bad row of the report, and nothing is written."""
    before = count(conn, "SELECT count(*) FROM hidden_danger")
    r = api.post("/hidden-dangers", json=danger(("x", "NO-SUCH-SITE"), "API-HD-4"), headers=HEADERS)
    assert r.status_code == 422
    assert r.json()["report"]["errors"] == [{"row": 1, "field": "site_source_id",
                                             "reason": "site enterprise 'NO-SUCH-SITE' does not exist"}]
    assert count(conn, "SELECT count(*) FROM hidden_danger") == before


def test_an_inspection_with_its_dangers_is_written_all_or_nothing(api, site, conn):
    """One bad danger (deadline before its found date) rejects the inspection and every danger: 422 naming the
    danger's row, nothing written.  Corrected, all are written; the dangers take the inspection's site and date
    and the inspection lists them."""
    body = {"source_id": "API-INS-1", "site_kind": "enterprise", "site_id": site[0], "inspected_on": "2026-04-02",
            "inspection_type": "special", "team": "第一组", "outcome": "dangers_found",
            "hidden_dangers": [{"source_id": "API-INS-1-1", "description": "消防通道堵塞", "grade": "general"},
                               {"source_id": "API-INS-1-2", "description": "安全阀未校验", "grade": "major",
                                "deadline": "2026-03-01"}]}
    before = {t: count(conn, f"SELECT count(*) FROM {t}") for t in ("inspection", "hidden_danger")}
    r = api.post("/inspections", json=body, headers=HEADERS)
    assert r.status_code == 422
    report = r.json()["report"]
    assert report["file"] == "request body: hidden_dangers"
    assert report["errors"][0]["row"] == 2 and report["errors"][0]["field"] == "deadline"
    assert {t: count(conn, f"SELECT count(*) FROM {t}") for t in before} == before

    body["hidden_dangers"][1]["deadline"] = "2026-04-30"
    r = api.post("/inspections", json=body, headers=HEADERS)
    assert r.status_code == 201, r.text
    written = r.json()
    assert [d["source_id"] for d in written["hidden_dangers"]] == ["API-INS-1-1", "API-INS-1-2"]
    inspection = api.get(r.headers["location"]).json()
    assert (inspection["site"]["id"], inspection["inspection_type"]) == (site[0], "special")
    assert [d["id"] for d in inspection["hidden_dangers"]] == [d["id"] for d in written["hidden_dangers"]]
    first = api.get(written["hidden_dangers"][0]["href"]).json()
    assert (first["site_id"], first["inspection_id"], first["found_on"], first["status"]) == (
        site[0], written["id"], "2026-04-02", "open")
    assert api.get(r.headers["location"] + "/history").json()["changes"][0]["changed_by"] == WHO


def test_photos_are_checked_by_their_bytes_and_read_back_unchanged(api, site):
    """A PNG is stored and read back byte for byte (201; the same photo again 200, stored once); a text file
    named .jpg is 415; a photo over the limit is 413; the danger lists its photos."""
    href = api.post("/hidden-dangers", json=danger(site, "API-HD-5"), headers=HEADERS).headers["location"]
    image = png(noise=b"yard")
    r = api.post(href + "/photos", files={"file": ("现场.png", image, "image/png")},
                 data={"taken_at": "2026-03-01T10:30:00+08:00"}, headers=HEADERS)
    assert r.status_code == 201, r.text
    photo = r.json()
    assert (photo["content_type"], photo["size"], photo["sha256"], photo["added_by"]) == (
        "image/png", len(image), hashlib.sha256(image).hexdigest(), WHO)
    got = api.get(photo["href"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/png" and got.content == image

    again = api.post(href + "/photos", files={"file": ("again.png", image, "image/png")}, headers=HEADERS)
    assert again.status_code == 200 and again.json()["id"] == photo["id"]

    r = api.post(href + "/photos", files={"file": ("现场.jpg", "这不是照片".encode(), "image/jpeg")}, headers=HEADERS)
    assert r.status_code == 415 and "JPEG, PNG or WebP" in r.json()["detail"]

    big = png(noise=bytes(int(PHOTO_LIMIT_MB * 1024 * 1024) + 1))
    r = api.post(href + "/photos", files={"file": ("big.png", big, "image/png")}, headers=HEADERS)
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    assert [p["id"] for p in api.get(href).json()["photos"]] == [photo["id"]]
    assert api.get(f"{href}/photos/999999999").status_code == 404


def test_a_photo_taken_at_an_offset_postgresql_does_not_take_is_stored_at_the_same_instant(api, site):
    """A photo's time with an offset beyond PostgreSQL's ±15:59 (Python takes up to ±23:59; schemathesis found it
    answered 500) is stored as the same instant in UTC; a time that has no instant in the years 1 to 9999 in UTC
    is 422 naming taken_at, and nothing is stored."""
    href = api.post("/hidden-dangers", json=danger(site, "API-HD-TZ"), headers=HEADERS).headers["location"]
    r = api.post(href + "/photos", files={"file": ("a.png", png(noise=b"tz"), "image/png")},
                 data={"taken_at": "2026-03-01T10:30:00+21:08"}, headers=HEADERS)
    assert r.status_code == 201, r.text
    assert dt.datetime.fromisoformat(r.json()["taken_at"]) == dt.datetime(2026, 2, 28, 13, 22, tzinfo=dt.UTC)
    r = api.post(href + "/photos", files={"file": ("b.png", png(noise=b"early"), "image/png")},
                 data={"taken_at": "0001-01-01T00:00:00+05:00"}, headers=HEADERS)
    assert r.status_code == 422 and r.json()["errors"] == [
        {"field": "taken_at", "message": r.json()["detail"]}] and "out of range" in r.json()["detail"]
    assert len(api.get(href).json()["photos"]) == 1


def test_accidents_get_their_class_from_the_numbers_or_are_refused_when_it_contradicts_them(api, site):
    """An accident without a class gets the decree's (4 deaths: relatively serious); a class that 12 deaths
    contradict is 422 naming both; the stored accident reads back with its point and site."""
    r = api.post("/accidents", json={"source_id": "API-A-1", "occurred_on": "2025-06-01", "accident_type": "爆炸",
                                     "deaths": 4, "lon": 118.18, "lat": 39.63, "site_kind": "enterprise",
                                     "site_id": site[0]}, headers=HEADERS)
    assert r.status_code == 201 and r.json()["scoring"] is None
    got = api.get(r.headers["location"]).json()
    assert (got["accident_class"], got["deaths"], got["serious_injuries"], got["lon"], got["lat"]) == (
        "relatively_serious", 4, 0, 118.18, 39.63)
    assert got["site"]["source_id"] == site[1]
    r = api.post("/accidents", json={"source_id": "API-A-2", "occurred_on": "2025-06-01", "accident_class": "general",
                                     "deaths": 12, "lon": 118.18, "lat": 39.63}, headers=HEADERS)
    assert r.status_code == 422
    reason = r.json()["report"]["errors"][0]["reason"]
    assert "一般 (general)" in reason and "重大 (serious)" in reason


def test_enforcement_actions_are_posted_and_read_with_their_history(api, site):
    """A suspension posted with its site reads back; its history names who; a fine without an amount is 422;
    a record id that does not exist is 404."""
    body = {"source_id": "API-EA-1", "site_kind": "enterprise", "site_source_id": site[1],
            "decided_on": "2026-03-05", "measure": "suspension", "lifted_on": "2026-04-20"}
    r = api.post("/enforcement-actions", json=body, headers=HEADERS)
    assert r.status_code == 201, r.text
    got = api.get(r.headers["location"]).json()
    assert (got["measure"], got["lifted_on"], got["site"]["id"]) == ("suspension", "2026-04-20", site[0])
    assert api.get(r.headers["location"] + "/history").json()["changes"][0]["changed_by"] == WHO
    r = api.post("/enforcement-actions", json={**body, "source_id": "API-EA-2", "measure": "fine",
                                               "lifted_on": None}, headers=HEADERS)
    assert r.status_code == 422 and r.json()["report"]["errors"][0]["field"] == "fine_yuan"
    for path in ("/inspections/999999999", "/accidents/999999999/history", "/enforcement-actions/999999999"):
        assert api.get(path).status_code == 404


def test_unknown_body_members_are_refused_and_props_are_kept(api, site):
    """A misspelt field is a 422 naming it, not silently dropped; so are props that shadow a field (by its name
    or a Chinese column name); other props are kept with the record."""
    r = api.post("/hidden-dangers", json={**danger(site, "API-HD-6"), "grade_": "major"}, headers=HEADERS)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "grade_"
    r = api.post("/hidden-dangers", json={**danger(site, "API-HD-7"), "props": {"status": "x"}}, headers=HEADERS)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "props"
    r = api.post("/hidden-dangers", json={**danger(site, "API-HD-8"), "props": {"整改状态": "已验收"}}, headers=HEADERS)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "props"
    r = api.post("/hidden-dangers", json={**danger(site, "API-HD-9"), "props": {"天气": "晴", "检查人数": 3}},
                 headers=HEADERS)
    assert r.status_code == 201 and api.get(r.headers["location"]).json()["props"] == {"天气": "晴", "检查人数": 3}


def test_openapi_documents_the_record_endpoints(api):
    """Every record endpoint is in the OpenAPI document with the statuses it answers: the 409 of a refused
    transition (its `allowed` member in the Problem schema), the photo's 413 and 415, the 404 of unknown ids."""
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {"/inspections": {"post"}, "/hidden-dangers": {"post"}, "/hidden-dangers/{id}": {"get", "patch"},
                "/hidden-dangers/{id}/photos": {"post"}, "/hidden-dangers/{id}/photos/{photo_id}": {"get"},
                "/enforcement-actions": {"post"}, "/accidents": {"post"}}
    for kind in ("inspections", "hidden-dangers", "enforcement-actions", "accidents"):
        expected.setdefault(f"/{kind}/{{id}}", set()).add("get")
        expected[f"/{kind}/{{id}}/history"] = {"get"}
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    assert {"200", "404", "409", "422"} <= set(paths["/hidden-dangers/{id}"]["patch"]["responses"])
    assert {"200", "201", "404", "413", "415"} <= set(paths["/hidden-dangers/{id}/photos"]["post"]["responses"])
    assert set(paths["/hidden-dangers/{id}/photos/{photo_id}"]["get"]["responses"]["200"]["content"]) == {
        "image/jpeg", "image/png", "image/webp"}
    assert "allowed" in spec["components"]["schemas"]["Problem"]["properties"]


@pytest.mark.parametrize("body", [
    {"occurred_on": "2026-06-01", "lon": 118.1, "lat": 39.6, "deaths": 1, "source_id": "acc\u0000x"},
    {"occurred_on": "2026-06-01", "lon": 118.1, "lat": 39.6, "deaths": 1, "props": {"note": "a\u0000b"}},
], ids=["source_id", "props"])
def test_a_nul_character_in_a_record_is_a_422_naming_the_field(api, body):
    """PostgreSQL text holds no NUL character: a record carrying one is refused, naming the field (was a 500)."""
    r = api.post("/accidents", json=body, headers={"X-API-Key": KEY})
    assert r.status_code == 422, r.text
    assert "NUL" in r.text
