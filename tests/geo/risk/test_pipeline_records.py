"""A pipeline's records reach the scores of its segments and its rolled-up score (issue 14 item 5; model.toml
[pipeline.hidden_dangers] ... [pipeline.patrol]; docs/risk-model.md "Pipelines"), end to end on a real PostGIS:
records written with plain SQL, incremental runs that see them, dates passed in (never today's)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from geo.risk.config import load_model
from geo.risk.scoring import score
from geo.risk.store import query_frame
from tests.geo.risk.record_rows import (
    add_danger,
    add_enforcement,
    add_enterprise,
    add_inspection,
    add_pipeline,
    lift_enforcement,
    set_danger_status,
)

MODEL = load_model()
P = MODEL["pipeline"]
DAY = dt.date(2026, 6, 1)


def _segments(db, pipeline_id: int) -> pd.DataFrame:
    """The pipeline's segments in line order: seq, score, level, direct_red and the factors by name."""
    f = query_frame(db, """
        SELECT g.seq, r.score, r.level, r.direct_red, r.factors::text AS factors
        FROM pipeline_segment g JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = g.id
        WHERE g.pipeline_id = %(p)s ORDER BY g.seq""", {"p": pipeline_id})
    f["factors"] = [{name: {"value": v, "points": p} for name, v, p, _ in json.loads(x)} for x in f["factors"]]
    return f


def _pipeline(db, pipeline_id: int) -> dict:
    f = query_frame(db, "SELECT score, level, direct_red FROM feature_risk WHERE kind = 'pipeline' "
                        "AND feature_id = %(p)s", {"p": pipeline_id})
    assert len(f) == 1
    return f.iloc[0].to_dict()


@pytest.fixture
def lines(db):
    """Two gas lines in empty country, scored in full as of DAY: A, about 3 km (three segments), with an
    enterprise 30 m off its first segment (its worst), and B, about 2 km, 15 km away."""
    a = add_pipeline(db, [(118.400, 39.600), (118.435, 39.600)])
    add_enterprise(db, 118.4058, 39.60027)  # 30 m north of the first kilometre
    b = add_pipeline(db, [(118.600, 39.700), (118.6234, 39.700)])
    score(db, MODEL, DAY, full=True)
    segments = _segments(db, a)
    assert len(segments) == 3 and len(_segments(db, b)) == 2
    assert segments["score"].idxmax() == 0 and segments["score"][0] > segments["score"][1]  # the premise
    return db, a, b


def test_a_hidden_danger_raises_every_segment_and_the_pipeline_and_its_verification_lowers_them_back(lines):
    """An open hidden danger on line A adds [pipeline.hidden_dangers] points_each to each of its segments and to
    its rolled-up score (its worst segment's), on an incremental run that re-scores A's three segments only; the
    rectification takes off points_each × (1 − rectified_share), the verification the rest, back to the start.
    Line B does not move."""
    db, a, b = lines
    each, share = P["hidden_dangers"]["points_each"], P["hidden_dangers"]["rectified_share"]
    base, base_line, other = _segments(db, a), _pipeline(db, a), _segments(db, b)

    danger = add_danger(db, "pipeline", a, dt.date(2026, 5, 1), deadline=dt.date(2026, 7, 1))
    summary = score(db, MODEL, DAY)
    assert not summary.full and summary.scored["pipeline_segment"] == 3
    opened = _segments(db, a)
    assert (opened["score"] - base["score"]).tolist() == pytest.approx([each] * 3)
    assert [f["open_hidden_dangers"] for f in opened["factors"]] == [{"value": 1, "points": each}] * 3
    assert _pipeline(db, a)["score"] - base_line["score"] == pytest.approx(each)
    pd.testing.assert_frame_equal(_segments(db, b), other)

    set_danger_status(db, danger, "rectified", DAY)
    score(db, MODEL, DAY)
    rectified = _segments(db, a)
    assert (opened["score"] - rectified["score"]).tolist() == pytest.approx([each * (1 - share)] * 3)

    set_danger_status(db, danger, "verified", DAY)
    score(db, MODEL, DAY)
    verified = _segments(db, a)
    assert (rectified["score"] - verified["score"]).tolist() == pytest.approx([each * share] * 3)
    assert verified["score"].tolist() == pytest.approx(base["score"].tolist())
    assert _pipeline(db, a)["score"] == pytest.approx(base_line["score"])


def test_an_overdue_danger_raises_the_line_from_the_day_after_its_deadline(lines):
    """A danger open past its deadline of 15 June adds [pipeline.overdue_hidden_dangers] points_each as of 16
    June, on an incremental run that only moved the date (the date event reaches line A's segments)."""
    db, a, _ = lines
    add_danger(db, "pipeline", a, dt.date(2026, 5, 1), deadline=dt.date(2026, 6, 15))
    score(db, MODEL, dt.date(2026, 6, 15))
    on_deadline, line_on_deadline = _segments(db, a), _pipeline(db, a)
    assert {f["overdue_hidden_dangers"]["points"] for f in on_deadline["factors"]} == {0}

    summary = score(db, MODEL, dt.date(2026, 6, 16))
    assert not summary.full and summary.scored["pipeline_segment"] == 3
    after = _segments(db, a)
    overdue = P["overdue_hidden_dangers"]["points_each"]
    assert (after["score"] - on_deadline["score"]).tolist() == pytest.approx([overdue] * 3)
    assert _pipeline(db, a)["score"] - line_on_deadline["score"] == pytest.approx(overdue)


