"""A pipeline's summary from its scored segments (geo/risk/pipeline_summary.py; domain.md §4): the worst segment
gives the score, the high-consequence areas are counted over every segment, whichever scores highest."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest

from geo.risk.config import load_model
from geo.risk.framework import final_level
from geo.risk.pipeline import potential_impact_radius_m, score_pipeline
from geo.risk.pipeline_summary import summarise_pipelines
from geo.risk.scoring import score
from geo.risk.store import query_frame
from tests.geo.risk import pipeline_hca_case as case
from tests.geo.risk.test_pipeline import AS_OF, QUIET

SCHOOL_DISTANCE_M = 250.0  # a school (特定场所 Ⅰ) this far from the line


@pytest.fixture
def model() -> dict:
    return copy.deepcopy(load_model())


def scored_segments(model: dict, pipeline_id: int, contexts: list[dict], lengths_m: list[float]) -> pd.DataFrame:
    """Score one line's segments (QUIET plus each segment's context) with the real rule; the frame the summary
    takes: pipeline_id, seq, length_m, score, level, hca_grade, hca_conditions, hca_assumed."""
    frame = pd.DataFrame([{**QUIET, **c} for c in contexts])
    result = score_pipeline(frame, model["pipeline"], AS_OF)
    level = final_level(result.score, result.direct_red, model["levels"])
    conditions = next(f for f in result.factors if f.definition.name == "hca_conditions")
    grade = next(f for f in result.factors if f.definition.name == "hca_grade")
    return pd.DataFrame({
        "pipeline_id": pipeline_id, "seq": range(len(contexts)), "length_m": lengths_m,
        "score": result.score, "level": level, "hca_grade": result.extra["hca_grade"],
        "hca_conditions": conditions.value, "hca_assumed": grade.assumed})


def issue_line(model: dict) -> pd.DataFrame:
    """Issue 13 item 8: a 1,016 mm, 10 MPa gas line of eight segments.  A school 250 m off the line, beside the
    boundary of segments 2 and 3, lies inside their potential impact radius (318 m) but not within 200 m; five
    enterprises within 50 m and two construction sites within 200 m of segment 6 make it the highest-scoring."""
    inside_pir = int(SCHOOL_DISTANCE_M <= potential_impact_radius_m(1016, 10))
    contexts = [{} for _ in range(8)]
    for seq in (2, 3):
        contexts[seq] = {"specific_sites_1_pir": inside_pir, "specific_sites_1_200m": 0}
    contexts[6] = {"enterprises_50m": 5, "enterprises_200m": 5, "construction_200m": 2}
    lengths = [1004.0, 998.4, 1001.2, 999.8, 1000.0, 1003.0, 997.0, 1000.5]
    return scored_segments(model, 7, contexts, lengths)


def test_issue_case_reports_the_hca_segments_not_the_worst_segments_grade(model):
    """Issue 13 item 8: the line with a school 250 m away reports HCA grade Ⅱ, two segments and their km in
    grade Ⅱ, and which they are, although its highest-scoring segment (6) is no HCA."""
    segments = issue_line(model)
    assert segments["hca_grade"].tolist() == [0, 0, 2, 2, 0, 0, 0, 0]  # the rule grades them right
    assert segments["score"].idxmax() == 6 and segments["hca_grade"][6] == 0  # the premise of the issue

    summary = summarise_pipelines(segments)
    assert summary.index.tolist() == [7]
    row = summary.loc[7]
    assert row["worst_seq"] == 6
    d = row["details"]
    assert d["hca_grade"] == 2
    assert d["worst_segment"] == 6 and d["segments"] == 8
    by_grade = {g["grade"]: g for g in d["hca_by_grade"]}
    assert [g["grade"] for g in d["hca_by_grade"]] == [3, 2, 1, 0]
    assert by_grade[3] == {"grade": 3, "segments": 0, "km": 0.0}
    assert by_grade[2] == {"grade": 2, "segments": 2, "km": 2.001}  # 1001.2 m + 999.8 m
    assert by_grade[1] == {"grade": 1, "segments": 0, "km": 0.0}
    assert by_grade[0] == {"grade": 0, "segments": 6, "km": 6.003}
    assert d["length_km"] == 8.004
    assert [s["seq"] for s in d["hca_segments"]] == [2, 3]
    first, second = d["hca_segments"]
    assert first["grade"] == 2 and first["from_km"] == 2.002 and first["to_km"] == 3.004 and first["km"] == 1.001
    assert second["from_km"] == 3.004 and second["to_km"] == 4.003 and second["km"] == 1.0
    assert "gas c)" in first["conditions"] and first["assumed"] is False


def test_highest_grade_wins_whatever_the_order():
    """The pipeline's grade is the highest of its segments' (Ⅲ over Ⅱ over Ⅰ), counted per grade, the segments
    listed in line order."""
    segments = pd.DataFrame({
        "pipeline_id": [1, 1, 1, 1, 1], "seq": [4, 0, 3, 1, 2], "length_m": [500.0, 1000.0, 1000.0, 1000.0, 1000.0],
        "score": [10.0, 40.0, 20.0, 15.0, 5.0], "level": ["blue", "yellow", "blue", "blue", "blue"],
        "hca_grade": [1, 0, 3, 2, 1], "hca_conditions": ["oil d)", None, "oil a)", "oil b)", "oil d)"],
        "hca_assumed": [False, False, True, False, False]})
    d = summarise_pipelines(segments).loc[1, "details"]
    assert d["hca_grade"] == 3 and d["worst_segment"] == 0
    assert {g["grade"]: (g["segments"], g["km"]) for g in d["hca_by_grade"]} == {
        3: (1, 1.0), 2: (1, 1.0), 1: (2, 1.5), 0: (1, 1.0)}
    assert [(s["seq"], s["grade"], s["from_km"], s["to_km"]) for s in d["hca_segments"]] == [
        (1, 2, 1.0, 2.0), (2, 1, 2.0, 3.0), (3, 3, 3.0, 4.0), (4, 1, 4.0, 4.5)]
    assert [s["assumed"] for s in d["hca_segments"]] == [False, False, True, False]


def test_no_hca_means_grade_zero_and_an_empty_list():
    """A line with no HCA segment reports grade 0, all its km in grade 0 and no HCA segments."""
    segments = pd.DataFrame({"pipeline_id": [3, 3], "seq": [0, 1], "length_m": [800.0, 700.0], "score": [5.0, 6.0],
                             "level": ["blue", "blue"], "hca_grade": [0, 0], "hca_conditions": [None, None],
                             "hca_assumed": [False, False]})
    d = summarise_pipelines(segments).loc[3, "details"]
    assert d["hca_grade"] == 0 and d["hca_segments"] == [] and d["worst_segment"] == 1
    assert {g["grade"]: (g["segments"], g["km"]) for g in d["hca_by_grade"]} == {
        3: (0, 0.0), 2: (0, 0.0), 1: (0, 0.0), 0: (2, 1.5)}


def test_worst_segment_is_the_highest_level_then_score_then_first():
    """The worst segment is the one of the highest level (a direct red beats a higher score), then the highest
    score, then the first along the line; red segments are counted; each pipeline is summarised on its own."""
    segments = pd.DataFrame({
        "pipeline_id": [1, 1, 1, 2, 2, 2], "seq": [0, 1, 2, 0, 1, 2], "length_m": [1000.0] * 6,
        "score": [65.0, 30.0, 60.0, 20.0, 20.0, 10.0],
        "level": ["orange", "red", "orange", "blue", "blue", "blue"], "hca_grade": [0, 0, 2, 0, 0, 0],
        "hca_conditions": [None, None, "gas b)", None, None, None], "hca_assumed": [False] * 6})
    summary = summarise_pipelines(segments)
    assert summary["worst_seq"].to_dict() == {1: 1, 2: 0}
    assert summary.loc[1, "details"]["red_segments"] == 1 and summary.loc[2, "details"]["red_segments"] == 0
    assert summary.loc[1, "details"]["hca_grade"] == 2 and summary.loc[2, "details"]["hca_grade"] == 0


def test_no_segments_no_rows():
    """No scored segment, no pipeline summary."""
    empty = pd.DataFrame({c: [] for c in ("pipeline_id", "seq", "length_m", "score", "level", "hca_grade",
                                          "hca_conditions", "hca_assumed")})
    assert summarise_pipelines(empty).empty


# --- on PostGIS, through scoring -----------------------------------------------------------------------------

def _stored(db) -> tuple[pd.DataFrame, dict]:
    """The line's segments (seq, hca_grade, score, level) and its pipeline row (score, level, details)."""
    pid = case.pipeline_id(db)
    segments = query_frame(db, """
        SELECT g.seq, (r.details ->> 'hca_grade')::integer AS hca_grade, r.score, r.level
        FROM pipeline_segment g JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = g.id
        WHERE g.pipeline_id = %(pid)s ORDER BY g.seq""", {"pid": pid})
    with db.cursor() as cur:
        cur.execute("SELECT score, level, details FROM feature_risk WHERE kind = 'pipeline' AND feature_id = %s",
                    (pid,))
        pscore, plevel, details = cur.fetchone()
    db.rollback()
    return segments, {"score": pscore, "level": plevel, "details": details}


