"""Vector tiles (issue 16 item 2): GET /tiles/{layer}/{z}/{x}/{y}.mvt decoded with mapbox-vector-tile and compared
with SQL on the scored demo, the counts of low zooms, ETags that change exactly with a tile's content, the
TileJSON's data version, refusals of bad tiles, and a county user's tiles."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.tiles import tile_of
from api.settings import Settings
from geo import users

KEY = {"X-API-Key": "k-tiles-admin-4f2a9c81e7"}
OWN, OTHER = "130203", "130281"  # 路北区, 遵化市 (as tests/api/test_area_scope.py)
LAYERS = ["enterprise", "tailings_pond", "venue", "pipeline_segment", "hidden_danger", "area_county", "area_h3_7"]
# the hidden dangers meeting a tile, by SQL: at their site's point on surface
DANGERS_IN_TILE = """SELECT d.id, r.level FROM hidden_danger d
JOIN (SELECT 'enterprise' AS kind, id, geom FROM enterprise
      UNION ALL SELECT 'tailings_pond', id, geom FROM tailings_pond
      UNION ALL SELECT 'venue', id, geom FROM venue UNION ALL SELECT 'pipeline', id, geom FROM pipeline) s
  ON s.kind = d.site_kind AND s.id = d.site_id
LEFT JOIN feature_risk r ON r.kind = s.kind AND r.feature_id = s.id
WHERE ST_Intersects(ST_Transform(ST_PointOnSurface(s.geom), 3857), ST_TileEnvelope(%s, %s, %s))"""


@pytest.fixture(scope="module")
def api(demo_url):
    """An app with anonymous reads, an admin key whose edits wait for their scores, and a client."""
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url, api_keys=KEY["X-API-Key"],
                                        rescore_wait_s=120))) as c:
        yield c


def rows(conn, query: str, params: dict | tuple = ()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


def in_tile(conn, table: str, z: int, x: int, y: int, key: str = "id") -> set:
    """The ids of the rows of ``table`` whose geometry meets the tile, by SQL."""
    return {r[0] for r in rows(conn, f"SELECT {key} FROM {table} "  # noqa: S608 - fixed names from the tests
                                     "WHERE ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s))",
                               (z, x, y))}


def decode(response) -> list[dict]:
    """The features of the one layer of a tile (none for a 204)."""
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(response.content)
    assert len(layers) == 1
    return next(iter(layers.values()))["features"]


def first_point(conn, table: str, county: str | None = None) -> tuple[int, float, float]:
    """A point site of ``table`` (in ``county`` if given): (id, lon, lat)."""
    query = (f"SELECT f.id, ST_X(f.geom), ST_Y(f.geom) FROM {table} f "  # noqa: S608 - fixed names
             "JOIN area a ON a.admin_code = coalesce(%(county)s, a.admin_code) AND a.level = 'county' "
             "AND ST_Intersects(a.geom, f.geom) WHERE GeometryType(f.geom) = 'POINT' ORDER BY f.id LIMIT 1")
    return rows(conn, query, {"county": county})[0]


def edge_distance_deg(lon: float, lat: float, z: int) -> float:
    """How far a point lies from the nearest edge of its tile at zoom z, in degrees."""
    _, x, y = tile_of(lon, lat, z)
    n = 2**z

    def lat_of(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return min(lon - (x / n * 360 - 180), (x + 1) / n * 360 - 180 - lon, lat_of(y) - lat, lat - lat_of(y + 1))


@pytest.mark.parametrize("layer", LAYERS)
def test_tilejson_describes_the_layer_with_a_versioned_tiles_url(api, layer):
    """TileJSON 3.0.0: one XYZ tiles URL of this layer carrying ?v=, zooms, bounds in degrees, the layer's fields."""
    doc = api.get(f"/tiles/{layer}.json").json()
    assert doc["tilejson"] == "3.0.0" and doc["scheme"] == "xyz"
    assert doc["tiles"][0].startswith(f"http://testserver/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?v=")
    assert doc["tiles"][0].endswith("v=" + doc["data_version"])
    assert 0 == doc["minzoom"] < doc["maxzoom"]
    w, s, e, n = doc["bounds"]
    assert 117 < w < e < 120 and 38 < s < n < 41  # the Tangshan demo
    (vector_layer,) = doc["vector_layers"]
    assert vector_layer["id"] == layer and {"score", "level"} <= set(vector_layer["fields"])
    assert "top_factors" not in vector_layer["fields"]  # (for a click: GET /features/{kind}/{id})


