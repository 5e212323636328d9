"""The lists follow the records written over HTTP (POST /hidden-dangers, PATCH /hidden-dangers/{id}): a major
danger recorded for a site is listed, overdue on the dates past its deadline, on the list of major risks and
hidden dangers while open, and on the site's timeline with each status change and who made it.  The campaign of
tests/geo/lists/campaign.py in a database of this module's own (the writes re-score its sites, so nothing here
depends on their levels)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo import store
from tests.conftest import throwaway_database
from tests.geo.lists.campaign import build

KEY = "k-lists-a1b2c3d4e5f6"
HEADERS = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def api(cluster):
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        build(conn)
        conn.close()
        with TestClient(create_app(Settings(anonymous_reads=True, database_url=url, api_keys=KEY))) as c:
            yield c


def major_dangers(api, as_of: str) -> list[str]:
    body = api.get("/major-risks", params={"format": "json", "as_of": as_of}).json()
    return [it["hidden_danger"]["source_id"] for it in body["items"] if it["hidden_danger"]]


def test_a_danger_written_over_http_is_listed_until_rectified(api):
    """POST a major danger at E3 (deadline 06-01): listed by GET /hidden-dangers, overdue from 06-02, on the
    major list; PATCHed to rectified on 06-05, it leaves the open lists and the major list, and E3's page shows
    its history: open, then rectified by the API key's holder."""
    r = api.post("/hidden-dangers", headers=HEADERS, json={
        "source_id": "HTTP-1", "site_kind": "enterprise", "site_source_id": "E3", "description": "粉尘涉爆除尘系统故障",
        "grade": "major", "found_on": "2026-05-20", "deadline": "2026-06-01", "responsible_person": "周伟"})
    assert r.status_code == 201, r.text
    danger_id = r.json()["id"]
    listed = api.get("/hidden-dangers", params={"as_of": "2026-06-02", "overdue": "true", "area": "130203"}).json()
    assert [it["source_id"] for it in listed["items"]] == ["HTTP-1"]  # (D8's deadline is 06-10: not yet)
    on_time = api.get("/hidden-dangers", params={"as_of": "2026-06-01", "overdue": "true", "area": "130203"}).json()
    assert "HTTP-1" not in [it["source_id"] for it in on_time["items"]]
    assert "HTTP-1" in major_dangers(api, "2026-06-02")

    r = api.patch(f"/hidden-dangers/{danger_id}", headers=HEADERS, json={"status": "rectified", "on": "2026-06-05"})
    assert r.status_code == 200, r.text
    still_open = api.get("/hidden-dangers", params={"as_of": "2026-06-06", "status": "open,reopened"}).json()
    assert "HTTP-1" not in [it["source_id"] for it in still_open["items"]]
    assert "HTTP-1" not in major_dangers(api, "2026-06-06")

    e3 = api.get("/hidden-dangers", params={"as_of": "2026-06-06", "kind": "enterprise"}).json()
    site_id = next(it["site"]["id"] for it in e3["items"] if it["source_id"] == "HTTP-1")
    page = api.get(f"/features/enterprise/{site_id}", params={"format": "html", "as_of": "2026-06-06"}).text
    row = page[page.index(f'data-event="hidden_danger" data-id="{danger_id}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-status="open"' in row and 'data-status="rectified"' in row
    assert row.index('data-status="open"') < row.index('data-status="rectified"')
    assert "2026-06-05 已整改" in row and "粉尘涉爆除尘系统故障" in row
    rectified = row[row.index('data-status="rectified"'):]
    assert "（api:" in rectified[:rectified.index("</span>")]  # who: the fingerprint of the API key
