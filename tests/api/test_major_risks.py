"""GET /major-risks and `riskmap major-risks` (the list of major risks and hidden dangers, 重大风险和隐患清单) on the
small campaign of tests/geo/lists/campaign.py: the same rows as JSON, GeoJSON, CSV, XLSX and the printable page, the
same filters in each, formula-safe spreadsheets, Chinese or English headers, and the command writing each format."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import os
import subprocess
import sys

import openpyxl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.major_risks import list_geojson
from api.settings import Settings
from geo import store
from geo.lists.major_risks import MajorRiskList
from maps.major_risks_page import TEXT
from tests.conftest import throwaway_database
from tests.geo.lists.campaign import HYPERLINK, build, settle

JUNE_12 = {"as_of": "2026-06-12"}
ROWS = [("major_risk", "E1"), ("major_risk", "E4"), ("major_risk", "V1"), ("major_risk", "E2"),
        ("major_risk", "P1"), ("major_hidden_danger", "T1"), ("major_hidden_danger", "E1"),
        ("major_hidden_danger", "E4")]


@pytest.fixture(scope="module")
def campaign_url(cluster):
    """The campaign in a database of this module's own, with E2's register naming its responsible person as a
    spreadsheet formula, and its last inspection (05-20: orange, next due 08-20)."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        build(conn)
        with conn.cursor() as cur:
            cur.execute("UPDATE enterprise SET props = jsonb_build_object('责任人', %s) WHERE source_id = 'E2'",
                        (HYPERLINK,))
            cur.execute("UPDATE enterprise SET last_inspection = '2026-05-20' WHERE source_id = 'E2'")
        settle(conn)
        conn.close()
        yield url


@pytest.fixture(scope="module")
def api(campaign_url):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=campaign_url))) as c:
        yield c


def run(url: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "major-risks", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, "RISKMAP_DATABASE_URL": url, "CI": "true", "COLUMNS": "200"})


def test_json(api):
    """JSON: the rows in order (sites, then open major dangers), the counts, the area and the date."""
    r = api.get("/major-risks", params=JUNE_12)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert [(it["entry"], it["site"]["source_id"]) for it in body["items"]] == ROWS
    assert body["counts"] == {"major_risk": 5, "major_hidden_danger": 3, "red": 3, "orange": 2, "overdue": 2}
    assert body["as_of"] == "2026-06-12" and body["area"] is None
    t1 = body["items"][5]
    assert t1["hidden_danger"]["source_id"] == "D4" and t1["hidden_danger"]["days_overdue"] == 103
    assert (t1["deadline"], t1["supervising_department"]) == ("2026-03-01", "古冶区应急管理局")
    area = api.get("/major-risks", params={**JUNE_12, "area": "130204"}).json()
    assert area["area"] == {"admin_code": "130204", "name": "古冶区", "level": "county"}
    assert [it["site"]["source_id"] for it in area["items"]] == ["T1"]


