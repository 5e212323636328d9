"""The QGIS project of every published layer: GET /qgis and `riskmap qgis --out` (issue 16, item 3).

No QGIS is installed: the document is checked as XML against what QGIS 3 reads (maps/qgis_project.py), and its
extent and layers against the scored demo's tables."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from geo.layers import FEATURE_LAYERS, FIXED_LAYERS, published_layers
from maps.main_map import LEVEL_COLOURS, TEAM_COLOURS
from maps.qgis_project import Extent, oapif_source, qgis_project

BASE = "http://testserver"  # the TestClient's server
WEB_MAP_COLOURS = {"red": "#d7191c", "orange": "#fd8d3c", "yellow": "#ffd92f", "blue": "#2b83ba"}


@pytest.fixture(scope="module")
def response(client):
    return client.get("/qgis")


@pytest.fixture(scope="module")
def project(response) -> ET.Element:
    return ET.fromstring(response.content)


@pytest.fixture(scope="module")
def stored_layers(conn):
    """The layers the demo should publish: the H3 resolutions with cells stored, found here by scanning them."""
    with conn.cursor() as cur:
        cur.execute("SELECT DISTINCT resolution FROM area_risk WHERE area_type = 'h3'")
        return published_layers(sorted(r for (r,) in cur.fetchall()))


def source_keys(source: str) -> dict[str, str]:
    """QGIS's ``key='value'`` data source as a dict."""
    return dict(re.findall(r"(\w+)='((?:[^'\\]|\\.)*)'", source))


def rgb(hex_colour: str) -> str:
    return ",".join(str(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5))


def test_get_qgis_answers_a_qgs_file(response):
    """GET /qgis: 200, the .qgs media type, offered as riskmap.qgs, starting with QGIS's DOCTYPE."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-qgis"
    assert 'filename="riskmap.qgs"' in response.headers["content-disposition"]
    assert response.content.startswith(b"<!DOCTYPE qgis ")


def test_the_root_is_qgis_with_a_version_3(project):
    """The document parses as XML; its root is <qgis> with a QGIS 3 version, a title and a project CRS."""
    assert project.tag == "qgis"
    assert re.fullmatch(r"3\.\d+\.\d+(-\w+)?", project.get("version"))
    assert project.findtext("title")
    assert project.findtext("projectCrs/spatialrefsys/authid") == "EPSG:4326"


def test_one_oapif_layer_per_published_layer(project, stored_layers):
    """One <maplayer> per layer of geo/layers.py (H3: one per stored resolution), each a vector layer of the
    OAPIF provider whose data source is this server's /ogc and the layer's collection id."""
    maplayers = project.findall("projectlayers/maplayer")
    assert [m.findtext("id") for m in maplayers] == [f"riskmap_{layer.id}" for layer in stored_layers]
    assert [layer.id for layer in stored_layers] == ["enterprise", "tailings_pond", "venue", "pipeline_segment",
                                                     "enterprise_area", "tailings_pond_area", "venue_area",
                                                     "hidden_danger", "plan_route",
                                                     "area_county", "area_h3_5", "area_h3_6", "area_h3_7",
                                                     "area_h3_8", "area_h3_9"]
    for m, layer in zip(maplayers, stored_layers, strict=True):
        assert m.get("type") == "vector"
        assert m.findtext("provider") == "OAPIF"
        assert source_keys(m.findtext("datasource")) == {"url": f"{BASE}/ogc", "typename": layer.id,
                                                        "restrictToRequestBBOX": "1"}
        assert m.get("geometry") == layer.geometry


def test_layer_names_are_chinese_with_english_in_the_abstract(project, stored_layers):
    """Each layer's name is its Chinese title; its abstract (and metadata abstract) starts with the English."""
    for m, layer in zip(project.findall("projectlayers/maplayer"), stored_layers, strict=True):
        assert m.findtext("layername") == layer.title_zh
        assert re.search(r"[\u4e00-\u9fff]", layer.title_zh)
        assert m.findtext("abstract").startswith(layer.title_en + ": ")
        assert m.findtext("resourceMetadata/abstract") == m.findtext("abstract")
    assert project.find("projectlayers/maplayer").findtext("layername") == "企业"


