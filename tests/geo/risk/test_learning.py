"""Risk that learns from the records (issue 14 item 5), end to end on a real PostGIS: records written with plain
SQL change the scores of their sites by exactly the documented points, on incremental runs that see them, with
dates passed in (never today's)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from data.loader import load_demo
from geo.risk.config import load_model
from geo.risk.scoring import score
from geo.risk.store import query_frame
from tests.geo.risk.record_rows import (
    add_danger,
    add_enforcement,
    add_enterprise,
    add_inspection,
    add_tailings_pond,
    add_venue,
    lift_enforcement,
    set_danger_status,
)

MODEL = load_model()
E = MODEL["enterprise"]
DAY = dt.date(2026, 6, 1)


def _row(db, kind: str, feature_id: int) -> dict:
    f = query_frame(db, "SELECT score, level, direct_red, factors::text AS factors FROM feature_risk "
                        "WHERE kind = %(k)s AND feature_id = %(i)s", {"k": kind, "i": feature_id})
    assert len(f) == 1, f"no score for {kind} {feature_id}"
    row = f.iloc[0].to_dict()
    row["factors"] = {name: {"value": v, "points": p, "assumed": a} for name, v, p, a in json.loads(row["factors"])}
    return row


def _score(db, as_of: dt.date, **kw):
    return score(db, MODEL, as_of, **kw)


@pytest.fixture
def two_sites(db):
    """Two enterprises 5 km apart (no people, no chemicals), scored in full as of DAY from the register."""
    a = add_enterprise(db, 118.10, 39.60)
    b = add_enterprise(db, 118.16, 39.60)
    _score(db, DAY, full=True)
    return db, a, b


def test_records_replace_the_register_counts(two_sites):
    """A site with a record takes its dangers, violations and last inspection from the records (not assumed):
    the register's 4 open dangers and 1 violation no longer count, the inspection is the recorded one; the other
    site keeps its register values."""
    db, a, b = two_sites
    before = _row(db, "enterprise", a)
    assert before["factors"]["open_hidden_dangers"]["value"] == 4
    assert before["factors"]["violations_12m"]["value"] == 1
    add_inspection(db, "enterprise", a, dt.date(2026, 5, 1))
    summary = _score(db, DAY)
    assert not summary.full and summary.scored["enterprise"] == 1
    after = _row(db, "enterprise", a)
    f = after["factors"]
    assert f["open_hidden_dangers"] == {"value": 0, "points": 0, "assumed": False}
    assert f["violations_12m"] == {"value": 0, "points": 0, "assumed": False}
    assert f["inspection_age"]["value"] == pytest.approx(31 / 365, abs=1e-6)  # (factors keep 6 decimals)
    # industry 3 + inspection 5 × 31/365 (no hazard, no flexible workers)
    assert after["score"] == pytest.approx(3 + 5 * 31 / 365)
    assert _row(db, "enterprise", b)["factors"]["open_hidden_dangers"] == {"value": 4, "points": 10,
                                                                           "assumed": False}


def test_a_hidden_danger_raises_the_score_and_its_verification_lowers_it_by_the_documented_points(two_sites):
    """An open hidden danger adds points_each; the enterprise's rectification takes off points_each × (1 −
    rectified_share); the supervisor's verification the rest, points_each × rectified_share, back to where the site
    was (model.toml [enterprise.hidden_dangers])."""
    db, a, _ = two_sites
    each, share = E["hidden_dangers"]["points_each"], E["hidden_dangers"]["rectified_share"]
    add_inspection(db, "enterprise", a, dt.date(2026, 5, 1))
    _score(db, DAY)
    base = _row(db, "enterprise", a)["score"]

    danger = add_danger(db, "enterprise", a, dt.date(2026, 5, 1), deadline=dt.date(2026, 7, 1))
    _score(db, DAY)
    opened = _row(db, "enterprise", a)
    assert opened["score"] - base == pytest.approx(each)
    assert opened["factors"]["open_hidden_dangers"]["points"] == pytest.approx(each)

    set_danger_status(db, danger, "rectified", DAY)
    _score(db, DAY)
    rectified = _row(db, "enterprise", a)["score"]
    assert opened["score"] - rectified == pytest.approx(each * (1 - share))

    set_danger_status(db, danger, "verified", DAY)
    _score(db, DAY)
    verified = _row(db, "enterprise", a)["score"]
    assert rectified - verified == pytest.approx(each * share)
    assert verified == pytest.approx(base)


def test_a_danger_becomes_overdue_as_the_date_passes_its_deadline(two_sites):
    """An open danger with a deadline of 15 June scores no overdue points as of 15 June and the overdue points
    (model.toml [enterprise.overdue_hidden_dangers]) as of 16 June, on an incremental run that only moved the
    date; the score rises by those points and one more day of inspection age."""
    db, a, b = two_sites
    add_inspection(db, "enterprise", a, dt.date(2026, 5, 1))
    add_danger(db, "enterprise", a, dt.date(2026, 5, 1), deadline=dt.date(2026, 6, 15))
    _score(db, dt.date(2026, 6, 15))
    on_deadline = _row(db, "enterprise", a)
    assert on_deadline["factors"]["overdue_hidden_dangers"]["points"] == 0

    summary = _score(db, dt.date(2026, 6, 16))
    assert not summary.full and summary.scored["enterprise"] == 1  # the date event reached that site only
    after = _row(db, "enterprise", a)
    overdue = E["overdue_hidden_dangers"]["points_each"]
    assert after["factors"]["overdue_hidden_dangers"] == {"value": 1, "points": overdue, "assumed": False}
    per_day = E["inspection"]["points_per_year"] / 365
    assert after["score"] - on_deadline["score"] == pytest.approx(overdue + per_day)

    # verified the next day: the open and the overdue points go
    danger_id = query_frame(db, "SELECT id FROM hidden_danger")["id"][0]
    set_danger_status(db, int(danger_id), "verified", dt.date(2026, 6, 17))
    _score(db, dt.date(2026, 6, 17))
    verified = _row(db, "enterprise", a)
    assert after["score"] - verified["score"] == pytest.approx(
        overdue + E["hidden_dangers"]["points_each"] - per_day)


def test_scoring_as_of_an_earlier_date_does_not_see_later_records(two_sites):
    """Records dated after the scoring date do not count: a danger found on 10 June is not open as of 5 June, and
    one verified on 10 June is still open then (its status as of the date, from its dates)."""
    db, a, b = two_sites
    add_inspection(db, "enterprise", a, dt.date(2026, 5, 1))
    add_danger(db, "enterprise", a, dt.date(2026, 6, 10))
    early = add_danger(db, "enterprise", b, dt.date(2026, 5, 1))
    set_danger_status(db, early, "verified", dt.date(2026, 6, 10))
    _score(db, dt.date(2026, 6, 5), full=True)
    assert _row(db, "enterprise", a)["factors"]["open_hidden_dangers"]["value"] == 0
    assert _row(db, "enterprise", b)["factors"]["open_hidden_dangers"]["value"] == 1
    _score(db, dt.date(2026, 6, 12))  # the date moves past both: an incremental run sees it
    assert _row(db, "enterprise", a)["factors"]["open_hidden_dangers"]["value"] == 1
    assert _row(db, "enterprise", b)["factors"]["open_hidden_dangers"]["value"] == 0


def test_violations_are_the_enforcement_actions_of_the_last_12_months(two_sites):
    """Two enforcement actions within 365 days count 2 violations (3 points each); a year after the first it
    leaves the window, on an incremental run that only moved the date."""
    db, a, _ = two_sites
    add_enforcement(db, "enterprise", a, dt.date(2025, 7, 1))
    add_enforcement(db, "enterprise", a, dt.date(2026, 3, 1), measure="fine")
    _score(db, DAY)
    f = _row(db, "enterprise", a)["factors"]
    assert f["violations_12m"] == {"value": 2, "points": 2 * E["violations"]["points_each"], "assumed": False}
    _score(db, dt.date(2026, 7, 1))  # 2025-07-01 + 365 days
    assert _row(db, "enterprise", a)["factors"]["violations_12m"]["value"] == 1


def test_an_open_major_danger_in_the_records_is_direct_red_until_verified(two_sites):
    """A major hidden danger makes an enterprise red directly, still after its rectification, and no longer after
    its verification (domain.md §8: closed by verification)."""
    db, a, _ = two_sites
    danger = add_danger(db, "enterprise", a, dt.date(2026, 5, 1), grade="major")
    _score(db, DAY)
    row = _row(db, "enterprise", a)
    assert row["level"] == "red" and row["direct_red"]
    set_danger_status(db, danger, "rectified", DAY)
    _score(db, DAY)
    assert _row(db, "enterprise", a)["level"] == "red"
    set_danger_status(db, danger, "verified", DAY)
    _score(db, DAY)
    row = _row(db, "enterprise", a)
    assert row["level"] != "red" and row["direct_red"] is None


def test_ponds_and_venues_learn_from_their_records(db):
    """A pond whose register says a major danger is open but whose records hold none is not red (records first);
    a venue with an open major danger in its records is red, and a general overdue danger adds its points."""
    pond = add_tailings_pond(db, 118.3, 39.9, major_hidden_danger=True)
    venue = add_venue(db, 118.2, 39.6)
    _score(db, DAY, full=True)
    assert _row(db, "tailings_pond", pond)["level"] == "red"
    venue_before = _row(db, "venue", venue)
    assert venue_before["level"] != "red"

    add_inspection(db, "tailings_pond", pond, dt.date(2026, 5, 20))
    add_danger(db, "venue", venue, dt.date(2026, 5, 1), grade="major")
    general = add_danger(db, "venue", venue, dt.date(2026, 5, 1), deadline=dt.date(2026, 5, 15))
    _score(db, DAY)
    pond_row = _row(db, "tailings_pond", pond)
    assert pond_row["direct_red"] is None and pond_row["factors"]["major_hidden_danger"]["points"] == 0
    venue_row = _row(db, "venue", venue)
    assert venue_row["level"] == "red" and "major hidden danger" in venue_row["direct_red"]
    p = MODEL["venue"]
    assert venue_row["factors"]["open_hidden_dangers"]["points"] == pytest.approx(
        2 * p["hidden_dangers"]["points_each"])
    assert venue_row["factors"]["overdue_hidden_dangers"]["points"] == pytest.approx(
        p["overdue_hidden_dangers"]["points_each"])
    set_danger_status(db, general, "verified", DAY)
    _score(db, DAY)
    assert venue_row["score"] - _row(db, "venue", venue)["score"] == pytest.approx(
        p["hidden_dangers"]["points_each"] + p["overdue_hidden_dangers"]["points_each"])


def test_truncating_a_record_table_makes_the_next_run_full(two_sites):
    """A TRUNCATE of hidden dangers cannot say which sites it touched: the next run recomputes everything."""
    db, a, _ = two_sites
    add_danger(db, "enterprise", a, dt.date(2026, 5, 1))
    _score(db, DAY)
    with db.cursor() as cur:
        cur.execute("TRUNCATE hidden_danger CASCADE")
    db.commit()
    assert _score(db, DAY).full
    assert _row(db, "enterprise", a)["factors"]["open_hidden_dangers"]["value"] == 4  # the register again


def _features(db) -> pd.DataFrame:
    f = query_frame(db, """
        SELECT r.kind, coalesce(g.pipeline_id || ':' || g.seq, r.feature_id::text) AS key, r.score, r.level,
               r.direct_red, r.factors::text AS factors
        FROM feature_risk r LEFT JOIN pipeline_segment g ON r.kind = 'pipeline_segment' AND g.id = r.feature_id
        ORDER BY 1, 2""")
    f["score"] = f["score"].round(9)
    return f.reset_index(drop=True)


def _areas(db) -> pd.DataFrame:
    a = query_frame(db, "SELECT area_type, resolution, area_id, score, level, counts::text AS counts, features, "
                        "population_exposed FROM area_risk ORDER BY 1, 2, 3")
    return a.round({"score": 6, "population_exposed": 6}).reset_index(drop=True)


def test_incremental_scoring_after_record_changes_equals_a_full_recompute(db):
    """On the demo, records added to 63 sites of four classes (dangers open, overdue, major, rectified and
    verified; inspections; enforcement actions, suspensions of pipelines, one lifted), then some deleted and one
    moved to another site: the incremental run re-scores only those sites (a pipeline: all its segments), and
    its features and areas equal a full recompute's as of the same date.  Then the date moves three weeks (a
    suspension is lifted, inspections change patrol band): the incremental run's pipelines and segments equal a
    full recompute's (the other classes' inspection age moves every day: only full runs bring it up to date)."""
    as_of = dt.date(2026, 11, 29)
    load_demo(db)
    score(db, MODEL, as_of, full=True)
    sites = query_frame(db, "(SELECT 'enterprise' AS kind, id FROM enterprise ORDER BY id LIMIT 30) UNION ALL "
                            "(SELECT 'tailings_pond', id FROM tailings_pond ORDER BY id LIMIT 15) UNION ALL "
                            "(SELECT 'venue', id FROM venue ORDER BY id LIMIT 15) UNION ALL "
                            "(SELECT 'pipeline', id FROM pipeline ORDER BY id LIMIT 3)")
    lines = [int(i) for i in sites.loc[sites["kind"] == "pipeline", "id"]]
    segments = int(query_frame(db, "SELECT count(*) AS n FROM pipeline_segment WHERE pipeline_id = ANY(%(p)s)",
                               {"p": lines})["n"][0])
    dangers = []
    for n, (kind, site) in enumerate(sites.itertuples(index=False)):
        site = int(site)
        add_inspection(db, kind, site, as_of - dt.timedelta(days=20 + n))
        d = add_danger(db, kind, site, as_of - dt.timedelta(days=60), deadline=as_of - dt.timedelta(days=n % 3),
                       grade="major" if n % 7 == 0 else "general")
        dangers.append(d)
        if n % 4 == 1:
            set_danger_status(db, d, "rectified", as_of - dt.timedelta(days=1))
        if n % 4 == 2:
            set_danger_status(db, d, "verified", as_of - dt.timedelta(days=1))
        if n % 5 == 0:
            add_enforcement(db, kind, site, as_of - dt.timedelta(days=100))
    suspended = add_enforcement(db, "pipeline", lines[0], as_of - dt.timedelta(days=30), measure="suspension")
    lift_enforcement(db, suspended, as_of + dt.timedelta(days=10))
    add_enforcement(db, "pipeline", lines[1], as_of - dt.timedelta(days=5), measure="closure")
    with db.cursor() as cur:
        cur.execute("DELETE FROM inspection WHERE id IN (SELECT id FROM inspection ORDER BY id LIMIT 5)")
        cur.execute("UPDATE hidden_danger SET site_id = (SELECT max(id) FROM enterprise) WHERE id = %s",
                    (dangers[3],))
    db.commit()

    summary = score(db, MODEL, as_of)
    assert not summary.full
    assert summary.scored["pipeline_segment"] >= segments
    assert 0 < sum(summary.scored.values()) - summary.scored["pipeline_segment"] < 400
    incremental = _features(db), _areas(db)
    assert (query_frame(db, "SELECT count(*) AS n FROM feature_risk WHERE direct_red LIKE '%%hidden danger%%' "
                            "OR direct_red LIKE '%%重大事故隐患%%'")["n"][0] > 0)
    score(db, MODEL, as_of, full=True)
    pd.testing.assert_frame_equal(incremental[0], _features(db))
    pd.testing.assert_frame_equal(incremental[1], _areas(db))

    def lines_now():
        f = _features(db)
        return f[f["kind"].isin(["pipeline", "pipeline_segment"])].reset_index(drop=True)

    later = as_of + dt.timedelta(days=21)
    summary = score(db, MODEL, later)
    assert not summary.full and summary.scored["pipeline_segment"] >= segments
    incremental_lines = lines_now()
    score(db, MODEL, later, full=True)
    pd.testing.assert_frame_equal(incremental_lines, lines_now())