@pytest.mark.parametrize("table", ["enterprise", "tailings_pond", "venue"])
def test_detail_tiles_hold_exactly_the_sites_of_their_box_with_their_scores(api, conn, table):
    """At zooms 10 and 13, the tile around a site and its eight neighbours decode to exactly the sites whose geometry
    meets each tile (SQL), each with the site's id as the feature's id and the name, score, level and direct-red rule
    stored, and nothing else (the top factors are for a click: the feature's own URL)."""
    _, lon, lat = first_point(conn, table)
    stored = {r[0]: r[1:] for r in rows(conn, f"SELECT f.id, f.name, round(r.score::numeric, 2)::float8, r.level, "  # noqa: S608
                                              f"r.direct_red FROM {table} f LEFT JOIN feature_risk r "
                                              "ON r.kind = %s AND r.feature_id = f.id", (table,))}
    seen = 0
    for z in (10, 13):
        _, cx, cy = tile_of(lon, lat, z)
        for x in (cx - 1, cx, cx + 1):
            for y in (cy - 1, cy, cy + 1):
                features = decode(api.get(f"/tiles/{table}/{z}/{x}/{y}.mvt"))
                assert {f["id"] for f in features} == in_tile(conn, table, z, x, y), (z, x, y)
                for f in features:
                    p = f["properties"]
                    name, score, level, direct_red = stored[f["id"]]
                    assert (p["name"], p.get("score"), p.get("level"), p.get("direct_red")) == (name, score, level,
                                                                                               direct_red)
                    assert set(p) <= {"name", "score", "level", "direct_red"}
                seen += len(features)
    assert seen > 0


@pytest.mark.parametrize("table", ["enterprise", "venue"])
def test_low_zoom_tiles_count_the_sites_of_their_box_per_level(api, conn, table):
    """At zooms 5 and 8, a tile holds cells whose counts per level add up to the sites meeting the tile (SQL), and
    each cell's level is the worst of its counts."""
    _, lon, lat = first_point(conn, table)
    for z in (5, 8):
        _, x, y = tile_of(lon, lat, z)
        cells = decode(api.get(f"/tiles/{table}/{z}/{x}/{y}.mvt"))
        expected = dict(rows(conn, f"SELECT coalesce(r.level, 'unscored'), count(*) FROM {table} f "  # noqa: S608
                                   "LEFT JOIN feature_risk r ON r.kind = %s AND r.feature_id = f.id "
                                   "WHERE ST_Intersects(ST_Transform(f.geom, 3857), ST_TileEnvelope(%s, %s, %s)) "
                                   "GROUP BY 1", (table, z, x, y)))
        got = {level: sum(c["properties"][level] for c in cells)
               for level in ("red", "orange", "yellow", "blue", "unscored")}
        assert {k: v for k, v in got.items() if v} == expected
        assert sum(c["properties"]["count"] for c in cells) == sum(expected.values()) > 0
        for c in cells:
            p = c["properties"]
            worst = next((lv for lv in ("red", "orange", "yellow", "blue") if p[lv]), None)
            assert p.get("level") == worst
        assert all(c["geometry"]["type"] == "Point" for c in cells)