def test_every_site_segment_and_area_layer_is_categorised_on_level_with_the_web_maps_four_colours(project):
    """Every renderer but the hidden dangers' and the plan routes' is categorizedSymbol on `level`, with exactly
    red, orange, yellow and blue, each drawn in the web map's colour (maps/main_map.py), with a symbol of the
    layer's geometry."""
    assert LEVEL_COLOURS == WEB_MAP_COLOURS
    symbol_type = {"Point": "marker", "Line": "line", "Polygon": "fill"}
    levelled = [m for m in project.findall("projectlayers/maplayer")
                if m.findtext("id") not in ("riskmap_hidden_danger", "riskmap_plan_route")]
    assert len(levelled) == len(project.findall("projectlayers/maplayer")) - 2
    for m in levelled:
        renderer = m.find("renderer-v2")
        assert renderer.get("type") == "categorizedSymbol"
        assert renderer.get("attr") == "level"
        categories = renderer.findall("categories/category")
        assert [c.get("value") for c in categories] == ["red", "orange", "yellow", "blue"]
        symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
        assert len(symbols) == 4
        for category in categories:
            symbol = symbols[category.get("symbol")]
            assert symbol.get("type") == symbol_type[m.get("geometry")]
            options = {o.get("name"): o.get("value") for o in symbol.findall("layer/Option/Option")}
            colour = options.get("color", options.get("line_color"))
            assert colour.rsplit(",", 1)[0] == rgb(WEB_MAP_COLOURS[category.get("value")]), m.findtext("id")


def layer_of(project: ET.Element, layer_id: str) -> ET.Element:
    return next(m for m in project.findall("projectlayers/maplayer") if m.findtext("id") == f"riskmap_{layer_id}")


def symbol_options(renderer: ET.Element) -> dict[str, dict[str, str]]:
    """The options of each category's symbol, by the category's value."""
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    return {c.get("value"): {o.get("name"): o.get("value") for o in symbols[c.get("symbol")].findall("layer/Option/"
                                                                                                      "Option")}
            for c in renderer.findall("categories/category")}


def test_hidden_dangers_are_drawn_as_the_web_maps_danger_markers(project):
    """hidden_danger: point markers categorised on the danger's state: overdue ones filled with the web map's
    danger colour (maps/static/riskmap.css), open ones a ring of it on white, rectified or verified ones listed
    but not drawn (the web map shows the open ones only)."""
    m = layer_of(project, "hidden_danger")
    assert m.get("geometry") == "Point"
    renderer = m.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and '"status"' in renderer.get("attr")
    assert 'to_date("deadline") < to_date(now())' in renderer.get("attr")
    css = (Path(__file__).parents[2] / "maps/static/riskmap.css").read_text()
    danger, ring = re.search(r'\.riskmap-danger-icon\[data-overdue="true"\] \{ background: (#\w+); color: #fff; '
                             r'border-color: (#\w+)', css).groups()
    options = symbol_options(renderer)
    assert list(options) == ["overdue", "open", "closed"]
    assert options["overdue"]["color"] == f"{rgb(danger)},255" and options["overdue"]["outline_color"] == \
        f"{rgb(ring)},255"
    assert options["open"]["color"] == "255,255,255,255" and options["open"]["outline_color"] == f"{rgb(danger)},255"
    shown = {c.get("value"): c.get("render") for c in renderer.findall("categories/category")}
    assert shown == {"overdue": "true", "open": "true", "closed": "false"}


