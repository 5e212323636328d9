"""The monthly report (api/monthly_report.py, `riskmap report`) on the demo with its two synthetic years: every
number equals the API's answer for the same area and dates (GET /records/summary, GET /supervision, GET
/areas/{id}), and the command writes the page and the workbook."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.app import create_app
from api.monthly_report import LEVELS, LOOK_BACK_REASONS, MonthError, month_report, parse_month, report_workbook
from api.settings import Settings
from data.loader import load_demo, load_demo_history
from geo import store
from geo.risk.config import load_model
from geo.risk.scoring import score
from geo.supervision.config import load_supervision
from tests.conftest import throwaway_database

TODAY = dt.date(2026, 12, 4)  # a fixed today, after the months reported

AREA = "130203"  # 路北区
MONTHS = ("2026-10", "2025-06")  # the history's last month, and one in its first year
SCORED_ON = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def history_url(cluster):
    """The demo with its synthetic history (and its score history at every month's end), scored as of the demo's
    day (a database of this module's own)."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        try:
            load_demo(conn)
            load_demo_history(conn, load_model())
            score(conn, load_model(), SCORED_ON, full=True)
        finally:
            conn.close()
        yield url


@pytest.fixture(scope="module")
def client(history_url):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=history_url))) as c:
        yield c


@pytest.fixture(scope="module")
def conn(history_url):
    c = store.connect(history_url)
    c.autocommit = True
    yield c
    c.close()


def supervision(client, as_of: dt.date) -> list[dict]:
    """Every site of the area from GET /supervision on ``as_of``, page after page."""
    items, url = [], f"/supervision?area={AREA}&as_of={as_of}&limit=1000"
    while url:
        got = client.get(url)
        assert got.status_code == 200, got.text
        body = got.json()
        items += body["items"]
        url = body["next"]
    return items


@pytest.mark.parametrize("label", MONTHS)
def test_the_reports_numbers_equal_the_apis(conn, client, label):
    """For each month: hidden dangers, enforcement, accidents and inspection records equal GET /records/summary;
    inspections due, done and overdue per level and the look-back sites equal what GET /supervision says on the
    eve and on the last day of the month; the list of major risks and hidden dangers equals GET /major-risks as
    of the last day; the sites per level and their change equal GET /areas/{id}/series (the score history).
    The numbers are not empty."""
    month = parse_month(label, TODAY)
    report = month_report(conn, AREA, month, load_supervision())

    summary = client.get(f"/records/summary?area={AREA}&from={month.first}&to={month.last}")
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert report["hidden_dangers"] == body["hidden_dangers"]
    assert report["enforcement"] == body["enforcement"]
    assert report["accidents"] == body["accidents"]
    assert report["inspections"]["records"] == body["inspections"]
    assert body["hidden_dangers"]["found"] > 0 and body["inspections"]["total"] > 0

    eve = supervision(client, month.first - dt.timedelta(days=1))
    end = supervision(client, month.last)
    key = lambda i: (i["kind"], i["id"])  # noqa: E731
    due = {key(i) for i in eve if i["next_due"] is None or i["next_due"] <= month.last.isoformat()}
    done = {key(i) for i in end if i["last_inspection_source"] == "records"
            and month.first.isoformat() <= i["last_inspection"] <= month.last.isoformat()}
    for level in LEVELS:
        sites = {key(i) for i in end if i["level"] == level}
        expected = {"sites": len(sites), "due": len(due & sites), "due_done": len(due & done & sites),
                    "inspected": len(done & sites),
                    "overdue_at_end": sum(1 for i in end if i["level"] == level and i["overdue"])}
        assert report["inspections"]["by_level"][level] == expected, level
    assert report["inspections"]["total"]["due"] > 0 and report["inspections"]["total"]["due_done"] > 0

    waiting = [i for i in end if i["look_back"]]
    assert report["look_backs"]["waiting_at_end"] == len(waiting) > 0
    reasons = Counter(lb["reason"] for i in waiting for lb in i["look_back"])
    assert report["look_backs"]["reasons"] == {r: reasons[r] for r in LOOK_BACK_REASONS}
    assert report["look_backs"]["done"] == body["inspections"]["by_type"]["look_back"]

    major = client.get(f"/major-risks?area={AREA}&as_of={month.last}")
    assert major.status_code == 200, major.text
    assert report["major_list"].counts == major.json()["counts"]
    assert [(i["entry"], i["site"]["kind"], i["site"]["id"]) for i in report["major_list"].items] == [
        (i["entry"], i["site"]["kind"], i["site"]["id"]) for i in major.json()["items"]]
    assert major.json()["counts"]["major_risk"] > 0

    series = client.get(f"/areas/{AREA}/series?from={month.before.label}&to={label}")
    assert series.status_code == 200, series.text
    before, at_end = series.json()["months"]
    assert report["levels"]["history"] and report["levels"]["at_end"] == at_end["counts"]
    assert report["levels"]["before"] == before["counts"]
    assert report["levels"]["change"] == {lv: at_end["counts"][lv] - before["counts"][lv] for lv in LEVELS}
    assert report["levels"]["mean_score"] == {"at_end": at_end["mean_score"], "before": before["mean_score"]}
    assert sum(at_end["counts"].values()) > 300
    # the inspections section counts the sites at the levels they had at the month's end, as section 1 does
    assert {lv: report["inspections"]["by_level"][lv]["sites"] for lv in LEVELS} == at_end["counts"]


