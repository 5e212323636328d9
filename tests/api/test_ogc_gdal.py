"""OGC API – Features under /ogc (issue 16), over a real `riskmap serve` on the scored demo, with Debian's GDAL
(ogrinfo, ogr2ogr: the OAPIF driver) as the client where a desktop GIS would be one, and plain HTTP for the rest.

Users: a viewer of every area, and a viewer limited to 路北区 (130203), who must see only that county's features,
extents and counts (row-level security, issue 15)."""

from __future__ import annotations

import csv
import json
import threading
import urllib.parse

import pytest
from shapely import wkt

from geo import store, users
from tests.api.ogc_server import gdal, get, get_json, running_server
from tests.api.test_area_scope import OWN, in_county

OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"


@pytest.fixture(scope="module")
def conn(demo_url):
    c = store.connect(demo_url)
    c.autocommit = True
    yield c
    c.close()


@pytest.fixture(scope="module")
def server(demo_url, conn, tmp_path_factory):
    """(base URL of /ogc, token of a viewer of every area, token of a viewer of 路北区, a work directory)."""
    _, everywhere = users.add(conn, "ogc-viewer", "viewer", [], "test")
    _, lubei = users.add(conn, "ogc-lubei", "viewer", [OWN], "test")
    work = tmp_path_factory.mktemp("ogc")
    with running_server(demo_url, work / "server.log") as base:
        yield f"{base}/ogc", everywhere, lubei, work