def test_plan_routes_are_lines_in_their_teams_colour(project):
    """plan_route: lines categorised on (team - 1) mod the palette's size, each value in the plan page's colour of
    that team (maps/main_map.py TEAM_COLOURS, as maps/plan_page.team_colour)."""
    from maps.plan_page import team_colour

    m = layer_of(project, "plan_route")
    assert m.get("geometry") == "Line"
    renderer = m.find("renderer-v2")
    assert renderer.get("attr") == f'("team" - 1) % {len(TEAM_COLOURS)}'
    options = symbol_options(renderer)
    assert list(options) == [str(i) for i in range(len(TEAM_COLOURS))]
    for team in (1, 2, 5, len(TEAM_COLOURS) + 3):
        colour = options[str((team - 1) % len(TEAM_COLOURS))]["line_color"]
        assert colour.rsplit(",", 1)[0] == rgb(team_colour(team))


def test_the_layer_tree_lists_every_layer(project):
    """The layer tree names every map layer once, with its id, name, provider and data source; the H3 layers are
    listed switched off, the others on."""
    maplayers = {m.findtext("id"): m for m in project.findall("projectlayers/maplayer")}
    nodes = project.findall("layer-tree-group/layer-tree-layer")
    assert [n.get("id") for n in nodes] == list(maplayers)
    for node in nodes:
        m = maplayers[node.get("id")]
        assert node.get("name") == m.findtext("layername")
        assert node.get("providerKey") == "OAPIF"
        assert node.get("source") == m.findtext("datasource")
        assert node.get("checked") == ("Qt::Unchecked" if "_h3_" in node.get("id") else "Qt::Checked")
    assert [x.get("id") for x in project.findall("layerorder/layer")] == list(maplayers)


