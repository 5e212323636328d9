"""The last inspection on a site's page and in GET /features/{kind}/{id} (issue 14, the inspection loop): the latest
inspection record that took place when the site has one (as the scores take it), else the register's date, with the
source said; in a real PostGIS with sites and records written in SQL."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo import store
from tests.geo.supervision import records as r

D = dt.date
AS_OF = "2026-11-30"


@pytest.fixture
def conn(db_url):
    c = store.connect(db_url)
    c.autocommit = True
    yield c
    c.close()


@pytest.fixture
def client(db_url, conn):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=db_url))) as c:
        yield c


def source_id(conn, inspection_id: int) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT source_id FROM inspection WHERE id = %s", (inspection_id,))
        return cur.fetchone()[0]


def latest(client, kind: str, fid: int) -> dict | None:
    r = client.get(f"/features/{kind}/{fid}", params={"as_of": AS_OF})
    assert r.status_code == 200, r.text
    return r.json()["properties"]["latest_inspection"]


def history(client, kind: str, fid: int, lang: str) -> str:
    r = client.get(f"/features/{kind}/{fid}", params={"format": "html", "lang": lang, "as_of": AS_OF})
    assert r.status_code == 200
    page = r.text
    start = page.index('<p class="riskmap-history">')
    return page[start:page.index("</p>", start)]


def test_a_later_inspection_record_is_the_last_inspection_and_says_so(conn, client):
    """An enterprise whose register says 2026-03-01 and whose records hold an inspection on 2026-09-15 (and a
    later visit that did not take place, and one after the as-of date): its last safety inspection is 2026-09-15,
    from that record, with the register's date beside it, in the JSON and on the page in both languages."""
    fid = r.enterprise(conn, 118.2, 39.2, "orange", last_inspection=D(2026, 3, 1))
    done = r.inspection(conn, "enterprise", fid, D(2026, 9, 15), inspection_type="special", outcome="dangers_found")
    r.inspection(conn, "enterprise", fid, D(2026, 10, 20), outcome="not_inspected")
    r.inspection(conn, "enterprise", fid, D(2026, 12, 20))  # after as_of
    sid = source_id(conn, done)
    got = latest(client, "enterprise", fid)
    assert got["date"] == "2026-09-15" and got["source"] == "record"
    assert got["register_field"] == "last_inspection" and got["register_date"] == "2026-03-01"
    assert got["record"]["id"] == done and got["record"]["source_id"] == sid
    zh = history(client, "enterprise", fid, "zh")
    assert (f"最近一次安全检查：<b>2026-09-15</b>；来源：检查记录 {sid}（专项检查，发现隐患）；"
            f"登记资料中为 2026-03-01") in zh
    assert 'data-source="record"' in zh
    en = history(client, "enterprise", fid, "en")
    assert (f"Last safety inspection: <b>2026-09-15</b> · from the inspection record {sid} (special, hidden dangers "
            f"found) · the register says 2026-03-01") in en


def test_the_records_stand_for_the_register_as_in_the_scores_and_the_register_date_is_shown_beside(conn, client):
    """An enterprise whose register says 2026-08-01 and whose latest record is of 2026-05-02: the record's date,
    as the score, the supervision and the plans take it (records first, the register the fallback), with the
    register's date beside it; an enterprise with no record keeps the register's; a pond with neither has none."""
    fid = r.enterprise(conn, 118.2, 39.2, "yellow", last_inspection=D(2026, 8, 1))
    sid = source_id(conn, r.inspection(conn, "enterprise", fid, D(2026, 5, 2)))
    got = latest(client, "enterprise", fid)
    assert (got["date"], got["source"], got["record"]["source_id"]) == ("2026-05-02", "record", sid)
    zh = history(client, "enterprise", fid, "zh")
    assert "<b>2026-05-02</b>" in zh and "登记资料中为 2026-08-01" in zh
    plain = r.enterprise(conn, 118.25, 39.2, "yellow", last_inspection=D(2026, 8, 1))
    assert (latest(client, "enterprise", plain)["date"], latest(client, "enterprise", plain)["source"]) == (
        "2026-08-01", "register")
    assert "<b>2026-08-01</b>；来源：登记资料（最近一次安全检查日期）" in history(client, "enterprise", plain, "zh")
    pond = r.pond(conn, 118.3, 39.2, "blue")
    assert latest(client, "tailings_pond", pond) is None
    assert "没有检查记录" in history(client, "tailings_pond", pond, "zh")


def test_a_venues_record_stands_for_its_register_fire_inspection(conn, client):
    """A venue's register date is its last fire inspection (as scoring and plans read it); a later record
    replaces it on the page, whose line says the inspection may be a safety or a fire one."""
    vid = r.venue(conn, 118.2, 39.2, "yellow", last_fire_inspection=D(2026, 2, 1))
    r.inspection(conn, "venue", vid, D(2026, 7, 7))
    got = latest(client, "venue", vid)
    assert (got["date"], got["source"], got["register_field"]) == ("2026-07-07", "record", "last_fire_inspection")
    assert "Last inspection (safety or fire): <b>2026-07-07</b>" in history(client, "venue", vid, "en")