def test_an_open_major_danger_makes_the_line_red_until_verified(lines):
    """A major hidden danger on line A makes each of its segments, and the line, red directly (domain.md §2,
    §8), still after the rectification, no longer after the verification."""
    db, a, b = lines
    danger = add_danger(db, "pipeline", a, dt.date(2026, 5, 1), grade="major")
    score(db, MODEL, DAY)
    segments = _segments(db, a)
    assert set(segments["level"]) == {"red"}
    assert all("open major hidden danger" in r for r in segments["direct_red"])
    assert _pipeline(db, a)["level"] == "red"
    assert "red" not in set(_segments(db, b)["level"])
    set_danger_status(db, danger, "rectified", DAY)
    score(db, MODEL, DAY)
    assert _pipeline(db, a)["level"] == "red"
    set_danger_status(db, danger, "verified", DAY)
    score(db, MODEL, DAY)
    assert "red" not in set(_segments(db, a)["level"]) and _pipeline(db, a)["direct_red"] is None


def test_a_suspension_in_force_sets_the_status_multiplier_until_lifted(lines):
    """A production suspension (停产整顿) decided on 10 May and lifted on 10 June: as of 1 June each segment of
    line A scores (base + the violation's points) × the suspended multiplier, its status factor says
    suspended; as of 10 June (an incremental run that only moved the date) the operating multiplier is back and
    the enforcement action still counts as a violation of the last 12 months."""
    db, a, _ = lines
    base = _segments(db, a)
    action = add_enforcement(db, "pipeline", a, dt.date(2026, 5, 10), measure="suspension")
    score(db, MODEL, DAY)
    suspended = _segments(db, a)
    violation = P["violations"]["points_each"]
    multiplier = P["status_multiplier"]["suspended"]
    assert multiplier != 1.0
    assert suspended["score"].tolist() == pytest.approx(((base["score"] + violation) * multiplier).tolist())
    assert {f["status"]["value"] for f in suspended["factors"]} == {"suspended"}
    assert [f["violations_12m"] for f in suspended["factors"]] == [{"value": 1, "points": violation}] * 3

    lift_enforcement(db, action, dt.date(2026, 6, 10))
    score(db, MODEL, dt.date(2026, 6, 9))
    assert _segments(db, a)["score"].tolist() == pytest.approx(suspended["score"].tolist())  # not yet lifted
    summary = score(db, MODEL, dt.date(2026, 6, 10))
    assert not summary.full and summary.scored["pipeline_segment"] == 3
    lifted = _segments(db, a)
    assert {f["status"]["value"] for f in lifted["factors"]} == {"operating"}
    assert lifted["score"].tolist() == pytest.approx((base["score"] + violation).tolist())


def test_a_closure_outranks_a_suspension_and_a_closed_line_stays_closed(db):
    """A closure in force (关闭取缔) sets the closed multiplier over a suspension in force; a line the register
    lists as closed keeps its multiplier under a suspension order (the lower one wins)."""
    a = add_pipeline(db, [(118.400, 39.600), (118.4117, 39.600)])
    closed = add_pipeline(db, [(118.600, 39.700), (118.6117, 39.700)], status="closed")
    add_enforcement(db, "pipeline", a, dt.date(2026, 5, 1), measure="suspension")
    add_enforcement(db, "pipeline", a, dt.date(2026, 5, 2), measure="closure")
    add_enforcement(db, "pipeline", closed, dt.date(2026, 5, 1), measure="suspension")
    score(db, MODEL, DAY, full=True)
    assert {f["status"]["value"] for f in _segments(db, a)["factors"]} == {"closed"}
    assert {f["status"]["value"] for f in _segments(db, closed)["factors"]} == {"closed"}


def test_the_last_inspection_sets_the_patrol_item_by_its_age(lines):
    """An inspection of line A on 25 May raises the patrol item of the third-party index from the default to
    the first band's points (as of 1 June: 7 days), so the index sum rises by the difference; 31 days after the
    inspection (an incremental run that only moved the date) the second band's points apply.  A line without
    an inspection keeps the default."""
    db, a, b = lines
    default = P["relative_risk"]["third_party"]["patrol"]
    first, second = P["patrol"]["points"][:2]
    within = P["patrol"]["within_days"][0]
    base = _segments(db, a)
    add_inspection(db, "pipeline", a, dt.date(2026, 5, 25))
    score(db, MODEL, DAY)
    recent = _segments(db, a)
    for before, now in zip(base["factors"], recent["factors"], strict=True):
        assert now["index_sum"]["value"] - before["index_sum"]["value"] == pytest.approx(first - default, abs=1e-5)
        assert now["patrol_inspection_age"]["value"] == 7
    assert (recent["score"] <= base["score"] + 1e-9).all()  # more patrol, a safer index: never a higher score

    summary = score(db, MODEL, dt.date(2026, 5, 25) + dt.timedelta(days=within + 1))
    assert summary.scored.get("pipeline_segment") == 3
    later = _segments(db, a)
    for before, now in zip(base["factors"], later["factors"], strict=True):
        assert now["index_sum"]["value"] - before["index_sum"]["value"] == pytest.approx(second - default, abs=1e-5)
    assert all(f["patrol_inspection_age"]["value"] is None for f in _segments(db, b)["factors"])