def test_the_map_opens_on_the_datas_extent(project, conn):
    """The canvas's extent (EPSG:4326, degrees) is the extent of every layer's rows, computed here row by row."""
    with conn.cursor() as cur:
        cur.execute("""SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM (
                           SELECT geom FROM enterprise UNION ALL SELECT geom FROM tailings_pond
                           UNION ALL SELECT geom FROM venue UNION ALL SELECT geom FROM pipeline_segment
                           UNION ALL SELECT geom FROM area_risk) g) x""")
        expected = cur.fetchone()
    canvas = project.find("mapcanvas")
    assert canvas.findtext("destinationsrs/spatialrefsys/authid") == "EPSG:4326"
    assert canvas.findtext("units") == "degrees"
    got = [float(canvas.findtext(f"extent/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
    assert got == pytest.approx(expected, abs=1e-9)
    assert 117 < got[0] < got[2] < 120 and 38 < got[1] < got[3] < 41  # Tangshan


def test_riskmap_qgis_writes_the_document_get_qgis_answers(demo_url, response, tmp_path):
    """`riskmap qgis --out F --url <the server>` writes, byte for byte, what GET /qgis answers for that server."""
    out = tmp_path / "riskmap.qgs"
    result = CliRunner().invoke(app, ["qgis", "--out", str(out), "--url", BASE + "/"],
                                env={"RISKMAP_DATABASE_URL": demo_url})
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    assert out.read_bytes() == response.content


def test_get_qgis_uses_the_servers_own_url(demo_url, tmp_path):
    """Asked through another host name, GET /qgis points every layer at that host."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url)),
                    base_url="http://gis.example:8123") as other:
        project = ET.fromstring(other.get("/qgis").content)
    urls = {source_keys(m.findtext("datasource"))["url"] for m in project.findall("projectlayers/maplayer")}
    assert urls == {"http://gis.example:8123/ogc"}


@pytest.mark.parametrize("where", ["missing-dir/riskmap.qgs", "."])
def test_riskmap_qgis_refuses_an_unwritable_path(demo_url, tmp_path, where):
    """--out in a directory that does not exist, or naming a directory: exit 2 and a message naming the path
    (not a traceback)."""
    out = tmp_path / where
    result = CliRunner().invoke(app, ["qgis", "--out", str(out)], env={"RISKMAP_DATABASE_URL": demo_url})
    assert result.exit_code == 2, result.output
    unboxed = "".join(c for c in result.output if c not in "│╭╮╰╯─ \n")  # rich's error panel wraps the path
    assert f"--out{out}:cannotwriteit" in unboxed


@pytest.mark.parametrize("url", ["gis.example:8000", "ftp://gis.example", "http://", "http://h:port",
                                 "http://h/?a=1"])
def test_riskmap_qgis_refuses_a_url_that_is_not_a_servers(demo_url, tmp_path, url):
    """--url must be an http(s) address with a host and no query: exit 2 naming --url, and no file."""
    out = tmp_path / "riskmap.qgs"
    result = CliRunner().invoke(app, ["qgis", "--out", str(out), "--url", url], env={"RISKMAP_DATABASE_URL": demo_url})
    assert result.exit_code == 2, result.output
    assert "--url" in result.output
    assert not out.exists()


def test_an_empty_database_gives_the_feature_layers_and_the_whole_world(db_url, tmp_path):
    """With no data: the fixed layers (no H3 resolution has cells), opening on the whole world."""
    out = tmp_path / "empty.qgs"
    result = CliRunner().invoke(app, ["qgis", "--out", str(out)], env={"RISKMAP_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    project = ET.parse(out).getroot()
    ids = [m.findtext("id") for m in project.findall("projectlayers/maplayer")]
    assert ids == [f"riskmap_{layer.id}" for layer in FIXED_LAYERS]
    assert source_keys(project.find("projectlayers/maplayer").findtext("datasource"))["url"] == \
        "http://127.0.0.1:8000/ogc"
    assert [float(project.findtext(f"mapcanvas/extent/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")] == \
        [-180, -90, 180, 90]


def test_a_quote_in_the_url_is_escaped_in_the_data_source():
    """A quote or backslash in the server's address is escaped (QGIS's key='value' URI), and the document
    carries the data source unchanged."""
    source = oapif_source("http://h/it's\\here", "enterprise")
    assert source == "restrictToRequestBBOX='1' typename='enterprise' url='http://h/it\\'s\\\\here/ogc'"
    document = qgis_project(FEATURE_LAYERS[:1], "http://h/it's\\here", Extent(1.0, 2.0, 3.0, 4.0))
    assert ET.fromstring(document).findtext("projectlayers/maplayer/datasource") == source


def test_a_county_users_project_opens_on_their_county(demo_url, conn, project):
    """A user limited to 路北区 gets the project of what they may read (row-level security): opening on an extent
    inside the whole demo's and smaller than it, with the feature and county layers and the H3 resolutions that
    have cells of theirs."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings
    from geo import users

    _, token = users.add(conn, "qgis-lubei", "viewer", ["130203"], "test")
    with TestClient(create_app(Settings(database_url=demo_url))) as scoped:
        assert scoped.get("/qgis").status_code == 401
        own = ET.fromstring(scoped.get("/qgis", headers={"Authorization": f"Bearer {token}"}).content)
    box = [float(own.findtext(f"mapcanvas/extent/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
    whole = [float(project.findtext(f"mapcanvas/extent/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")]
    assert whole[0] <= box[0] < box[2] <= whole[2] and whole[1] <= box[1] < box[3] <= whole[3]
    assert (box[2] - box[0]) * (box[3] - box[1]) < 0.5 * (whole[2] - whole[0]) * (whole[3] - whole[1])
    ids = [m.findtext("id") for m in own.findall("projectlayers/maplayer")]
    assert set(ids) < {m.findtext("id") for m in project.findall("projectlayers/maplayer")}
    assert ids[:len(FIXED_LAYERS)] == [f"riskmap_{layer.id}" for layer in FIXED_LAYERS]
    assert "riskmap_area_h3_9" in ids