def test_pipeline_and_area_tiles_hold_the_features_of_their_box(api, conn):
    """Pipeline segments at zoom 12, counties at zoom 8 and H3 cells of resolution 7 at zoom 11 decode to the rows
    meeting the tile (SQL); below zoom 10 the segments are merged per pipeline and level."""
    lon, lat = rows(conn, "SELECT ST_X(ST_StartPoint(geom)), ST_Y(ST_StartPoint(geom)) FROM pipeline_segment "
                          "ORDER BY id LIMIT 1")[0]
    z, x, y = tile_of(lon, lat, 12)
    segments = decode(api.get(f"/tiles/pipeline_segment/{z}/{x}/{y}.mvt"))
    assert {f["id"] for f in segments} == in_tile(conn, "pipeline_segment", z, x, y) != set()
    assert all({"pipeline_id", "seq", "name"} <= set(f["properties"]) for f in segments)
    z, x, y = tile_of(lon, lat, 7)
    merged = decode(api.get(f"/tiles/pipeline_segment/{z}/{x}/{y}.mvt"))
    assert sum(f["properties"]["segments"] for f in merged) == len(in_tile(conn, "pipeline_segment", z, x, y))
    assert len({(f["properties"]["pipeline_id"], f["properties"].get("level")) for f in merged}) == len(merged)

    z, x, y = tile_of(lon, lat, 8)
    counties = decode(api.get(f"/tiles/area_county/{z}/{x}/{y}.mvt"))
    expected = {r[0] for r in rows(conn, "SELECT area_id FROM area_risk WHERE area_type = 'admin' AND resolution = 3 "
                                         "AND ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s))",
                                   (z, x, y))}
    assert {f["properties"]["id"] for f in counties} == expected != set()
    z, x, y = tile_of(lon, lat, 11)
    cells = decode(api.get(f"/tiles/area_h3_7/{z}/{x}/{y}.mvt"))
    expected = {r[0] for r in rows(conn, "SELECT area_id FROM area_risk WHERE area_type = 'h3' AND resolution = 7 "
                                         "AND ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s))",
                                   (z, x, y))}
    assert {f["properties"]["id"] for f in cells} == expected != set()


def test_small_h3_cells_are_counted_per_level_at_low_zooms(api, conn):
    """H3 cells of resolution 9 at zoom 8 (far below 8 pixels wide): counts per level in squares that add up to the
    cells meeting the tile (SQL); at zoom 12 each cell is drawn."""
    lon, lat = rows(conn, "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area_risk "
                          "WHERE area_type = 'h3' AND resolution = 9 ORDER BY area_id LIMIT 1")[0]
    z, x, y = tile_of(lon, lat, 8)
    squares = decode(api.get(f"/tiles/area_h3_9/{z}/{x}/{y}.mvt"))
    expected = dict(rows(conn, "SELECT level, count(*) FROM area_risk WHERE area_type = 'h3' AND resolution = 9 "
                               "AND ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s)) GROUP BY 1",
                         (z, x, y)))
    got = {lv: sum(q["properties"][lv] for q in squares) for lv in ("red", "orange", "yellow", "blue")}
    assert {k: v for k, v in got.items() if v} == expected and sum(expected.values()) > 0
    assert all(q["geometry"]["type"] == "Point" and "id" not in q["properties"] for q in squares)
    z, x, y = tile_of(lon, lat, 12)
    cells = decode(api.get(f"/tiles/area_h3_9/{z}/{x}/{y}.mvt"))
    expected = {r[0] for r in rows(conn, "SELECT area_id FROM area_risk WHERE area_type = 'h3' AND resolution = 9 "
                                         "AND ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s))",
                                   (z, x, y))}
    assert {c["properties"]["id"] for c in cells} == expected != set()


def test_hidden_danger_tiles_hold_the_dangers_at_their_sites_and_change_with_a_new_one(api, conn):
    """Hidden dangers at zoom 12 are exactly those whose site's point lies in the tile (SQL), with the site's level;
    at zoom 7 their counts per level add up to them; recording a new danger there changes the tile's ETag and the
    TileJSON's version at once (before any scoring run), and the new danger is in the tile."""
    site, lon, lat = first_point(conn, "venue")
    z, x, y = tile_of(lon, lat, 12)
    before = api.get(f"/tiles/hidden_danger/{z}/{x}/{y}.mvt")
    version = api.get("/tiles/hidden_danger.json").json()["data_version"]
    r = api.post("/hidden-dangers", headers=KEY, json={
        "site_kind": "venue", "site_id": site, "description": "疏散通道堵塞", "grade": "major",
        "found_on": "2026-11-20", "deadline": "2026-11-30"})
    assert r.status_code == 201, r.text
    danger = r.json()["id"]
    after = api.get(f"/tiles/hidden_danger/{z}/{x}/{y}.mvt")
    assert after.headers["etag"] != before.headers["etag"]
    assert api.get("/tiles/hidden_danger.json").json()["data_version"] != version
    features = decode(after)
    expected = dict(rows(conn, DANGERS_IN_TILE, (z, x, y)))
    assert {f["id"] for f in features} == set(expected) and danger in expected
    assert all(f["properties"].get("level") == expected[f["id"]] for f in features)
    new = next(f["properties"] for f in features if f["id"] == danger)
    assert (new["grade"], new["status"], new["site_id"], new["deadline"]) == ("major", "open", site, "2026-11-30")
    z, x, y = tile_of(lon, lat, 7)
    squares = decode(api.get(f"/tiles/hidden_danger/{z}/{x}/{y}.mvt"))
    levels = [lv or "unscored" for _, lv in rows(conn, DANGERS_IN_TILE, (z, x, y))]
    assert sum(q["properties"]["count"] for q in squares) == len(levels)
    for lv in ("red", "orange", "yellow", "blue", "unscored"):
        assert sum(q["properties"][lv] for q in squares) == levels.count(lv)


