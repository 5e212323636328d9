"""Issue 13 item 8 in a real Chromium: the feature page of the gas line with a school 250 m away shows its
high-consequence areas (grade Ⅱ, segments 2 and 3) in its section and as bands on its map, whatever segment
scores highest."""

from __future__ import annotations

import httpx
import pytest

from api.settings import Settings
from geo import store
from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.api.conftest import AS_OF
from tests.conftest import throwaway_database
from tests.geo.risk import pipeline_hca_case as case
from tests.maps.conftest import SCREENSHOTS, LiveServer


@pytest.fixture(scope="module")
def line_server(cluster, tmp_path_factory):
    """The app, with no basemap, on a database of its own holding the issue's line, scored; and the line's id."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        try:
            case.load_issue_line(conn, tmp_path_factory.mktemp("hca"))
            score(conn, load_model(), AS_OF, full=True)
            pid = case.pipeline_id(conn)
        finally:
            conn.close()
        with LiveServer(Settings(anonymous_reads=True, database_url=url, basemap="none")) as live:
            yield live, pid


def test_pipeline_page_shows_its_high_consequence_areas(page, line_server):
    """The page lists the HCA segments 2 and 3 (grade Ⅱ) with the counts per grade, draws one band per HCA
    segment on the map under the line, labels the factors as the worst segment's, and logs no error."""
    server, pid = line_server
    explained = httpx.get(f"{server.url}/features/pipeline/{pid}").json()["properties"]
    page.goto(f"{server.url}/features/pipeline/{pid}?lang=en")
    page.wait_for_selector(".riskmap-hca")
    assert page.log.errors() == [] and page.log.failed == []
    section = page.locator(".riskmap-hca")
    assert section.get_attribute("data-hca-grade") == "2" and section.get_attribute("data-hca-segments") == "2"
    rows = page.locator(".riskmap-hca-segments tbody tr")
    assert [rows.nth(i).get_attribute("data-seq") for i in range(rows.count())] == ["2", "3"]
    assert "grade Ⅱ" in section.inner_text() and "gas c)" in section.inner_text()
    assert f"worst segment {explained['details']['worst_segment']}" in page.locator(".riskmap-detail").inner_text()
    # the bands: one wide path per HCA segment, plus the line itself
    widths = page.evaluate("Array.from(document.querySelectorAll('path.leaflet-interactive'))"
                           ".map(p => p.getAttribute('stroke-width'))")
    assert widths.count("16") == 2 and widths.count("5") == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "pipeline-hca.png"), full_page=True)