def rows(conn, query: str, params=None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


def copy(server, layer: str, token: str, *options: str) -> list[dict]:
    """ogr2ogr of one collection into a GeoJSON file: its features."""
    base, _, _, work = server
    out = work / f"{layer}-{abs(hash(options))}.geojson"
    out.unlink(missing_ok=True)
    r = gdal(["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{base}", layer, *options], token, work)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(out.read_text())["features"]


def h3_resolutions(conn) -> list[int]:
    return [r[0] for r in rows(conn, "SELECT DISTINCT resolution FROM area_risk WHERE area_type = 'h3' ORDER BY 1")]


def test_ogrinfo_lists_every_collection(server, conn):
    """`ogrinfo OAPIF:…/ogc` lists the site, site outline, segment, hidden danger, plan route, county and every
    stored H3 resolution's layer."""
    base, token, _, work = server
    r = gdal(["ogrinfo", "-ro", "-q", f"OAPIF:{base}"], token, work)
    assert r.returncode == 0, r.stderr[-2000:]
    listed = {line.split(":", 1)[1].split("(")[0].strip() for line in r.stdout.splitlines() if ":" in line}
    expected = {"enterprise", "enterprise_area", "tailings_pond", "tailings_pond_area", "venue", "venue_area",
                "pipeline_segment", "area_county",
                "hidden_danger", "plan_route"} | {
        f"area_h3_{res}" for res in h3_resolutions(conn)}
    assert len(expected) > 8 and listed == expected


def test_ogr2ogr_copies_multi_page_collections_completely(server, conn):
    """ogr2ogr follows the next links to the end: every enterprise (3,000 in pages of 500) and every pipeline
    segment arrive once, as many as the tables hold."""
    _, token, _, _ = server
    enterprises = copy(server, "enterprise", token, "-oo", "PAGE_SIZE=500")
    expected = [r[0] for r in rows(conn, "SELECT source_id FROM enterprise")]
    assert len(expected) > 500 and len(enterprises) == len(expected)
    assert sorted(f["properties"]["source_id"] for f in enterprises) == sorted(expected)
    segments = copy(server, "pipeline_segment", token, "-oo", "PAGE_SIZE=500")
    expected = rows(conn, "SELECT pipeline_id, seq FROM pipeline_segment")
    assert len(expected) > 500 and len(segments) == len(expected)
    assert sorted((f["properties"]["pipeline_id"], f["properties"]["seq"]) for f in segments) == sorted(expected)


def test_a_bbox_from_ogr2ogr_spat_returns_the_same_subset_as_sql(server, conn):
    """ogr2ogr -spat sends bbox= and gets exactly the enterprises and H3 cells that intersect the box in SQL."""
    _, token, _, _ = server
    box = (118.05, 39.55, 118.25, 39.70)
    got = copy(server, "enterprise", token, "-spat", *map(str, box), "-oo", "PAGE_SIZE=200")
    expected = rows(conn, "SELECT source_id FROM enterprise WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, "
                          "%s, 4326))", box)
    assert 0 < len(expected) < 3000
    assert sorted(f["properties"]["source_id"] for f in got) == sorted(r[0] for r in expected)
    res = h3_resolutions(conn)[-1]
    cells = copy(server, f"area_h3_{res}", token, "-spat", *map(str, box), "-oo", "PAGE_SIZE=1000",
                 "-preserve_fid")
    expected = rows(conn, "SELECT count(*) FROM area_risk WHERE area_type = 'h3' AND resolution = %s AND "
                          "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))", (res, *box))[0][0]
    assert expected > 0 and len(cells) == expected


def insert_enterprise(conn, n: int) -> int:
    """An enterprise outside every county of the demo (the county tests count what lies in theirs)."""
    return rows(conn, "INSERT INTO enterprise (source_id, name, industry, employees, geom) VALUES "
                      "(%s, %s, 'other', 10, ST_SetSRID(ST_MakePoint(116.0, 38.0), 4326)) RETURNING id",
                (f"OGC-NEW-{n}", f"新企业 {n}"))[0][0]


def test_paging_stays_complete_while_rows_are_inserted(server, conn, demo_url):
    """Following next links while enterprises are inserted between the pages: every row that existed at the start
    arrives once, and so does every row inserted meanwhile (they sort after the cursor); and an ogr2ogr copy made
    while another thread inserts rows holds every row that existed at its start, none twice."""
    base, token, _, _ = server
    before = {r[0] for r in rows(conn, "SELECT id FROM enterprise")}
    seen: list[int] = []
    inserted = []
    url = f"{base}/collections/enterprise/items?limit=250"
    while url:
        page = get_json(url, token)
        seen += [f["id"] for f in page["features"]]
        inserted += [insert_enterprise(conn, 1000 + len(inserted) + i) for i in range(3)]
        url = next((x["href"] for x in page["links"] if x["rel"] == "next" and x["type"] == "application/geo+json"),
                   None)
    assert len(seen) == len(set(seen))
    assert set(seen) == before | set(inserted[:-3])  # (the last three were inserted after the last page)

    stop = threading.Event()
    inserter_conn = store.connect(demo_url)
    inserter_conn.autocommit = True
    added = []

    def insert_until_stopped():
        while not stop.is_set():
            added.append(insert_enterprise(inserter_conn, 5000 + len(added)))
            stop.wait(0.01)

    start = {r[0] for r in rows(conn, "SELECT source_id FROM enterprise")}
    thread = threading.Thread(target=insert_until_stopped)
    thread.start()
    try:
        copied = copy(server, "enterprise", token, "-oo", "PAGE_SIZE=100")
    finally:
        stop.set()
        thread.join()
        inserter_conn.close()
    names = [f["properties"]["source_id"] for f in copied]
    assert len(names) == len(set(names)) and start <= set(names)


def assert_ogc_error(url: str, token: str, status: int) -> dict:
    code, headers, body = get(url, token)
    assert code == status, (url, code, body[:300])
    doc = json.loads(body)
    assert isinstance(doc["code"], str) and doc["code"] and isinstance(doc["description"], str), doc
    return doc


@pytest.mark.parametrize(("query", "named"), [
    ("bbox=1,2,3", "bbox"), ("bbox=a,b,c,d", "bbox"), ("bbox=118,40,119,39", "bbox"), ("bbox=0,0,200,10", "bbox"),
    ("bbox=nan,1,2,3", "bbox"), ("bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3857&bbox=1,2,3,4", "bbox-crs"),
    ("limit=0", "limit"), ("limit=-5", "limit"), ("limit=ten", "limit"), ("limit=99999999999999999999", "limit"),
    ("datetime=yesterday", "datetime"), ("datetime=2026-13-01", "datetime"), ("datetime=../..", "datetime"),
    ("datetime=2026-05-01/2026-01-01", "datetime"), ("datetime=2026-01-01/2026-02-01/2026-03-01", "datetime"),
    ("cursor=x", "cursor"), ("cursor=nabc", "cursor"), ("cursor=n99999999999999999999", "cursor"),
    ("f=xml", "f"), ("level=red", "level"), ("filter=level%3D", "filter"), ("filter-lang=cql2-json", "filter-lang"),
])
def test_bad_parameters_are_a_400_with_the_ogc_exception_body(server, query, named):
    """Each bad parameter is a 400 whose OGC exception body names it; never a 500.  A parameter the server does not
    know (a filter it cannot apply) is one too: a client must not take an unfiltered answer for a filtered one."""
    base, token, _, _ = server
    doc = assert_ogc_error(f"{base}/collections/enterprise/items?{query}", token, 400)
    assert doc["code"] == "InvalidParameterValue" and doc["description"].startswith(f"{named}:")


def test_unknown_collections_and_features_are_a_404_with_the_ogc_exception_body(server):
    """An unknown collection (or H3 resolution not stored), or a feature that does not exist or cannot (a bad id):
    404 with the OGC body."""
    base, token, _, _ = server
    for path in ("/collections/nothing", "/collections/nothing/items", "/collections/area_h3_15/queryables",
                 "/collections/enterprise/items/999999999", "/collections/enterprise/items/abc",
                 "/collections/enterprise/items/99999999999999999999999", "/collections/area_county/items/nope!"):
        assert assert_ogc_error(f"{base}{path}", token, 404)["code"] == "NotFound"


def test_a_county_user_sees_only_that_countys_features_and_counts(server, conn):
    """A viewer of 路北区: ogr2ogr copies exactly the enterprises of 路北区; area_county holds that county alone,
    numberMatched 1; another county's enterprise is a 404; the layer's extent is that of the county's features."""
    base, everyone, lubei, _ = server
    own = set(in_county(conn, OWN))
    got = copy(server, "enterprise", lubei, "-oo", "PAGE_SIZE=1000")
    expected = {r[0] for r in rows(conn, "SELECT source_id FROM enterprise WHERE id = ANY(%s)", (list(own),))}
    assert expected and {f["properties"]["source_id"] for f in got} == expected
    counties = get_json(f"{base}/collections/area_county/items", lubei)
    assert counties["numberMatched"] == 1 and [f["id"] for f in counties["features"]] == [OWN]
    everywhere = get_json(f"{base}/collections/area_county/items?limit=1000", everyone)
    assert everywhere["numberMatched"] == len(everywhere["features"]) > 1
    other = next(iter({r[0] for r in rows(conn, "SELECT id FROM enterprise")} - own))
    assert get(f"{base}/collections/enterprise/items/{other}", lubei)[0] == 404
    assert get(f"{base}/collections/enterprise/items/{other}", everyone)[0] == 200
    box = get_json(f"{base}/collections/enterprise", lubei)["extent"]["spatial"]["bbox"][0]
    sql_box = rows(conn, "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e "
                         "FROM enterprise WHERE id = ANY(%s)) x", (list(own),))[0]
    assert box == pytest.approx(list(sql_box), abs=1e-6)


def test_landing_conformance_and_openapi_30(server):
    """The landing page links the API definition (OpenAPI 3.0, its own media type), conformance and data; the
    conformance classes are Core, GeoJSON, OAS 3.0 and HTML; the definition describes the items parameters."""
    base, token, _, _ = server
    landing = get_json(base, token)
    rels = {x["rel"]: x for x in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == OPENAPI_30
    status, headers, body = get(rels["service-desc"]["href"], token)
    assert status == 200 and headers["content-type"] == OPENAPI_30
    api = json.loads(body)
    assert api["openapi"].startswith("3.0.")
    items = api["paths"]["/collections/{collectionId}/items"]["get"]
    assert {"limit", "bbox", "datetime", "cursor"} <= {p["name"] for p in items["parameters"]}
    conformance = get_json(rels["conformance"]["href"], token)["conformsTo"]
    assert {f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{c}"
            for c in ("core", "geojson", "oas30", "html")} <= set(conformance)


def test_a_collection_has_its_extent_from_the_data_and_describes_each_property(server, conn):
    """/collections/enterprise: the bbox of the table in CRS84, the range of its inspection dates, and a type and
    description for each property (score, level, top factors among them); queryables is a JSON Schema of them."""
    base, token, _, _ = server
    doc = get_json(f"{base}/collections/enterprise", token)
    extent = rows(conn, "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), a, b FROM (SELECT ST_Extent(geom) e, "
                        "min(last_inspection) a, max(last_inspection) b FROM enterprise) x")[0]
    assert doc["extent"]["spatial"]["bbox"][0] == pytest.approx(list(extent[:4]), abs=1e-6)
    assert doc["extent"]["spatial"]["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert doc["extent"]["temporal"]["interval"] == [[extent[4].isoformat(), extent[5].isoformat()]]
    assert {"score", "level", "top_factors", "name", "industry"} <= set(doc["properties"])
    assert all(p["description"] and p["type"] for p in doc["properties"].values())
    status, headers, body = get(f"{base}/collections/enterprise/queryables", token, accept="application/schema+json")
    schema = json.loads(body)
    assert status == 200 and headers["content-type"].startswith("application/schema+json")
    assert get(f"{base}/collections/enterprise/queryables", token)[1]["content-type"] == "application/json"
    assert schema["type"] == "object" and schema["properties"]["level"]["enum"] == ["blue", "yellow", "orange",
                                                                                     "red"]


def test_items_carry_score_level_and_top_factors_as_stored(server, conn):
    """A page's features carry the stored score, level and first factors; a single item is the same feature."""
    base, token, _, _ = server
    page = get_json(f"{base}/collections/enterprise/items?limit=5", token)
    assert page["type"] == "FeatureCollection" and page["numberReturned"] == 5 and "numberMatched" not in page
    first = page["features"][0]
    stored = rows(conn, "SELECT round(score::numeric, 2)::float8, level, factors FROM feature_risk "
                        "WHERE kind = 'enterprise' AND feature_id = %s", (first["id"],))[0]
    top = [f[0] for f in stored[2][:3] if (f[2] or 0) > 0]
    assert (first["properties"]["score"], first["properties"]["level"]) == stored[:2]
    assert first["properties"]["top_factors"] == (",".join(top) or None)
    one = get_json(f"{base}/collections/enterprise/items/{first['id']}", token)
    assert one["properties"] == first["properties"] and one["geometry"] == first["geometry"]
    county = get_json(f"{base}/collections/area_county/items?limit=1", token)["features"][0]
    assert {"score", "level", "level_max", "red"} <= set(county["properties"])


def test_datetime_keeps_the_features_whose_date_lies_in_it(server, conn):
    """datetime as an interval, a half-open one and an instant gives the enterprises whose last inspection lies in
    it, as SQL does; a layer without dates ignores it."""
    base, token, _, _ = server
    for value, where in (("2025-01-01/2025-06-30", "last_inspection BETWEEN '2025-01-01' AND '2025-06-30'"),
                         ("../2024-06-01", "last_inspection <= '2024-06-01'"),
                         ("2026-03-01T00:00:00Z/..", "last_inspection >= '2026-03-01'")):
        got = get_json(f"{base}/collections/enterprise/items?limit=10000&datetime={urllib.parse.quote(value)}", token)
        expected = rows(conn, f"SELECT id FROM enterprise WHERE {where}")  # noqa: S608 - fixed conditions
        assert expected and sorted(f["id"] for f in got["features"]) == sorted(r[0] for r in expected), value
    day = rows(conn, "SELECT last_inspection, count(*) FROM enterprise WHERE last_inspection IS NOT NULL "
                     "GROUP BY 1 ORDER BY 2 DESC LIMIT 1")[0]
    got = get_json(f"{base}/collections/enterprise/items?limit=10000&datetime={day[0].isoformat()}", token)
    assert got["numberReturned"] == day[1]
    segments = get_json(f"{base}/collections/pipeline_segment/items?limit=3&datetime=2020-01-01", token)
    assert segments["numberReturned"] == 3


def test_prev_links_page_back_through_what_next_links_paged_forward(server):
    """Three pages forward by next, then back by prev: the same pages, in order; the first page has no prev."""
    base, token, _, _ = server

    def follow(page, rel):
        return get_json(next(x["href"] for x in page["links"] if x["rel"] == rel and x["type"].endswith("geo+json")),
                        token)

    pages = [get_json(f"{base}/collections/venue/items?limit=7", token)]
    assert not any(x["rel"] == "prev" for x in pages[0]["links"])
    pages += [follow(pages[0], "next")]
    pages += [follow(pages[1], "next")]
    back = follow(follow(pages[2], "prev"), "prev")
    assert [f["id"] for f in back["features"]] == [f["id"] for f in pages[0]["features"]]
    assert [f["id"] for f in follow(pages[2], "prev")["features"]] == [f["id"] for f in pages[1]["features"]]


def test_a_browser_gets_plain_html_pages(server):
    """Accept: text/html (or f=html) gives HTML pages of the landing page, collections, a collection, items and a
    feature, linking on; no script and no outside address."""
    base, token, _, _ = server
    for path, text in (("", "Collections"), ("/collections", "pipeline_segment"),
                       ("/collections/venue", "last_fire_inspection"), ("/collections/venue/items", "next"),
                       ("/conformance", "conf/html"), ("/api?f=html", "getFeatures")):
        status, headers, body = get(f"{base}{path}", token, accept="text/html,application/xhtml+xml")
        page = body.decode()
        assert status == 200 and headers["content-type"].startswith("text/html"), path
        assert text in page and "<script" not in page, path
        assert "http://" not in page.replace(base.split("/ogc")[0], "") or "opengis.net" in page, path
    status, headers, body = get(f"{base}/collections/venue/items?f=html&limit=3", token)
    assert status == 200 and body.decode().count("<tr>") == 4
    head = body.decode().split("<tr>")[1]  # the risk first, then the attributes; booleans as in the JSON
    assert head.index(">name<") < head.index(">level<") < head.index(">score<") < head.index(">source_id<")
    assert "False" not in body.decode() and "True" not in body.decode()
    venue = get_json(f"{base}/collections/venue/items?limit=1", token)["features"][0]
    status, headers, body = get(f"{base}/collections/venue/items/{venue['id']}", token, accept="text/html")
    assert status == 200 and venue["properties"]["name"] in body.decode() and "<script" not in body.decode()


def add_hidden_dangers(conn) -> None:
    """Hidden danger records (the demo has none): on 40 enterprises (some of 路北区), two venues and a pipeline,
    found on days spread over 2025 and 2026."""
    sites = [("enterprise", i) for i in sorted(in_county(conn, OWN))[:10]]
    sites += [("enterprise", r[0]) for r in rows(conn, "SELECT id FROM enterprise ORDER BY id DESC LIMIT 30")]
    sites += [("venue", r[0]) for r in rows(conn, "SELECT id FROM venue ORDER BY id LIMIT 2")]
    sites += [("pipeline", r[0]) for r in rows(conn, "SELECT id FROM pipeline ORDER BY id LIMIT 1")]
    for n, (kind, site) in enumerate(sites):
        rows(conn, "INSERT INTO hidden_danger (source_id, site_kind, site_id, description, grade, found_on, "
                   "status_changed_on) VALUES (%s, %s, %s, '消防通道堵塞', %s, %s::date, %s::date) RETURNING id",
             (f"OGC-HD-{n}", kind, site, "major" if n % 7 == 0 else "general", f"2025-{n % 12 + 1:02d}-15",
              f"2025-{n % 12 + 1:02d}-15") if n % 2 else
             (f"OGC-HD-{n}", kind, site, "general", f"2026-{n % 10 + 1:02d}-03", f"2026-{n % 10 + 1:02d}-03"))


def test_hidden_dangers_lie_at_their_sites_with_the_sites_risk(server, conn):
    """hidden_danger: every record once (ogr2ogr, several pages), at its site's geometry, with its site's level;
    datetime filters on found_on; a county user gets only the records of their county's sites."""
    base, token, lubei, _ = server
    add_hidden_dangers(conn)
    got = copy(server, "hidden_danger", token, "-oo", "PAGE_SIZE=15")
    expected = rows(conn, "SELECT source_id FROM hidden_danger")
    assert len(expected) > 30 and sorted(f["properties"]["source_id"] for f in got) == sorted(r[0] for r in expected)
    record = rows(conn, "SELECT h.id, ST_AsGeoJSON(e.geom, 7)::json, r.level FROM hidden_danger h "
                        "JOIN enterprise e ON h.site_kind = 'enterprise' AND e.id = h.site_id "
                        "JOIN feature_risk r ON r.kind = 'enterprise' AND r.feature_id = e.id ORDER BY h.id LIMIT 1")[0]
    one = get_json(f"{base}/collections/hidden_danger/items/{record[0]}", token)
    assert one["geometry"] == record[1] and one["properties"]["level"] == record[2]
    found = get_json(f"{base}/collections/hidden_danger/items?limit=10000&datetime=2026-01-01/2026-06-30", token)
    expected = rows(conn, "SELECT id FROM hidden_danger WHERE found_on BETWEEN '2026-01-01' AND '2026-06-30'")
    assert expected and sorted(f["id"] for f in found["features"]) == sorted(r[0] for r in expected)
    own = set(in_county(conn, OWN))
    mine = get_json(f"{base}/collections/hidden_danger/items?limit=10000", lubei)["features"]
    assert mine and all(f["properties"]["site_kind"] != "enterprise" or f["properties"]["site_id"] in own
                        for f in mine)
    assert len(mine) < len(got)


def test_what_gdal_pushes_down_returns_what_sql_does(server, conn):
    """GDAL 3.6 sends a date comparison as a CQL filter (the dates as "2026-01-01T", its own form of a date; see
    test_ogc_filter for the rest) and an id equality on a layer with text ids as /items/{id}: both give the features
    SQL gives."""
    _, token, _, _ = server
    got = copy(server, "enterprise", token, "-where", "last_inspection >= '2026-01-01' AND last_inspection <= "
                                                      "'2026-03-31'", "-oo", "PAGE_SIZE=1000")
    expected = rows(conn, "SELECT source_id FROM enterprise WHERE last_inspection BETWEEN '2026-01-01' AND "
                          "'2026-03-31'")
    assert expected and sorted(f["properties"]["source_id"] for f in got) == sorted(r[0] for r in expected)
    one = copy(server, "area_county", token, "-where", f"id = '{OWN}'")
    assert [f["properties"]["id"] for f in one] == [OWN]


def copy_gpkg(server, layer: str, token: str, *options: str) -> list[tuple]:
    """ogr2ogr of one collection into a GeoPackage (a file whose layer has one declared geometry type): its
    layer's geometry type and each feature's source_id and geometry as WKT, read back by ogrinfo's SQL."""
    base, _, _, work = server
    out = work / f"{layer}.gpkg"
    out.unlink(missing_ok=True)
    r = gdal(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{base}", layer, *options], token, work)
    assert r.returncode == 0, r.stderr[-2000:]
    info = gdal(["ogrinfo", "-ro", "-al", "-so", str(out)], token, work)
    declared = next(line.split(":", 1)[1].strip() for line in info.stdout.splitlines()
                    if line.startswith("Geometry:"))
    dump = work / f"{layer}.csv"
    dump.unlink(missing_ok=True)
    r = gdal(["ogr2ogr", "-f", "CSV", str(dump), str(out), "-lco", "GEOMETRY=AS_WKT"], token, work)
    assert r.returncode == 0, r.stderr[-2000:]
    with open(dump, newline="") as f:
        return declared, [(row["source_id"], row["WKT"]) for row in csv.DictReader(f)]


def test_ogr2ogr_copies_every_pond_as_a_point_and_every_outline_as_a_polygon(server, conn):
    """Ponds are stored as points or polygons: tailings_pond copies into a GeoPackage as a Point layer holding
    every pond (a polygon at its point on surface), tailings_pond_area as a Polygon layer holding every pond
    stored as a polygon, with its outline."""
    _, token, _, _ = server
    declared, ponds = copy_gpkg(server, "tailings_pond", token, "-oo", "PAGE_SIZE=50")
    expected = dict(rows(conn, "SELECT source_id, ST_AsText(ST_PointOnSurface(geom)) FROM tailings_pond"))
    kinds = dict(rows(conn, "SELECT ST_Dimension(geom), count(*) FROM tailings_pond GROUP BY 1"))
    assert kinds.get(0) and kinds.get(2)  # the demo has both
    assert declared == "Point" and sorted(p[0] for p in ponds) == sorted(expected)
    for source_id, text in ponds:
        assert wkt.loads(text).equals_exact(wkt.loads(expected[source_id]), 1e-7), source_id
    declared, outlines = copy_gpkg(server, "tailings_pond_area", token, "-oo", "PAGE_SIZE=50")
    expected = dict(rows(conn, "SELECT source_id, ST_AsText(geom) FROM tailings_pond WHERE ST_Dimension(geom) = 2"))
    assert declared in ("Polygon", "Multi Polygon") and sorted(p[0] for p in outlines) == sorted(expected)
    assert all(wkt.loads(text).equals_exact(wkt.loads(expected[s]), 1e-6) for s, text in outlines)


def test_a_bbox_keeps_the_ponds_whose_point_lies_in_it(server, conn):
    """A bbox on tailings_pond tests the point it serves: a small box at a corner of a pond's outline (meeting the
    polygon, not its point on surface) keeps the pond in tailings_pond_area and not in tailings_pond."""
    base, token, _, _ = server
    pond, x, y = rows(conn, "SELECT id, ST_X(ST_PointN(ST_ExteriorRing(geom), 1)), ST_Y(ST_PointN(ST_ExteriorRing("
                            "geom), 1)) FROM tailings_pond WHERE GeometryType(geom) = 'POLYGON' ORDER BY id LIMIT 1")[0]
    box = ",".join(map(str, (x - 1e-5, y - 1e-5, x + 1e-5, y + 1e-5)))
    points = get_json(f"{base}/collections/tailings_pond/items?limit=10000&bbox={box}", token)["features"]
    outlines = get_json(f"{base}/collections/tailings_pond_area/items?limit=10000&bbox={box}", token)["features"]
    assert pond in [f["id"] for f in outlines] and pond not in [f["id"] for f in points]
    near = get_json(f"{base}/collections/tailings_pond/items/{pond}", token)["geometry"]
    assert near["type"] == "Point"
    inside = ",".join(map(str, (near["coordinates"][0] - 1e-5, near["coordinates"][1] - 1e-5,
                               near["coordinates"][0] + 1e-5, near["coordinates"][1] + 1e-5)))
    points = get_json(f"{base}/collections/tailings_pond/items?limit=10000&bbox={inside}", token)["features"]
    assert pond in [f["id"] for f in points]


@pytest.mark.parametrize("kind", ["enterprise", "venue"])
def test_a_site_stored_as_a_polygon_is_a_point_of_its_layer_and_an_outline_of_the_area_layer(server, conn, kind):
    """Enterprises and venues, like ponds, may be stored as polygons: one made a polygon (a 40 m disc around its
    point) copies into a GeoPackage as the one feature of the Polygon layer <kind>_area, with its outline, and stays
    a Point of the <kind> layer, at its point on surface."""
    base, token, _, _ = server
    site, source_id, original = rows(conn, f"SELECT id, source_id, ST_AsEWKT(geom) FROM {kind} ORDER BY id LIMIT 1")[0]
    rows(conn, f"UPDATE {kind} SET geom = ST_Buffer(geom::geography, 40)::geometry WHERE id = %s RETURNING id",
         (site,))
    try:
        declared, outlines = copy_gpkg(server, f"{kind}_area", token)
        expected = dict(rows(conn, f"SELECT source_id, ST_AsText(geom) FROM {kind} WHERE ST_Dimension(geom) = 2"))
        assert list(expected) == [source_id]
        assert declared in ("Polygon", "Multi Polygon") and [s for s, _ in outlines] == [source_id]
        assert wkt.loads(outlines[0][1]).equals_exact(wkt.loads(expected[source_id]), 1e-6)
        point = get_json(f"{base}/collections/{kind}/items/{site}", token)["geometry"]
        on_surface = wkt.loads(rows(conn, f"SELECT ST_AsText(ST_PointOnSurface(geom)) FROM {kind} WHERE id = %s",
                                    (site,))[0][0])
        assert point["type"] == "Point"
        assert abs(point["coordinates"][0] - on_surface.x) < 1e-7 and abs(point["coordinates"][1] - on_surface.y) < 1e-7
    finally:
        rows(conn, f"UPDATE {kind} SET geom = %s::geometry WHERE id = %s RETURNING id", (original, site))