def test_records_summary_rejects_bad_areas_and_periods(client):
    """An unknown area is a 404; a period that ends before it begins is a 422 naming `to`; a missing `from` a
    422 naming it."""
    assert client.get("/records/summary?area=999999&from=2026-01-01&to=2026-01-31").status_code == 404
    bad = client.get("/records/summary?from=2026-02-01&to=2026-01-31")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "to"
    missing = client.get("/records/summary?to=2026-01-31")
    assert missing.status_code == 422 and "from" in missing.text


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "RISKMAP_DATABASE_URL": url, "CI": "true", "COLUMNS": "200"})


def test_riskmap_report_writes_the_page_and_the_workbook(history_url, conn, tmp_path):
    """`riskmap report` writes report-<area>-<month>.html and .xlsx: the page shows the report's numbers and the
    list of major risks and hidden dangers, and says the data is synthetic; the workbook's summary sheet holds
    every number of the report, and its sheets the look-back sites and the list."""
    got = run(history_url, "report", "--area", AREA, "--month", "2026-10", "--out", str(tmp_path))
    assert got.returncode == 0, got.stderr
    page = (tmp_path / f"report-{AREA}-2026-10.html").read_text(encoding="utf-8")
    report = month_report(conn, AREA, parse_month("2026-10", TODAY), load_supervision())
    assert "演示数据（合成）" in page and "路北区" in page
    found = report["hidden_dangers"]["found"]
    assert f'<tr data-item="found"><td class="">本月新发现</td><td class="num">{found}</td></tr>' in page
    book = load_workbook(tmp_path / f"report-{AREA}-2026-10.xlsx")
    assert book.sheetnames == ["summary", "inspections", "look_backs", "major_list"]
    cells = {(r[0], r[1]): r[2] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert cells[("hidden_dangers", "found")] == found
    assert cells[("inspections", "due.due_done")] == report["inspections"]["total"]["due_done"]
    assert cells[("enforcement", "by_measure.fine")] == report["enforcement"]["by_measure"]["fine"]
    assert book["look_backs"].max_row - 1 == sum(len(s["reasons"]) for s in report["look_backs"]["sites"])
    assert book["major_list"].max_row - 1 == len(report["major_list"].items)
    assert cells[("major_list", "major_risk")] == report["major_list"].counts["major_risk"]
    assert page.count('<tr data-entry="major_') == len(report["major_list"].items)


def test_riskmap_report_out_may_name_the_one_file_to_write(history_url, tmp_path):
    """--out october.xlsx writes that workbook (no folder of that name, no page); --out page.html --format xlsx
    is refused naming --format, and writes nothing."""
    book = tmp_path / "reports" / "october.xlsx"
    got = run(history_url, "report", "--area", AREA, "--month", "2026-10", "--out", str(book))
    assert got.returncode == 0, got.stderr
    assert book.is_file() and load_workbook(book).sheetnames[0] == "summary"
    assert sorted(p.name for p in book.parent.iterdir()) == ["october.xlsx"]
    bad = run(history_url, "report", "--area", AREA, "--month", "2026-10", "--out", str(tmp_path / "p.html"),
              "--format", "xlsx")
    assert bad.returncode == 2 and "--format" in bad.stderr and not (tmp_path / "p.html").exists()


def test_riskmap_report_refuses_an_unknown_area_and_a_bad_month(history_url, tmp_path):
    """An unknown area: exit 6 naming it, nothing written; a month that is not YYYY-MM, or has not begun: exit 2
    naming --month."""
    unknown = run(history_url, "report", "--area", "999999", "--month", "2026-10", "--out", str(tmp_path))
    assert unknown.returncode == 6 and "999999" in unknown.stderr
    bad = run(history_url, "report", "--area", AREA, "--month", "2026-13", "--out", str(tmp_path))
    assert bad.returncode == 2 and "--month" in bad.stderr
    next_month = (dt.date.today().replace(day=28) + dt.timedelta(days=4)).strftime("%Y-%m")
    ahead = run(history_url, "report", "--area", AREA, "--month", next_month, "--out", str(tmp_path))
    assert ahead.returncode == 2 and f"the month {next_month} has not begun" in ahead.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_month_that_has_not_begun_is_refused():
    """parse_month takes the month in progress (reported to date) and refuses the next one."""
    assert parse_month("2026-12", TODAY).first == dt.date(2026, 12, 1)
    with pytest.raises(MonthError, match="the month 2027-01 has not begun"):
        parse_month("2027-01", TODAY)


def test_the_workbook_is_formula_safe(conn):
    """Text from the records that a spreadsheet would run as a formula (a danger described as '=HYPERLINK(...)')
    is written as a text cell with the spreadsheet's hidden quote prefix: shown as written, never run."""
    report = month_report(conn, AREA, parse_month("2026-10", TODAY), load_supervision())
    report["look_backs"]["sites"] = [{"kind": "enterprise", "id": 1, "source_id": "=cmd|' /C calc'!A0",
                                      "name": "@SUM(1+1)", "level": "red",
                                      "reasons": [{"reason": "danger_overdue", "date": "2026-10-01",
                                                   "record": "hidden_danger", "source_id": "+1",
                                                   "detail": '=HYPERLINK("http://x","y")'}]}]
    book = load_workbook(io.BytesIO(report_workbook(report)))
    row = next(book["look_backs"].iter_rows(min_row=2))
    assert row[2].value == "=cmd|' /C calc'!A0" and row[3].value == "@SUM(1+1)" and row[8].value == "+1"
    assert row[9].value == "=HYPERLINK(\"http://x\",\"y\")"
    assert all(row[i].data_type == "s" and row[i].quotePrefix for i in (2, 3, 8, 9))