def test_csv_in_chinese_and_english_formula_safe(api):
    """CSV: the page's columns (Chinese by default, English with lang=en), one row per entry, E2's responsible
    person (a formula in its register) written as inert text."""
    r = api.get("/major-risks", params={**JUNE_12, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="major-risks-2026-06-12.csv"' in r.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(r.content[3:].decode("utf-8"), newline="")))
    assert tuple(table[0]) == TEXT["zh"]["columns"]
    assert [(row[1], row[3]) for row in table[1:]] == [("风险点", "E1"), ("风险点", "E4"), ("风险点", "V1"),
                                                     ("风险点", "E2"), ("风险点", "P1"), ("重大事故隐患", "T1"),
                                                     ("重大事故隐患", "E1"), ("重大事故隐患", "E4")]
    e2 = table[4]
    assert e2[9] == "'" + HYPERLINK and e2[10] == "路北区应急管理局"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
    en = api.get("/major-risks", params={**JUNE_12, "format": "csv", "lang": "en"})
    en_table = list(csv.reader(io.StringIO(en.content[3:].decode("utf-8"), newline="")))
    assert tuple(en_table[0]) == TEXT["en"]["columns"] and en_table[6][1] == "Major hidden danger"


def test_xlsx_formula_safe(api):
    """XLSX: no formula cell; the deadline a date cell; the formula text a text cell with the hidden quote
    prefix."""
    r = api.get("/major-risks", params={**JUNE_12, "format": "xlsx", "area": "130203"})
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert [c.value for c in ws[2]][:4] == [1, "风险点", "路北机械", "E2"]
    assert ws.cell(2, 10).value == HYPERLINK and ws.cell(2, 10).quotePrefix
    d4 = api.get("/major-risks", params={**JUNE_12, "format": "xlsx", "area": "130204"})
    deadline = openpyxl.load_workbook(io.BytesIO(d4.content)).worksheets[0].cell(2, 12)
    assert deadline.is_date and deadline.value.date().isoformat() == "2026-03-01"


def test_printable_page(api):
    """A browser gets the printable page: A4 landscape, one table row per entry with the site's link, the
    overdue days marked, the rule of the supervising department at the foot; the formula shown as text."""
    r = api.get("/major-risks", params=JUNE_12, headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "@page {size: A4 landscape" in page and "<script" not in page
    assert page.count('data-entry="major_risk"') == 5 and page.count('data-entry="major_hidden_danger"') == 3
    assert "逾期 103 天" in page and "重大风险和隐患清单" in page
    assert html.escape(HYPERLINK) in page and "属地管理" in page
    assert '/features/enterprise/' in page
    en = api.get("/major-risks", params={**JUNE_12, "format": "html", "lang": "en"}).text
    assert "List of major risks and hidden dangers" in en and "103 days overdue" in en


def test_bad_input(api):
    """An unknown area is a 404; an unknown kind or format a 422 naming it."""
    assert api.get("/major-risks", params={"area": "999999", "format": "json"}).status_code == 404
    r = api.get("/major-risks", params={"kind": "settlement", "format": "json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
    assert api.get("/major-risks", params={"format": "pdf"}).status_code == 422


def test_cli_writes_each_format(api, campaign_url, tmp_path):
    """`riskmap major-risks --area CODE --format F --out FILE` writes the list of the HTTP API in CSV, XLSX, HTML
    (without links: the file is read away from the server) and JSON, and prints its counts."""
    r = run(campaign_url, "--area", "130202", "--format", "csv", "--out", tmp_path / "l.csv", "--as-of", "2026-06-12")
    assert r.returncode == 0, r.stderr
    assert "路南区 (130202) on 2026-06-12: 3 sites (red 2, orange 1), 1 open major hidden dangers (1 overdue)" \
        in r.stdout
    served = api.get("/major-risks", params={**JUNE_12, "area": "130202", "format": "csv"}).content
    assert (tmp_path / "l.csv").read_bytes() == served
    assert run(campaign_url, "--area", "130202", "--out", tmp_path / "l.xlsx", "--as-of", "2026-06-12").returncode == 0
    ws = openpyxl.load_workbook(tmp_path / "l.xlsx").worksheets[0]
    assert [ws.cell(i, 4).value for i in range(2, ws.max_row + 1)] == ["E1", "V1", "P1", "E1"]
    assert run(campaign_url, "--format", "html", "--out", tmp_path / "l.html", "--as-of", "2026-06-12",
               "--lang", "en").returncode == 0
    page = (tmp_path / "l.html").read_text(encoding="utf-8")
    assert page.count("<tr class=") == 8 and "/features/" not in page and "size: A4 landscape" in page
    assert run(campaign_url, "--out", tmp_path / "l.json", "--as-of", "2026-06-12").returncode == 0
    doc = json.loads((tmp_path / "l.json").read_text(encoding="utf-8"))
    assert doc == api.get("/major-risks", params={**JUNE_12, "format": "json"}).json()


def test_cli_bad_usage(campaign_url, tmp_path):
    """A bad format, date or area says so: exit 2 for bad usage, 6 for an unknown area."""
    bad = run(campaign_url, "--out", tmp_path / "l.pdf")
    assert bad.returncode == 2 and "--format" in bad.stderr
    assert run(campaign_url, "--as-of", "June", "--out", tmp_path / "l.csv").returncode == 2
    unknown = run(campaign_url, "--area", "999999", "--out", tmp_path / "l.csv")
    assert unknown.returncode == 6 and "999999" in unknown.stderr
    assert not (tmp_path / "l.csv").exists()


def entries(items: list[dict]) -> list[tuple]:
    return [(it["entry"], it["site"]["source_id"]) for it in items]


def test_geojson_by_format_and_by_accept(api):
    """format=geojson, or Accept: application/geo+json: a FeatureCollection of the rows in order, each at its
    site's point, with the row's fields (not lon and lat) as its properties."""
    r = api.get("/major-risks", params={**JUNE_12, "format": "geojson"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    doc = r.json()
    assert doc["type"] == "FeatureCollection" and doc["as_of"] == "2026-06-12"
    assert [(f["properties"]["entry"], f["properties"]["site"]["source_id"]) for f in doc["features"]] == ROWS
    e1 = doc["features"][0]
    assert e1["geometry"] == {"type": "Point", "coordinates": [118.05, 39.65]} and e1["id"].startswith("enterprise.")
    assert "lon" not in e1["properties"] and e1["properties"]["responsible_person"] == "李明"
    assert doc["features"][5]["id"].startswith("hidden_danger.")
    assert doc["counts"] == api.get("/major-risks", params=JUNE_12).json()["counts"]
    negotiated = api.get("/major-risks", params=JUNE_12, headers={"Accept": "application/geo+json"})
    assert negotiated.headers["content-type"].startswith("application/geo+json")
    assert negotiated.json() == doc
    preferred = api.get("/major-risks", params=JUNE_12,
                        headers={"Accept": "application/json;q=0.5, application/geo+json"})
    assert preferred.json()["type"] == "FeatureCollection"


def test_a_row_without_a_point_has_a_null_geometry():
    """A row whose site has no point (its site gone) is a Feature with a null geometry."""
    row = {"rank": 1, "entry": "major_hidden_danger", "site": {"kind": "enterprise", "id": 9},
           "hidden_danger": {"id": 3, "overdue": False}, "lon": None, "lat": None, "deadline": dt.date(2026, 7, 1)}
    lst = MajorRiskList(as_of=dt.date(2026, 6, 12), area=None, kinds=("enterprise",), items=[row])
    feature = json.loads(list_geojson(lst))["features"][0]
    assert feature["geometry"] is None and feature["properties"]["deadline"] == "2026-07-01"


FILTERED = {**JUNE_12, "level": "red", "status": "open", "found_from": "2026-03-01", "found_to": "2026-05-20"}


def test_filters_apply_alike_to_every_format(api):
    """level, status and found dates: JSON, GeoJSON, CSV, XLSX and the page hold the same rows (the red sites,
    then D1 and D7: open, found 03-01 and 05-20, at red sites), and the page names the filters."""
    body = api.get("/major-risks", params=FILTERED).json()
    expected = [("major_risk", "E1"), ("major_risk", "E4"), ("major_risk", "V1"), ("major_hidden_danger", "E1"),
                ("major_hidden_danger", "E4")]
    assert entries(body["items"]) == expected
    assert body["filters"] == {"kind": None, "level": ["red"], "status": ["open"], "entry": None,
                               "found_from": "2026-03-01", "found_to": "2026-05-20"}
    geo = api.get("/major-risks", params={**FILTERED, "format": "geojson"}).json()
    assert entries([f["properties"] for f in geo["features"]]) == expected
    table = list(csv.reader(io.StringIO(api.get("/major-risks", params={**FILTERED, "format": "csv"})
                                        .content[3:].decode("utf-8"), newline="")))
    assert [row[3] for row in table[1:]] == ["E1", "E4", "V1", "E1", "E4"]
    ws = openpyxl.load_workbook(io.BytesIO(api.get("/major-risks", params={**FILTERED, "format": "xlsx"}).content)
                                ).worksheets[0]
    assert [ws.cell(i, 4).value for i in range(2, ws.max_row + 1)] == ["E1", "E4", "V1", "E1", "E4"]
    page = api.get("/major-risks", params={**FILTERED, "format": "html"}).text
    assert page.count('data-entry="major_risk"') == 3 and page.count('data-entry="major_hidden_danger"') == 2
    assert "筛选：风险等级 重大风险；隐患状态 未整改；隐患发现日期自 2026-03-01；隐患发现日期至 2026-05-20" in page
    assert "level=red&amp;status=open&amp;found_from=2026-03-01&amp;found_to=2026-05-20" in page  # the lang switch
    dangers = api.get("/major-risks", params={**JUNE_12, "entry": "major_hidden_danger", "status": "reopened"})
    assert entries(dangers.json()["items"]) == [("major_hidden_danger", "T1")]


@pytest.mark.parametrize(("param", "value", "allowed"), [
    ("level", "yellow", "red, orange"), ("status", "verified", "open, reopened"),
    ("entry", "site", "major_risk, major_hidden_danger"), ("kind", "settlement", "enterprise"),
])
def test_an_unknown_filter_value_is_a_422_naming_it(api, param, value, allowed):
    for fmt in ("json", "geojson", "csv", "html"):
        r = api.get("/major-risks", params={param: value, "format": fmt})
        assert r.status_code == 422
        error = r.json()["errors"][0]
        assert error["field"] == param and allowed in error["message"] and repr(value) in error["message"]


def test_bad_found_dates_are_a_422(api):
    r = api.get("/major-risks", params={"found_from": "2026-05-02", "found_to": "2026-05-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "found_from"
    assert api.get("/major-risks", params={"found_to": "May"}).json()["errors"][0]["field"] == "found_to"


def test_deadline_measures_and_unregistered_person_on_page_and_spreadsheets(api):
    """E2's deadline is its next inspection and its measures the supervision recommendation, in the page's
    language (JSON too, by lang); V1 names no responsible person: JSON null, the page and the spreadsheets say
    "未登记" / "not registered"; V1 was never inspected: "应立即检查"."""
    items = api.get("/major-risks", params=JUNE_12).json()["items"]
    e2, v1 = items[3], items[2]
    assert (e2["deadline"], e2["deadline_source"], e2["measures_source"]) == ("2026-08-20", "supervision",
                                                                              "supervision")
    assert e2["measures"] == "按较大风险每 3 个月检查一次；下次检查 2026-08-20"
    assert e2["supervision"]["next_due"] == "2026-08-20" and v1["responsible_person"] is None
    en = api.get("/major-risks", params={**JUNE_12, "lang": "en"}).json()["items"][3]
    assert en["measures"] == "inspect every 3 month(s) (orange level); next inspection due 2026-08-20"
    page = api.get("/major-risks", params={**JUNE_12, "format": "html"}).text
    v1_row = page[page.index('data-kind="venue"'):].split("</tr>")[0]
    assert "<td>未登记</td>" in v1_row and "应立即检查" in v1_row and "无检查记录，应立即检查" in v1_row
    e2_row = page[page.index(f'data-id="{e2["site"]["id"]}"'):].split("</tr>")[0]
    assert "2026-08-20<br><small>下次检查</small>" in e2_row
    en_page = api.get("/major-risks", params={**JUNE_12, "format": "html", "lang": "en"}).text
    assert "not registered" in en_page and "next inspection due 2026-08-20" in en_page
    table = list(csv.reader(io.StringIO(api.get("/major-risks", params={**JUNE_12, "format": "csv"})
                                        .content[3:].decode("utf-8"), newline="")))
    assert table[3][9] == "未登记" and table[4][11] == "2026-08-20"
    assert table[4][13] == "按较大风险每 3 个月检查一次；下次检查 2026-08-20"
    en_table = list(csv.reader(io.StringIO(api.get("/major-risks", params={**JUNE_12, "format": "csv", "lang": "en"})
                                           .content[3:].decode("utf-8"), newline="")))
    assert en_table[3][9] == "not registered" and en_table[4][13].startswith("inspect every 3 month(s)")


def test_cli_filters_and_geojson(api, campaign_url, tmp_path):
    """`riskmap major-risks` takes the same filters (the same CSV as the API's) and writes or prints GeoJSON; a
    bad filter value exits 2 naming it."""
    r = run(campaign_url, "--level", "red", "--status", "open", "--found-from", "2026-03-01", "--found-to",
            "2026-05-20", "--as-of", "2026-06-12", "--out", tmp_path / "f.csv")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "f.csv").read_bytes() == api.get("/major-risks", params={**FILTERED, "format": "csv"}).content
    assert run(campaign_url, "--as-of", "2026-06-12", "--entry", "major_hidden_danger",
               "--out", tmp_path / "l.geojson").returncode == 0
    doc = json.loads((tmp_path / "l.geojson").read_text(encoding="utf-8"))
    assert doc == api.get("/major-risks", params={**JUNE_12, "entry": "major_hidden_danger",
                                                  "format": "geojson"}).json()
    printed = run(campaign_url, "--as-of", "2026-06-12", "--format", "geojson", "--level", "orange")
    assert printed.returncode == 0, printed.stderr
    assert [f["properties"]["site"]["source_id"] for f in json.loads(printed.stdout)["features"]] == ["E2", "P1"]
    bad = run(campaign_url, "--level", "yellow", "--out", tmp_path / "x.csv")
    assert bad.returncode == 2 and "level" in bad.stderr and "red, orange" in bad.stderr
    assert run(campaign_url, "--found-from", "May", "--out", tmp_path / "x.csv").returncode == 2
    assert not (tmp_path / "x.csv").exists()
