"""GET /areas (keyset pages of area risk per level) and GET /areas/{id} (one area) against the scored demo."""

from __future__ import annotations

import h3
import pytest

from api.routes.areas import AreaFeature, AreaPage
from geo.risk.config import load_model
from tests.api.paging import walk

AREA_PROPERTIES = {"area_id", "area_type", "resolution", "area_level", "name", "score", "level", "level_max",
                   "level_banded", "counts", "features", "population_exposed", "model_version"}


def rows(conn, sql: str, params=()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def ids(features: list[dict]) -> list[str]:
    return [f["properties"]["area_id"] for f in features]


def stored(conn, area_type: str, area_id: str) -> dict:
    """The area_risk row of one area, with its admin name, as the API reports it."""
    (row,) = rows(conn, "SELECT r.area_id, r.area_type, r.resolution, a.name, round(r.score::numeric, 2)::float8, "
                        "r.level, r.level_max, r.level_banded, r.counts, r.features, r.population_exposed, "
                        "r.model_version FROM area_risk r LEFT JOIN area a ON r.area_type = 'admin' "
                        "AND a.admin_code = r.area_id WHERE r.area_type = %s AND r.area_id = %s",
                  (area_type, area_id))
    keys = ["area_id", "area_type", "resolution", "name", "score", "level", "level_max", "level_banded", "counts",
            "features", "population_exposed", "model_version"]
    return dict(zip(keys, row, strict=True))


def test_county_level_lists_the_demo_counties(client, conn):
    """level=county gives the 14 demo counties, named, each with area_risk's level, score and counts."""
    features, pages = walk(client, "/areas", {"level": "county"})
    assert pages == 1 and len(features) == 14
    expected = {code: (name, level) for code, name, level in rows(
        conn, "SELECT r.area_id, a.name, r.level FROM area_risk r JOIN area a ON a.admin_code = r.area_id "
              "WHERE r.area_type = 'admin' AND r.resolution = 3 AND a.level = 'county'")}
    assert len(expected) == 14
    assert {f["properties"]["area_id"]: (f["properties"]["name"], f["properties"]["level"]) for f in features} \
        == expected
    assert ids(features) == sorted(expected)
    for f in features:
        p = f["properties"]
        assert set(p) == AREA_PROPERTIES
        assert f["type"] == "Feature" and f["id"] == f"admin:{p['area_id']}"
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert p["area_type"] == "admin" and p["resolution"] == 3 and p["area_level"] == "county" and p["name"]
        assert p == {**stored(conn, "admin", p["area_id"]), "area_level": "county"}


def test_h3_bbox_returns_the_cells_intersecting_it(client, conn):
    """level=h3:7 with a bbox returns exactly the resolution-7 cells intersecting the box, across pages."""
    box = (118.1, 39.6, 118.3, 39.7)
    features, pages = walk(client, "/areas", {"level": "h3:7", "bbox": ",".join(map(str, box)), "limit": 5})
    expected = sorted(r[0] for r in rows(
        conn, "SELECT area_id FROM area_risk WHERE area_type = 'h3' AND resolution = 7 "
              "AND ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))", box))
    (total,) = rows(conn, "SELECT count(*) FROM area_risk WHERE area_type = 'h3' AND resolution = 7")[0]
    assert ids(features) == expected and 5 < len(expected) < total
    assert pages == -(-len(expected) // 5)
    for f in features:
        p = f["properties"]
        assert f["id"] == f"h3:{p['area_id']}" and f["geometry"]["type"] == "Polygon"
        assert p["area_type"] == "h3" and p["resolution"] == 7 and p["area_level"] == "h3:7" and p["name"] is None
        assert h3.get_resolution(p["area_id"]) == 7


def test_keyset_pagination_visits_every_h3_9_cell_once(client, conn):
    """Following `next` over h3:9 visits every stored resolution-9 cell exactly once, in area_id order."""
    expected = [r[0] for r in rows(conn, "SELECT area_id FROM area_risk WHERE area_type = 'h3' AND resolution = 9 "
                                         "ORDER BY area_id")]
    limit = len(expected) // 4 + 1
    features, pages = walk(client, "/areas", {"level": "h3:9", "limit": limit})
    assert ids(features) == expected and len(set(expected)) == len(expected) > 4
    assert pages == -(-len(expected) // limit)


def test_default_limit_is_1000(client, conn):
    """Without `limit` a page holds at most 1000 areas."""
    (n,) = rows(conn, "SELECT count(*) FROM area_risk WHERE area_type = 'h3' AND resolution = 9")[0]
    body = client.get("/areas", params={"level": "h3:9"}).json()
    assert body["numberReturned"] == min(n, 1000) and (body["next"] is None) == (n <= 1000)


def test_risk_level_filter(client, conn):
    """`risk_level` (a comma list) keeps the areas at those risk levels."""
    features, _ = walk(client, "/areas", {"level": "h3:8", "risk_level": "red,orange", "limit": 50})
    expected = sorted(r[0] for r in rows(conn, "SELECT area_id FROM area_risk WHERE area_type = 'h3' "
                                               "AND resolution = 8 AND level IN ('red', 'orange')"))
    assert ids(features) == expected and expected
    assert {f["properties"]["level"] for f in features} <= {"red", "orange"}
    (n,) = rows(conn, "SELECT count(*) FROM area_risk WHERE area_type = 'h3' AND resolution = 8")[0]
    assert len(expected) < n


def test_county_detail_matches_the_stored_row(client, conn):
    """GET /areas/{admin code} gives that county's stored area risk (counts equal as a dict) and its name."""
    ((code,),) = rows(conn, "SELECT area_id FROM area_risk WHERE area_type = 'admin' AND resolution = 3 "
                            "ORDER BY score DESC, area_id LIMIT 1")
    r = client.get(f"/areas/{code}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    f = r.json()
    assert f["type"] == "Feature" and f["id"] == f"admin:{code}"
    assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    want = stored(conn, "admin", code)
    assert f["properties"] == {**want, "area_level": "county"}
    assert isinstance(f["properties"]["counts"], dict) and f["properties"]["counts"] == want["counts"]


def test_h3_detail_matches_the_stored_row(client, conn):
    """GET /areas/{H3 cell} gives that cell's stored area risk, also when the index is written in upper case."""
    ((cell,),) = rows(conn, "SELECT area_id FROM area_risk WHERE area_type = 'h3' AND resolution = 7 "
                            "ORDER BY features DESC, area_id LIMIT 1")
    f = client.get(f"/areas/{cell}").json()
    assert f["id"] == f"h3:{cell}" and f["geometry"]["type"] == "Polygon"
    want = stored(conn, "h3", cell)
    assert f["properties"] == {**want, "area_level": "h3:7", "name": None}
    assert f["properties"]["counts"] == want["counts"] and want["counts"]
    assert client.get(f"/areas/{cell.upper()}").json() == f


@pytest.mark.parametrize("area_id", ["999999", h3.latlng_to_cell(0.0, 0.0, 7), "abc"])
def test_unknown_id_is_404(client, area_id):
    """A well-formed id with no area risk (admin code, H3 cell elsewhere, other hex) is a 404 problem naming it."""
    r = client.get(f"/areas/{area_id}")
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404 and area_id in r.json()["detail"]


@pytest.mark.parametrize(("url", "field"), [
    ("/areas/", "id"),
    ("/areas/%20", "id"),
    ("/areas/" + "1" * 33, "id"),
    ("/areas/13020g", "id"),
    ("/areas/-1", "id"),
    ("/areas", "level"),
    ("/areas?level=", "level"),
    ("/areas?level=district", "level"),
    ("/areas?level=h3:4", "level"),
    ("/areas?level=h3:15", "level"),
    ("/areas?level=h3:x", "level"),
    ("/areas?level=h3:123", "level"),
    ("/areas?level=county&risk_level=purple", "risk_level"),
    ("/areas?level=county&risk_level=red,,pink", "risk_level"),
    ("/areas?level=county&limit=0", "limit"),
    ("/areas?level=county&limit=10001", "limit"),
    ("/areas?level=county&limit=x", "limit"),
    ("/areas?level=county&after=", "after"),
    ("/areas?level=county&after=13-02", "after"),
    ("/areas?level=county&bbox=1,2,3", "bbox"),
    ("/areas?level=county&bbox=a,b,c,d", "bbox"),
    ("/areas?level=county&bbox=119,39,118,40", "bbox"),
    ("/areas?level=county&bbox=118,39,190,40", "bbox"),
    ("/areas?level=county&bbox=nan,39,119,40", "bbox"),
    ("/areas?level=county&bbox=", "bbox"),
])
def test_bad_parameters_are_422(client, url, field):
    """Each bad parameter gets a 422 problem+json naming the field (never a 500)."""
    r = client.get(url)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_configured_resolutions_are_accepted(client):
    """Every configured H3 resolution is a valid level, reported back as h3:N."""
    for res in load_model()["area"]["h3_resolutions"]:
        body = client.get("/areas", params={"level": f"h3:{res}", "limit": 1}).json()
        assert body["numberReturned"] == 1
        assert body["features"][0]["properties"]["area_level"] == f"h3:{res}"


def test_responses_match_the_documented_models(client):
    """A page and a detail validate against the response models shown in /docs; /areas/ is not documented."""
    page = AreaPage.model_validate(client.get("/areas", params={"level": "h3:6", "limit": 3}).json())
    assert len(page.features) == 3 and page.next
    AreaFeature.model_validate(client.get(f"/areas/{page.features[0].properties.area_id}").json())
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/areas", "/areas/{id}"} <= set(paths) and "/areas/" not in paths
    assert paths["/areas"]["get"]["summary"] and paths["/areas/{id}"]["get"]["description"]



def test_an_h3_cells_detail_is_the_feature_its_page_serves(client):
    """GET /areas/{id} of an H3 cell answers exactly the Feature GET /areas lists for it (both read the Feature
    stored with the row), at every configured resolution."""
    for res in (5, 7, 9):
        page = client.get("/areas", params={"level": f"h3:{res}", "limit": 5}).json()
        for feature in page["features"]:
            detail = client.get(f"/areas/{feature['properties']['area_id']}")
            assert detail.status_code == 200
            assert detail.json() == feature