def test_an_empty_tile_is_a_204_with_an_etag(api):
    """A tile where the layer has nothing (the Gulf of Guinea) is a 204 without a body, with its ETag."""
    r = api.get("/tiles/enterprise/10/512/512.mvt")
    assert r.status_code == 204 and r.content == b"" and r.headers["etag"].startswith('"')


def test_etag_answers_304_and_a_tile_of_the_current_version_may_be_kept(api, conn):
    """If-None-Match with the tile's ETag: 304 without a body; a tile asked with the TileJSON's version is cacheable
    (max-age, immutable), one without a version or with an old one must be revalidated (no-cache)."""
    _, lon, lat = first_point(conn, "enterprise")
    z, x, y = tile_of(lon, lat, 12)
    r = api.get(f"/tiles/enterprise/{z}/{x}/{y}.mvt")
    assert r.status_code == 200 and "no-cache" in r.headers["cache-control"]
    etag = r.headers["etag"]
    again = api.get(f"/tiles/enterprise/{z}/{x}/{y}.mvt", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert api.get(f"/tiles/enterprise/{z}/{x}/{y}.mvt", headers={"If-None-Match": '"other"'}).status_code == 200
    version = api.get("/tiles/enterprise.json").json()["data_version"]
    kept = api.get(f"/tiles/enterprise/{z}/{x}/{y}.mvt", params={"v": version})
    assert "immutable" in kept.headers["cache-control"] and kept.headers["etag"] == etag
    assert "private" in kept.headers["cache-control"]
    old = api.get(f"/tiles/enterprise/{z}/{x}/{y}.mvt", params={"v": "0.0"})
    assert "no-cache" in old.headers["cache-control"]


def test_an_edit_changes_the_etag_of_the_tiles_holding_the_site_and_of_no_other(api, conn):
    """Renaming one site (PATCH with the admin key) changes the ETag of the tile holding it and of none of its eight
    neighbours, at zooms 13 and 15; the TileJSON's version changes; the new tile carries the new name."""
    site, lon, lat = first_point(conn, "venue")

    def etags() -> dict:
        tags = {}
        for z in (13, 15):
            _, cx, cy = tile_of(lon, lat, z)
            for x in (cx - 1, cx, cx + 1):
                for y in (cy - 1, cy, cy + 1):
                    tags[(z, x, y)] = api.get(f"/tiles/venue/{z}/{x}/{y}.mvt").headers["etag"]
        return tags

    before, version = etags(), api.get("/tiles/venue.json").json()["data_version"]
    r = api.patch(f"/features/venue/{site}", json={"properties": {"name": "改名后的场所"}}, headers=KEY)
    assert r.status_code == 200, r.text
    after = etags()
    holding = {tile_of(lon, lat, z) for z in (13, 15)}
    changed = {t for t in before if before[t] != after[t]}
    assert changed == holding
    assert api.get("/tiles/venue.json").json()["data_version"] != version
    features = decode(api.get("/tiles/venue/{}/{}/{}.mvt".format(*tile_of(lon, lat, 15))))
    assert "改名后的场所" in {f["properties"]["name"] for f in features if f["id"] == site}


def test_a_new_score_changes_the_low_zoom_tile_counting_the_site_and_not_its_neighbours(api, conn):
    """A major hidden danger recorded on a site that is not red (PATCH) makes it red by the direct-red rule: the
    zoom-8 tile counting it changes its ETag and its red count grows by one; its eight neighbours (over 5 km away)
    keep theirs."""
    candidates = rows(conn, "SELECT f.id, ST_X(f.geom), ST_Y(f.geom) FROM enterprise f JOIN feature_risk r "
                            "ON r.kind = 'enterprise' AND r.feature_id = f.id WHERE r.level <> 'red' "
                            "AND GeometryType(f.geom) = 'POINT' ORDER BY f.id")
    site, lon, lat = next(c for c in candidates if edge_distance_deg(c[1], c[2], 8) > 0.05)
    _, cx, cy = tile_of(lon, lat, 8)
    tiles = [(8, x, y) for x in (cx - 1, cx, cx + 1) for y in (cy - 1, cy, cy + 1)]

    def etags() -> dict:
        return {t: api.get("/tiles/enterprise/{}/{}/{}.mvt".format(*t)).headers["etag"] for t in tiles}

    def reds() -> int:
        return sum(c["properties"]["red"] for c in decode(api.get(f"/tiles/enterprise/8/{cx}/{cy}.mvt")))

    before, red_before = etags(), reds()
    r = api.patch(f"/features/enterprise/{site}", json={"properties": {"major_hidden_danger": True}}, headers=KEY)
    assert r.status_code == 200, r.text
    assert api.get(f"/features/enterprise/{site}").json()["properties"]["level"] == "red"
    after = etags()
    assert {t for t in tiles if before[t] != after[t]} == {(8, cx, cy)}
    assert reds() == red_before + 1


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/tiles/nothing/0/0/0.mvt", 404, "no tile layer 'nothing'"),
    ("/tiles/area_h3_3/0/0/0.mvt", 404, "area_h3_7"),
    ("/tiles/nothing.json", 404, "enterprise, tailings_pond"),
    ("/tiles/enterprise/3/8/0.mvt", 404, "x and y run from 0 to 7"),
    ("/tiles/enterprise/3/0/9.mvt", 404, "x and y run from 0 to 7"),
    ("/tiles/enterprise/23/0/0.mvt", 422, "z"),
    ("/tiles/enterprise/-1/0/0.mvt", 422, "z"),
    ("/tiles/enterprise/a/0/0.mvt", 422, "z"),
    ("/tiles/enterprise/1/0/1.5.mvt", 422, "y"),
    ("/tiles/enterprise/1/99999999999999999999/0.mvt", 404, "x and y run from 0 to 1"),
])
def test_bad_layers_and_tiles_are_refused_with_a_problem_naming_them(api, path, status, says):
    """An unknown layer or a tile outside its zoom's grid: 404; a z, x or y that is no number in range: 422; each
    with the problem body saying what is wrong, never a 500."""
    r = api.get(path)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert says in r.text


