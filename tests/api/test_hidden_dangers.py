"""GET /hidden-dangers and GET /hidden-dangers/summary over HTTP, on the small campaign of tests/geo/lists/campaign.py:
the filters as query parameters, the pages and their next links, GeoJSON, formula-safe CSV and XLSX, the counts
per area, and the errors (422 naming the parameter, 404 for an unknown area)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.hidden_dangers import COLUMNS
from api.routes.risk_list import XLSX
from api.settings import Settings
from geo import store
from tests.conftest import throwaway_database
from tests.geo.lists.campaign import HYPERLINK, build

JUNE_12 = {"as_of": "2026-06-12"}


@pytest.fixture(scope="module")
def campaign(cluster):
    """The campaign in a database of this module's own: (its URL, the Campaign)."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        built = build(conn)
        conn.close()
        yield url, built


@pytest.fixture(scope="module")
def api(campaign):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=campaign[0]))) as c:
        yield c


def listed(api, **params) -> list[str]:
    r = api.get("/hidden-dangers", params={**JUNE_12, **params})
    assert r.status_code == 200, r.text
    return [it["source_id"] for it in r.json()["items"]]


def csv_table(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # a byte-order mark, for Excel
    return list(csv.reader(io.StringIO(content[3:].decode("utf-8"), newline="")))


def test_json_items_overdue_first(api, campaign):
    """The whole list on 06-12, overdue first, each danger with its site, county, overdue flag and days."""
    r = api.get("/hidden-dangers", params=JUNE_12)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["as_of"] == "2026-06-12" and body["next"] is None and body["numberReturned"] == 8
    assert [it["source_id"] for it in body["items"]] == ["D4", "D1", "D8", "D5", "D3", "D2", "D7", "D6"]
    d1 = body["items"][1]
    assert d1["site"] == {"kind": "enterprise", "id": campaign[1].sites["E1"][1], "source_id": "E1",
                          "name": "冀东化工", "level": "red", "score": 80.0}
    assert d1["county"] == {"admin_code": "130202", "name": "路南区"}
    assert (d1["overdue"], d1["days_overdue"], d1["deadline"], d1["grade"]) == (True, 72, "2026-04-01", "major")


@pytest.mark.parametrize(("params", "expected"), [
    ({"overdue": "true"}, ["D4", "D1", "D8"]),
    ({"overdue": "false", "grade": "major"}, ["D3", "D7"]),
    ({"status": "open,reopened", "grade": "major"}, ["D4", "D1", "D7"]),
    ({"kind": "enterprise", "level": "orange"}, ["D8", "D2"]),
    ({"area": "130203"}, ["D8", "D3", "D2"]),
    ({"area": "130200", "overdue": "true"}, ["D4", "D1", "D8"]),
    ({"found_from": "2026-05-01", "found_to": "2026-05-10"}, ["D8", "D2", "D6"]),
    ({"as_of": "2026-04-01", "overdue": "true"}, []),  # D1's deadline day: still in time; D4 rectified till 05-01
    ({"as_of": "2026-04-02", "overdue": "true"}, ["D1"]),
    ({"as_of": "2026-05-02", "overdue": "true"}, ["D4", "D1"]),  # D4 reopened on 05-01
    ({"bbox": "118.14,39.6,118.2,39.7"}, ["D8", "D3", "D2"]),
])
def test_filters_as_query_parameters(api, campaign, params, expected):
    """Each filter of the list, as the query parameters name them."""
    assert listed(api, **params) == expected


def test_pages_follow_next_links_with_the_same_date(api, campaign):
    """Pages of 3: the next links carry the page key and the list's date (as_of defaults to today, so a list
    paged across midnight stays one list), and together give the whole list once."""
    seen, url, params = [], "/hidden-dangers", {**JUNE_12, "limit": 3}
    while url:
        r = api.get(url, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [it["source_id"] for it in body["items"]]
        url, params = body["next"], None
        if url:
            assert "as_of=2026-06-12" in url and "after=" in url
    assert seen == ["D4", "D1", "D8", "D5", "D3", "D2", "D7", "D6"]
    first = api.get("/hidden-dangers", params={"limit": 3}).json()
    assert "as_of=" in first["next"]  # today's date, fixed in the link


def test_geojson_has_the_sites_point(api, campaign):
    """format=geojson: a FeatureCollection, each danger a Feature at its site's point on surface, its properties
    the JSON item's; paged like the JSON."""
    r = api.get("/hidden-dangers", params={**JUNE_12, "format": "geojson", "limit": 2, "kind": "enterprise"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 2 and fc["next"]
    first = fc["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [118.05, 39.65]}
    assert first["id"] == f"hidden_danger.{campaign[1].dangers['D1']}"
    assert first["properties"]["source_id"] == "D1" and first["properties"]["days_overdue"] == 72
    assert "lon" not in first["properties"]


def test_csv_holds_the_whole_list_formula_safe(api, campaign):
    """format=csv: every matching danger (no paging), the header of COLUMNS, and the danger described as a
    spreadsheet formula written as inert text (a leading quote)."""
    r = api.get("/hidden-dangers", params={**JUNE_12, "format": "csv", "limit": 1})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="hidden-dangers.csv"' in r.headers["content-disposition"]
    table = csv_table(r.content)
    assert tuple(table[0]) == COLUMNS and len(table) == 9
    rows = {row[1]: dict(zip(COLUMNS, row, strict=True)) for row in table[1:]}
    assert rows["D8"]["description"] == "'" + HYPERLINK
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
    assert (rows["D1"]["overdue"], rows["D1"]["days_overdue"], rows["D1"]["deadline"]) == ("True", "72",
                                                                                           "2026-04-01")


def test_xlsx_is_formula_safe_with_typed_cells(api, campaign):
    """XLSX (by the Accept header): no cell is a formula; the HYPERLINK danger is a text cell that starts with a
    quote; dates are date cells, numbers numbers."""
    r = api.get("/hidden-dangers", params={**JUNE_12, "status": "open"}, headers={"Accept": XLSX})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    header = [c.value for c in ws[1]]
    assert tuple(header) == COLUMNS
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    by_id = {row[1].value: {h: c for h, c in zip(header, row, strict=True)} for row in ws.iter_rows(min_row=2)}
    assert set(by_id) == {"D1", "D2", "D6", "D7", "D8"}
    assert by_id["D8"]["description"].value == HYPERLINK and by_id["D8"]["description"].data_type == "s"
    assert by_id["D8"]["description"].quotePrefix  # the spreadsheet's hidden quote: shown as written, never run
    assert by_id["D1"]["deadline"].is_date and by_id["D1"]["days_overdue"].value == 72


def test_summary_per_county(api, campaign):
    """Counts per county for the same filters, with the totals; the dangers in no county in a row of its own."""
    r = api.get("/hidden-dangers/summary", params=JUNE_12)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(a["admin_code"], a["total"], a["open"], a["overdue"], a["major"]) for a in body["areas"]] == [
        ("130202", 3, 2, 1, 1), ("130203", 3, 2, 1, 0), ("130204", 1, 1, 1, 1), (None, 1, 1, 0, 1)]
    assert body["totals"] == {"admin_code": None, "name": None, "total": 8, "open": 6, "overdue": 3, "major": 3}
    city = api.get("/hidden-dangers/summary", params={**JUNE_12, "area": "130200", "area_level": "city"}).json()
    assert [(a["admin_code"], a["total"]) for a in city["areas"]] == [("130200", 7)]
    r = api.get("/hidden-dangers/summary", params={**JUNE_12, "format": "csv"})
    table = csv_table(r.content)
    assert table[0] == ["admin_code", "name", "total", "open", "overdue", "major"]
    assert table[1] == ["130202", "路南区", "3", "2", "1", "1"]


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "closed"}, "status"),
    ({"grade": "minor"}, "grade"),
    ({"kind": "settlement"}, "kind"),
    ({"level": "purple"}, "level"),
    ({"found_from": "2026-05-02", "found_to": "2026-05-01"}, "found_from"),
    ({"as_of": "2026-02-30"}, "as_of"),
    ({"after": "nonsense"}, "after"),
    ({"bbox": "1,2,3"}, "bbox"),
    ({"format": "pdf"}, "format"),
    ({"format": "csv", "after": "0.none.1"}, "after"),
    ({"area": "13 02"}, "area"),
])
def test_bad_parameters_are_422_naming_them(api, campaign, params, field):
    """Each bad parameter is a 422 problem naming it."""
    r = api.get("/hidden-dangers", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]


def test_unknown_area_is_404(api, campaign):
    """An admin code no area has is a 404 naming it, for the list and the summary."""
    for path in ("/hidden-dangers", "/hidden-dangers/summary"):
        r = api.get(path, params={"area": "999999"})
        assert r.status_code == 404 and "999999" in r.json()["detail"]