def test_scoring_stores_the_issue_lines_hca_summary(db, tmp_path):
    """Scored on PostGIS, the issue's line (school 250 m away) stores HCA grade Ⅱ for the pipeline, its two grade Ⅱ
    segments with their km and chainage, while its score stays that of its worst segment, 6, which is no HCA."""
    case.load_issue_line(db, tmp_path)
    score(db, load_model(), AS_OF, full=True)
    segments, pipeline = _stored(db)
    assert len(segments) == case.SEGMENTS
    assert segments["hca_grade"].tolist() == [0, 0, 2, 2, 0, 0, 0, 0]
    assert segments["score"].idxmax() == case.WORST_SEQ
    assert pipeline["score"] == segments["score"][case.WORST_SEQ]
    d = pipeline["details"]
    assert d["hca_grade"] == 2 and d["worst_segment"] == case.WORST_SEQ and d["segments"] == case.SEGMENTS
    assert d["worst_segment_details"]["hca_grade"] == 0  # the worst segment's own outputs, named as such
    by_grade = {g["grade"]: g for g in d["hca_by_grade"]}
    assert by_grade[2]["segments"] == 2 and by_grade[2]["km"] == pytest.approx(2.0, abs=0.01)
    assert by_grade[3]["segments"] == by_grade[1]["segments"] == 0
    assert by_grade[0]["segments"] == 6 and d["length_km"] == pytest.approx(8.0, abs=0.01)
    assert [s["seq"] for s in d["hca_segments"]] == case.HCA_SEQS
    chainage = [km for s in d["hca_segments"] for km in (s["from_km"], s["to_km"])]
    assert chainage == pytest.approx([2.0, 3.0, 3.0, 4.0], abs=0.01)
    assert all("gas c)" in s["conditions"] for s in d["hca_segments"])


