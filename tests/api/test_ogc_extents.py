"""The extents of the /ogc collections are kept by data version (api/ogc/extents.py, issue 16): served from the
cache while nothing changed, computed again after any change a layer's extent covers (a feature, a hidden danger, a
plan), and never shared between users of different areas (row-level security)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.ogc import layers as ogc_layers
from api.ogc.extents import Extents
from api.settings import Settings
from geo import store, users
from tests.api.test_area_scope import OWN


@pytest.fixture(scope="module")
def api(demo_url):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url))) as c:
        yield c


@pytest.fixture(scope="module")
def lubei(conn):
    _, token = users.add(conn, "extents-lubei", "viewer", [OWN], "test")
    return {"Authorization": f"Bearer {token}"}


def extents(api, headers=None) -> dict[str, dict]:
    r = api.get("/ogc/collections", headers=headers or {})
    assert r.status_code == 200, r.text
    return {c["id"]: c["extent"] for c in r.json()["collections"]}


def computed(demo_url, areas: list[str]) -> dict[str, tuple]:
    """Every fixed layer's extent row computed now, uncached, as a user of ``areas`` sees it."""
    from api.dependencies import SCOPE

    with store.connect(demo_url) as c:
        c.autocommit = True
        with c.cursor() as cur:
            if areas:
                cur.execute(SCOPE, {"areas": areas})
        out = {layer_id: Extents(c, None).row(layer) for layer_id, layer in ogc_layers.FIXED.items()}
    c.close()
    return out


def bbox(extent: dict) -> list[float] | None:
    return extent["spatial"]["bbox"][0] if "spatial" in extent else None


def assert_as_computed(got: dict[str, dict], rows: dict[str, tuple]) -> None:
    for layer_id, row in rows.items():
        if row[0] is None:
            assert bbox(got[layer_id]) is None, layer_id
        else:
            assert bbox(got[layer_id]) == pytest.approx([round(v, 7) for v in row[:4]], abs=1e-7), layer_id


def test_extents_are_kept_while_nothing_changes(api):
    """A second /ogc/collections reads every extent from the cache: one entry per layer under the data version,
    none added by the second call, and the same document."""
    cache = api.app.state.ogc_extents
    first = extents(api)
    kept = dict(cache._rows)
    assert len(kept) >= len(first) and {key[2] for key in kept} >= set(first)
    assert extents(api) == first and dict(cache._rows) == kept


def test_a_county_user_and_everyone_never_share_an_extent(api, lubei, demo_url):
    """Asked in turn by a user of every area and a viewer of 路北区, each gets the extents of the rows they may
    read, as computed uncached in their scope, not the other's kept one."""
    everyone_rows, lubei_rows = computed(demo_url, []), computed(demo_url, [OWN])
    assert everyone_rows["enterprise"][:4] != lubei_rows["enterprise"][:4]
    for _ in range(2):
        assert_as_computed(extents(api), everyone_rows)
        assert_as_computed(extents(api, lubei), lubei_rows)


def test_a_change_is_in_the_next_extent(api, conn, demo_url):
    """After an enterprise is added far away, a hidden danger recorded on it and a plan stored, the next
    /ogc/collections has the extents computed anew (as uncached), each grown to hold the change."""
    before = extents(api)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO enterprise (source_id, name, industry, employees, geom) VALUES ('EXT-1', '远方企业', "
                    "'other', 5, ST_SetSRID(ST_MakePoint(100.5, 30.5), 4326)) RETURNING id")
        site = cur.fetchone()[0]
    after = extents(api)
    assert bbox(after["enterprise"])[:2] == [100.5, 30.5] and bbox(before["enterprise"])[0] > 110
    with conn.cursor() as cur:
        cur.execute("INSERT INTO hidden_danger (source_id, site_kind, site_id, description, grade, found_on, "
                    "status_changed_on) VALUES ('EXT-HD', 'enterprise', %s, '堵塞', 'general', '2026-11-01', "
                    "'2026-11-01')", (site,))
    assert bbox(extents(api)["hidden_danger"])[:2] == [100.5, 30.5]
    doc = {"teams": [{"team": 1, "name": "team 1", "base": [100.0, 30.0], "days": [
        {"day": 1, "km": 80.0, "risk": 50.0, "hours": 4.0, "leave": "08:30", "back": "12:30", "path": None,
         "stops": [{"seq": 1, "lon": 100.5, "lat": 30.5}]}]}]}
    with conn.cursor() as cur:
        cur.execute("INSERT INTO inspection_plan (created_by, teams, days, risk_share, document) "
                    "VALUES ('test', 1, 1, 1, %s::jsonb)", (json.dumps(doc),))
    latest = extents(api)
    assert bbox(latest["plan_route"])[:2] == [100.0, 30.0]
    assert_as_computed(latest, computed(demo_url, []))
