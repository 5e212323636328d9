"""GET /major-risks and `riskmap major-risks` (the list of major risks and hidden dangers, 重大风险和隐患清单) on the
small campaign of tests/geo/lists/campaign.py: the same rows as JSON, CSV, XLSX and the printable page, formula-safe
spreadsheets, Chinese or English headers, and the command writing each format."""

from __future__ import annotations

import csv
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
from api.settings import Settings
from geo import store
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
    spreadsheet formula."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        build(conn)
        with conn.cursor() as cur:
            cur.execute("UPDATE enterprise SET props = jsonb_build_object('责任人', %s) WHERE source_id = 'E2'",
                        (HYPERLINK,))
        settle(conn)
        conn.close()
        yield url


@pytest.fixture(scope="module")
def api(campaign_url):
    with TestClient(create_app(Settings(database_url=campaign_url))) as c:
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