def test_incremental_scoring_updates_the_hca_summary(db, tmp_path):
    """When the school closes (deleted), the next incremental scoring clears the line's HCA summary, the same as a
    full recompute."""
    case.load_issue_line(db, tmp_path)
    score(db, load_model(), AS_OF, full=True)
    with db.cursor() as cur:
        cur.execute("DELETE FROM venue WHERE source_id = 'SCH-1'")
    db.commit()
    assert not score(db, load_model(), AS_OF).full
    _, incremental = _stored(db)
    assert incremental["details"]["hca_grade"] == 0 and incremental["details"]["hca_segments"] == []
    score(db, load_model(), AS_OF, full=True)
    _, full = _stored(db)
    assert json.dumps(incremental, sort_keys=True) == json.dumps(full, sort_keys=True)


def test_the_pipeline_hca_migration_makes_the_next_scoring_rewrite_old_summaries(db, tmp_path):
    """A database scored before the migration pipeline_hca_summary (pipeline rows holding their worst segment's
    details) is fully re-scored by the next `riskmap score` once migrated, which rewrites the summaries."""
    from geo import store

    version = next(m.version for m in store.migrations() if m.name == "pipeline_hca_summary")
    case.load_issue_line(db, tmp_path)
    score(db, load_model(), AS_OF, full=True)
    with db.cursor() as cur:  # as the summaries were stored before: the worst segment's details
        cur.execute("UPDATE feature_risk SET details = jsonb_build_object('hca_grade', 0, 'worst_segment', 6) "
                    "WHERE kind = 'pipeline'")
        cur.execute("DELETE FROM riskmap_schema_migrations WHERE version = %s", (version,))
    db.commit()
    assert [m.version for m in store.migrate(db)] == [version]
    assert score(db, load_model(), AS_OF).full
    assert _stored(db)[1]["details"]["hca_grade"] == 2


def test_summaries_of_rescored_segments_only(db, tmp_path):
    """Given the re-scored segments (an incremental run), only the pipelines holding them are rewritten: none for
    no segment or a segment of no pipeline, the issue's line for one of its segments."""
    from geo.risk.pipeline_summary import store_pipeline_summaries

    def make_stale():
        with db.cursor() as cur:
            cur.execute("UPDATE feature_risk SET details = '{\"stale\": true}' WHERE kind = 'pipeline'")
        db.commit()

    case.load_issue_line(db, tmp_path)
    version = load_model()["version"]
    score(db, load_model(), AS_OF, full=True)
    with db.cursor() as cur:
        cur.execute("SELECT max(id) FROM pipeline_segment")
        segment_id = cur.fetchone()[0]
    for ids in ([], [segment_id + 1000]):
        make_stale()
        store_pipeline_summaries(db, version, ids)
        db.commit()
        assert _stored(db)[1]["details"] == {"stale": True}, ids
    make_stale()
    store_pipeline_summaries(db, version, [segment_id])
    db.commit()
    assert _stored(db)[1]["details"]["hca_grade"] == 2
