"""geo/layers.py is the one list of published layers (issue 16): the OGC collections, the QGIS project's layers and
the vector tile layers publish exactly its ids, so that a layer cannot be added to one way out and missed in
another."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo.layers import published_layers


@pytest.fixture(scope="module")
def api(demo_url):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url))) as c:
        yield c


@pytest.fixture(scope="module")
def published(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT DISTINCT resolution FROM area_risk WHERE area_type = 'h3'")
        return published_layers([r for (r,) in cur.fetchall()])


def test_the_ogc_collections_are_the_published_layers_in_order(api, published):
    """/ogc/collections lists every published layer once, in geo/layers.py's order, with its English title."""
    collections = api.get("/ogc/collections").json()["collections"]
    assert [c["id"] for c in collections] == [layer.id for layer in published]
    assert [c["title"] for c in collections] == [layer.title_en for layer in published]
    assert {"hidden_danger", "plan_route", "tailings_pond_area", "area_h3_7"} <= {c["id"] for c in collections}


def test_the_qgis_project_opens_every_published_layer_from_its_collection(api, published):
    """GET /qgis has one layer per published layer, reading the collection of the same id."""
    project = ET.fromstring(api.get("/qgis").content)
    maplayers = project.findall("projectlayers/maplayer")
    assert [m.findtext("resourceMetadata/identifier") for m in maplayers] == [layer.id for layer in published]
    assert all(f"typename='{m.findtext('resourceMetadata/identifier')}'" in m.findtext("datasource")
               for m in maplayers)


def test_every_published_layer_with_tiles_has_a_tile_layer_and_no_other_is_one(api, published):
    """Each published layer with tiles has a TileJSON of its id; the tile layers a 404 names are exactly those; the
    pond outlines have none (their polygons are in the tailings_pond tiles)."""
    tiled = [layer.id for layer in published if layer.tiles]
    for layer_id in tiled:
        r = api.get(f"/tiles/{layer_id}.json")
        assert r.status_code == 200 and r.json()["vector_layers"][0]["id"] == layer_id, layer_id
    r = api.get("/tiles/no_such_layer.json")
    assert r.status_code == 404
    named = r.json()["detail"].split("the layers are: ", 1)[1].split(", ")
    assert named == tiled
    assert [layer.id for layer in published if not layer.tiles] == ["enterprise_area", "tailings_pond_area",
                                                                    "venue_area"]
