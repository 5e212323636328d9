"""The monthly report's printable page (maps/monthly_report_page.py) in headless Chromium: a county with a few
records written in SQL, reported for a month; the page shows the report's numbers, fetches nothing, fits an A4
landscape sheet's width and prints on A4 landscape."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from api.monthly_report import month_report, parse_month
from geo import store
from geo.supervision.config import load_supervision
from maps.monthly_report_page import monthly_report_page
from tests.conftest import throwaway_database
from tests.geo.supervision import records as r
from tests.maps.conftest import screenshot

TODAY = dt.date(2026, 12, 4)  # a fixed today, after the months reported

D = dt.date


@pytest.fixture(scope="module")
def report(cluster):
    """May 2026 in a county: a red enterprise inspected in April and May, with a major danger found in April
    and overdue at the end of May, a general one found and rectified in May, a suspension decided in May; a
    yellow venue last inspected in 2025 (due, not inspected)."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        conn.autocommit = True
        try:
            r.area(conn, "100001", "西县", (118.0, 39.0, 118.5, 39.5))
            e = r.enterprise(conn, 118.1, 39.1, "red", name="安泰化工有限公司")
            r.venue(conn, 118.2, 39.2, "yellow", last_fire_inspection=D(2025, 10, 1))
            r.inspection(conn, "enterprise", e, D(2026, 4, 10))
            r.inspection(conn, "enterprise", e, D(2026, 5, 12), outcome="enforcement")
            r.danger(conn, "enterprise", e, grade="major", found_on=D(2026, 4, 10), deadline=D(2026, 5, 10),
                     description="液氨储罐区未设置泄漏报警")
            r.danger(conn, "enterprise", e, status="rectified", found_on=D(2026, 5, 12), deadline=D(2026, 5, 30),
                     rectified_on=D(2026, 5, 20))
            r.action(conn, "enterprise", e, "suspension", D(2026, 5, 12))
            yield month_report(conn, "100001", parse_month("2026-05", TODAY), load_supervision())
        finally:
            conn.close()


def test_report_page_shows_the_numbers_and_prints_on_a4(page, report, tmp_path):
    """The page lists the month's numbers where the report has them (one danger found, one overdue at the end,
    one suspension), the inspections due and done per level, the major list with the site and its danger; it
    loads nothing, has no script error, is no wider than A4 landscape, and prints on A4 landscape sheets."""
    assert report["hidden_dangers"]["found"] == 1 and report["hidden_dangers"]["overdue_major_at_end"] == 1
    assert report["inspections"]["total"]["due"] == 2 and report["inspections"]["total"]["due_done"] == 1
    path = tmp_path / "report.html"
    path.write_text(monthly_report_page(report, "zh"), encoding="utf-8")
    page.goto(path.as_uri())

    def cell(section: str, item: str) -> str:
        return page.locator(f'table[data-section="{section}"] tr[data-item="{item}"] td.num').inner_text()

    assert cell("hidden_dangers", "found") == "1"
    assert cell("hidden_dangers", "overdue_major_at_end") == "1"
    assert cell("enforcement", "suspended_at_end") == "1"
    red = page.locator('table[data-section="inspections"] tr[data-level="red"] td.num').all_inner_texts()
    assert red == ["1", "1", "1", "1", "0"]  # sites, due, due and done, inspected, overdue at the end
    yellow = page.locator('table[data-section="inspections"] tr[data-level="yellow"] td.num').all_inner_texts()
    assert yellow == ["1", "1", "0", "0", "1"]
    entries = page.locator('table[data-section="major_list"] tbody tr').evaluate_all(
        "rs => rs.map(r => r.dataset.entry)")
    assert entries == ["major_risk", "major_hidden_danger"]
    assert "液氨储罐区未设置泄漏报警" in page.locator('table[data-section="major_list"]').inner_text()
    assert page.log.errors() == [] and page.log.failed == []
    assert all(u.startswith("file:") for u in page.log.requests)
    screenshot(page, "monthly-report")
    page.set_viewport_size({"width": 1123, "height": 794})  # A4 landscape at 96 dpi
    page.emulate_media(media="print")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1123
    pdf = page.pdf(prefer_css_page_size=True)
    boxes = {tuple(round(float(v)) for v in box.split()) for box in re.findall(rb"/MediaBox \[([\d. ]+)\]", pdf)}
    assert boxes == {(0, 0, 842, 595)}  # A4 landscape, in points
