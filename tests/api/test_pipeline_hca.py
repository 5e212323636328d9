"""Issue 13 item 8 through the API: the gas line with a school 250 m away reports its high-consequence areas (grade
Ⅱ, two segments, their km and which they are) in GET /features/pipeline/{id} (JSON and the HTML page) and in the
risk list (JSON and CSV), although its highest-scoring segment lies elsewhere and is no HCA."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo import store
from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.api.conftest import AS_OF
from tests.conftest import throwaway_database
from tests.geo.risk import pipeline_hca_case as case

ALL_LEVELS = "red,orange,yellow,blue"


@pytest.fixture(scope="module")
def line(cluster, tmp_path_factory):
    """A database of this module's own holding the issue's line, school and enterprises, scored; yields its URL
    and the pipeline's id."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        try:
            case.load_issue_line(conn, tmp_path_factory.mktemp("hca"))
            score(conn, load_model(), AS_OF, full=True)
            pid = case.pipeline_id(conn)
        finally:
            conn.close()
        yield url, pid


@pytest.fixture(scope="module")
def client(line):
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=line[0], basemap="none"))) as c:
        yield c


def segment_scores(url: str, pid: int) -> list[tuple[int, float, int]]:
    conn = store.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT g.seq, r.score, (r.details ->> 'hca_grade')::integer FROM pipeline_segment g "
                        "JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = g.id "
                        "WHERE g.pipeline_id = %s ORDER BY g.seq", (pid,))
            return cur.fetchall()
    finally:
        conn.close()


def test_feature_json_reports_the_hca_of_every_segment(client, line):
    """GET /features/pipeline/{id}: details give HCA grade Ⅱ, two segments and about 2 km in grade Ⅱ, and segments
    2 and 3 with their chainage; the score and factors stay those of segment 6, the highest-scoring."""
    url, pid = line
    segments = segment_scores(url, pid)
    worst = max(segments, key=lambda s: s[1])
    assert worst[0] == case.WORST_SEQ and worst[2] == 0
    p = client.get(f"/features/pipeline/{pid}").json()["properties"]
    d = p["details"]
    assert d["hca_grade"] == 2
    assert [(g["grade"], g["segments"]) for g in d["hca_by_grade"]] == [(3, 0), (2, 2), (1, 0), (0, 6)]
    assert d["hca_by_grade"][1]["km"] == pytest.approx(2.0, abs=0.01)
    assert [s["seq"] for s in d["hca_segments"]] == case.HCA_SEQS
    assert [s["from_km"] for s in d["hca_segments"]] == pytest.approx([2.0, 3.0], abs=0.01)
    assert d["worst_segment"] == case.WORST_SEQ and p["score"] == pytest.approx(worst[1], abs=0.005)
    hca_factor = next(f for f in p["factors"] if f["factor"] == "hca_grade")
    assert hca_factor["value"] == 0  # the worst segment's factor, as the page and list label it


def test_feature_page_shows_the_hca_segments(client, line):
    """The HTML feature page has a high-consequence-area section: grade Ⅱ, the counts and km per grade, and the
    rows of segments 2 and 3 with their chainage and conditions; the factors are labelled as segment 6's."""
    _, pid = line
    for lang, words in (("zh", ("高后果区", "Ⅱ级", "最不利管段")), ("en", ("High-consequence areas", "grade Ⅱ",
                                                                      "worst segment"))):
        page = client.get(f"/features/pipeline/{pid}", params={"format": "html", "lang": lang}).text
        assert all(w in page for w in words), lang
        section = re.search(r'<section class="riskmap-hca"[^>]*>.*?</section>', page, re.S).group(0)
        assert 'data-hca-grade="2"' in section and 'data-hca-segments="2"' in section
        rows = re.findall(r'<tr data-seq="(\d+)" data-grade="(\d)">', section)
        assert rows == [("2", "2"), ("3", "2")]
        assert "gas c)" in section and "2.00–3.00" in section and "3.00–4.00" in section
        grades = dict(re.findall(r'<tr data-grade-row="(\d)"><td>.*?</td><td>(\d+)</td>', section))
        assert grades == {"3": "0", "2": "2", "1": "0", "0": "6"}


def test_risk_list_json_reports_the_hca(client, line):
    """GET /risk-list: the pipeline's item carries its HCA (grade Ⅱ, per grade, the segments); other kinds none."""
    _, pid = line
    items = client.get("/risk-list", params={"level": ALL_LEVELS}).json()["items"]
    item = next(it for it in items if it["kind"] == "pipeline" and it["id"] == pid)
    assert item["hca"]["grade"] == 2
    assert [(g["grade"], g["segments"]) for g in item["hca"]["by_grade"]] == [(3, 0), (2, 2), (1, 0), (0, 6)]
    assert [s["seq"] for s in item["hca"]["segments"]] == case.HCA_SEQS
    assert all(it["hca"] is None for it in items if it["kind"] != "pipeline")


def test_risk_list_csv_reports_the_hca(client, line):
    """The CSV risk list gives the pipeline's HCA grade, its HCA segments and km, and the stretch they make; empty
    cells for other kinds."""
    _, pid = line
    r = client.get("/risk-list", params={"level": ALL_LEVELS, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    row = next(r for r in rows if r["kind"] == "pipeline" and int(r["id"]) == pid)
    assert row["hca_grade"] == "2" and row["hca_segments"] == "2"
    assert float(row["hca_km"]) == pytest.approx(2.0, abs=0.01)
    assert row["hca_where"] == "Ⅱ: 2.00–4.00 km (segments 2–3)"  # neighbouring segments of a grade joined
    assert all(r["hca_grade"] == r["hca_where"] == "" for r in rows if r["kind"] != "pipeline")
