"""CQL2 filters on /ogc items (OGC API – Features Part 3, issue 16), over a real `riskmap serve` on the scored demo:
Debian's GDAL pushes an ogr2ogr -where down by itself (no OGR_OAPIF_ALLOW_CQL_TEXT), filtered pages follow their
next links to the end, a bad filter is a 400 with the OGC exception body, and a county user's filtered items hold
nothing of another county."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.api.ogc_server import gdal, get, get_json
from tests.api.test_area_scope import OWN, in_county
from tests.api.test_ogc_gdal import add_hidden_dangers, conn, copy, rows, server  # noqa: F401 (fixtures)

BOX = (118.05, 39.55, 118.25, 39.70)


def items_url(base: str, layer: str, **params) -> str:
    return f"{base}/collections/{layer}/items?{urllib.parse.urlencode(params)}"


def follow(url: str, token: str) -> tuple[list[dict], int]:
    """Every feature of a paged answer, following next links; and how many pages it took."""
    features, pages = [], 0
    while url:
        page = get_json(url, token)
        features += page["features"]
        pages += 1
        url = next((x["href"] for x in page["links"] if x["rel"] == "next" and x["type"] == "application/geo+json"),
                   None)
    return features, pages


@pytest.mark.parametrize(("layer", "where", "query"), [
    ("enterprise", "level = 'red' OR (employees > 500 AND status <> 'closed')",
     "SELECT f.source_id FROM enterprise f JOIN feature_risk r ON r.kind = 'enterprise' AND r.feature_id = f.id "
     "WHERE r.level = 'red' OR (f.employees > 500 AND f.status <> 'closed')"),
    ("tailings_pond", "safety_state LIKE 'd%' OR NOT (dam_height_m < 30) OR score >= 60",
     "SELECT f.source_id FROM tailings_pond f JOIN feature_risk r ON r.kind = 'tailings_pond' AND r.feature_id = f.id "
     "WHERE f.safety_state LIKE 'd%%' OR NOT (f.dam_height_m < 30) OR round(r.score::numeric, 2) >= 60"),
    ("venue", "sprinklers = 0 AND level <> 'blue'",
     "SELECT f.source_id FROM venue f JOIN feature_risk r ON r.kind = 'venue' AND r.feature_id = f.id "
     "WHERE NOT f.sprinklers AND r.level <> 'blue'"),
])
def test_gdal_pushes_a_where_down_by_itself_and_gets_the_rows_sql_gives(server, conn, layer, where, query):  # noqa: F811
    """ogr2ogr -where (no OGR_OAPIF_ALLOW_CQL_TEXT): GDAL reads filter-lang's cql-text from the OpenAPI document and
    the queryables, sends the whole filter as filter=…&filter-lang=cql-text (its debug output shows the request and
    no client-side evaluation), and gets exactly the features SQL selects."""
    base, token, _, work = server
    out = work / f"pushed-{layer}.geojson"
    out.unlink(missing_ok=True)
    r = gdal(["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{base}", layer, "-where", where, "-oo",
              "PAGE_SIZE=200"], token, work, debug=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "filter-lang=cql-text" in r.stderr and "filter=" in r.stderr, r.stderr[-3000:]
    assert "evaluated on client side" not in r.stderr, r.stderr[-3000:]
    got = sorted(f["properties"]["source_id"] for f in json.loads(out.read_text())["features"])
    expected = sorted(x[0] for x in rows(conn, query))
    assert expected and len(expected) < rows(conn, f"SELECT count(*) FROM {layer}")[0][0]  # noqa: S608 (fixed)
    assert got == expected


def test_an_s_intersects_filter_pages_completely_and_keeps_the_filter_in_its_links(server, conn):  # noqa: F811
    """A CQL2 filter with S_INTERSECTS and a comparison, 5 a page: the next links keep the filter and the pages
    together hold exactly the enterprises SQL selects, each once."""
    base, token, _, _ = server
    text = f"S_INTERSECTS(geometry, BBOX({', '.join(map(str, BOX))})) AND level IN ('red', 'orange', 'yellow')"
    features, pages = follow(items_url(base, "enterprise", filter=text, limit=5), token)
    expected = rows(conn, "SELECT f.id FROM enterprise f JOIN feature_risk r ON r.kind = 'enterprise' AND "
                          "r.feature_id = f.id WHERE ST_Intersects(f.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) "
                          "AND r.level IN ('red', 'orange', 'yellow')", BOX)
    assert len(expected) > 15 and pages > 3, (len(expected), pages)
    assert sorted(f["id"] for f in features) == sorted(x[0] for x in expected)


def test_every_family_filters_in_sql_and_area_counts_count_with_the_filter(server, conn):  # noqa: F811
    """Segments, hidden dangers, counties and H3 cells take a filter too; an area layer's numberMatched counts the
    filtered features."""
    base, token, _, _ = server
    segments, _ = follow(items_url(base, "pipeline_segment", filter="level IN ('red', 'orange') AND seq < 5",
                                   limit=100), token)
    expected = rows(conn, "SELECT s.id FROM pipeline_segment s JOIN feature_risk r ON r.kind = 'pipeline_segment' "
                          "AND r.feature_id = s.id WHERE r.level IN ('red', 'orange') AND s.seq < 5")
    assert expected and sorted(f["id"] for f in segments) == sorted(x[0] for x in expected)
    assert len(expected) < rows(conn, "SELECT count(*) FROM pipeline_segment")[0][0]
    add_hidden_dangers(conn)
    dangers, _ = follow(items_url(base, "hidden_danger", filter="found_on >= DATE('2025-06-01') AND grade = 'general' "
                                                                "AND rectified_on IS NULL AND level IN ('yellow', "
                                                                "'orange', 'red', 'blue')", limit=10), token)
    expected = rows(conn, "SELECT h.id FROM hidden_danger h LEFT JOIN feature_risk r ON r.kind = h.site_kind AND "
                          "r.feature_id = h.site_id WHERE h.found_on >= '2025-06-01' AND h.grade = 'general' AND "
                          "h.rectified_on IS NULL AND r.level IN ('yellow', 'orange', 'red', 'blue')")
    assert 10 < len(expected) < rows(conn, "SELECT count(*) FROM hidden_danger")[0][0]
    assert sorted(f["id"] for f in dangers) == sorted(x[0] for x in expected)
    box = ", ".join(map(str, BOX))
    sites = ("SELECT 'enterprise' AS kind, id, geom FROM enterprise UNION ALL SELECT 'venue', id, geom FROM venue "
             "UNION ALL SELECT 'tailings_pond', id, geom FROM tailings_pond UNION ALL SELECT 'pipeline', id, geom "
             "FROM pipeline")
    for layer, query in (("hidden_danger", f"SELECT h.id FROM hidden_danger h JOIN ({sites}) s ON s.kind = "  # noqa: S608
                                           "h.site_kind AND s.id = h.site_id WHERE ST_Intersects(s.geom, "
                                           "ST_MakeEnvelope(%s, %s, %s, %s, 4326))"),
                         ("pipeline_segment", "SELECT id FROM pipeline_segment WHERE ST_Intersects(geom, "
                                              "ST_MakeEnvelope(%s, %s, %s, %s, 4326))")):
        got, _ = follow(items_url(base, layer, filter=f"S_INTERSECTS(geometry, BBOX({box}))", limit=1000), token)
        expected = rows(conn, query, BOX)
        assert expected and sorted(f["id"] for f in got) == sorted(x[0] for x in expected), layer
    page = get_json(items_url(base, "area_county", filter="score > 20 AND name LIKE '%区'", limit=1), token)
    expected = rows(conn, "SELECT r.area_id FROM area_risk r JOIN area a ON a.admin_code = r.area_id WHERE "
                          "r.area_type = 'admin' AND r.resolution = 3 AND round(r.score::numeric, 2) > 20 "
                          "AND a.name LIKE '%%区'")
    assert 1 < len(expected) and page["numberMatched"] == len(expected) and page["numberReturned"] == 1
    all_counties = get_json(items_url(base, "area_county", limit=1), token)["numberMatched"]
    assert all_counties > len(expected)
    res = rows(conn, "SELECT max(resolution) FROM area_risk WHERE area_type = 'h3'")[0][0]
    cells = get_json(items_url(base, f"area_h3_{res}", filter="red >= 1", limit=1), token)
    expected = rows(conn, "SELECT count(*) FROM area_risk r WHERE area_type = 'h3' AND resolution = %s AND "
                          "(SELECT coalesce(sum((c.v ->> 'red')::integer), 0) FROM jsonb_each(r.counts) c(k, v)) "
                          ">= 1", (res,))[0][0]
    assert cells["numberMatched"] == expected > 0


@pytest.mark.parametrize(("query", "named", "says"), [
    ({"filter": "level = "}, "filter", "ends too early"),
    ({"filter": "colour = 'red'"}, "filter", "colour"),
    ({"filter": "employees = 'many'"}, "filter", "employees"),
    ({"filter": "top_factors = 'x'"}, "filter", "top_factors"),
    ({"filter": "S_INTERSECTS(geometry, POLYGON((0 0, 1 0)))"}, "filter", ""),
    ({"filter": "level = 'red'", "filter-lang": "cql2-json"}, "filter-lang", "cql2-json"),
    ({"filter": "level = 'red'", "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, "filter-crs", "3857"),
])
def test_bad_filters_are_a_400_with_the_ogc_exception_body(server, query, named, says):  # noqa: F811
    """A malformed filter, an unknown or unqueryable property, a wrong type, an unsupported language or CRS: a 400
    whose OGC exception body names the parameter and the problem, never a 500."""
    base, token, _, _ = server
    status, _, body = get(items_url(base, "enterprise", **query), token)
    assert status == 400, (status, body[:300])
    doc = json.loads(body)
    assert doc["code"] == "InvalidParameterValue" and doc["description"].startswith(f"{named}:")
    assert says in doc["description"], doc


def test_a_county_users_filtered_items_hold_nothing_of_another_county(server, conn):  # noqa: F811
    """A viewer of 路北区 with a filter that every enterprise passes gets that county's enterprises alone, and the
    filtered county layer counts that county alone."""
    base, _, lubei, _ = server
    features, _ = follow(items_url(base, "enterprise", filter="employees >= 0 OR employees IS NULL", limit=500),
                         lubei)
    own = in_county(conn, OWN)
    assert own and sorted(f["id"] for f in features) == sorted(own)
    counties = get_json(items_url(base, "area_county", filter="score >= 0"), lubei)
    assert counties["numberMatched"] == 1 and [f["id"] for f in counties["features"]] == [OWN]


def test_queryables_openapi_and_conformance_advertise_the_filter(server):  # noqa: F811
    """The queryables list each property a filter may name (not top_factors) in both forms; the OpenAPI document
    has filter, filter-lang (with cql-text, for GDAL 3.6) and filter-crs on the items path; conformance lists Part
    3's filter classes and CQL2's text, basic and basic spatial classes."""
    base, token, _, _ = server
    doc = get_json(f"{base}/collections/enterprise/queryables", token)
    names = {q["id"] for q in doc["queryables"]}
    assert {"level", "score", "employees", "last_inspection"} <= names and "top_factors" not in names
    assert set(doc["properties"]) == names | {"geometry"}
    api = get_json(f"{base}/api", token)
    params = {p["name"]: p for p in api["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]}
    assert {"filter", "filter-crs"} <= set(params)
    assert {"cql2-text", "cql-text"} <= set(params["filter-lang"]["schema"]["enum"])
    conformance = set(get_json(f"{base}/conformance", token)["conformsTo"])
    assert {"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
            "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
            "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
            "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
            "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions"} <= conformance