def test_a_county_users_tiles_hold_only_their_countys_sites(api, conn):
    """A viewer limited to 路北区: the tile around one of its enterprises holds only sites of 路北区 (and all of
    them that meet the tile), the tile around an enterprise of 遵化市 is empty, and the counts of a tile of the
    whole region add up to 路北区's sites alone; the version names the user's areas."""
    _, token = users.add(conn, "tiles-lubei", "viewer", [OWN], "test")
    who = {"Authorization": f"Bearer {token}"}
    own = {r[0] for r in rows(conn, "SELECT f.id FROM enterprise f JOIN area a ON a.admin_code = %s "
                                    "AND ST_Intersects(a.geom, ST_PointOnSurface(f.geom))", (OWN,))}
    _, lon, lat = first_point(conn, "enterprise", OWN)
    z, x, y = tile_of(lon, lat, 11)
    mine = {f["id"] for f in decode(api.get(f"/tiles/enterprise/{z}/{x}/{y}.mvt", headers=who))}
    assert mine and mine <= own and mine == in_tile(conn, "enterprise", z, x, y) & own
    _, lon, lat = first_point(conn, "enterprise", OTHER)
    z, x, y = tile_of(lon, lat, 11)
    assert api.get(f"/tiles/enterprise/{z}/{x}/{y}.mvt", headers=who).status_code == 204
    assert api.get(f"/tiles/enterprise/{z}/{x}/{y}.mvt").status_code == 200  # (everyone's tile has it)
    z, x, y = tile_of(lon, lat, 6)
    counted = sum(c["properties"]["count"] for c in decode(api.get(f"/tiles/enterprise/{z}/{x}/{y}.mvt",
                                                                     headers=who)))
    assert counted == len(own & in_tile(conn, "enterprise", z, x, y))
    mine_version = api.get("/tiles/enterprise.json", headers=who).json()["data_version"]
    assert mine_version != api.get("/tiles/enterprise.json").json()["data_version"]
