"""The score history (migration 0014, geo/risk/history.py) on a real PostGIS: what each scoring run appends (only
the features it changed), a feature's history, and the monthly series of an admin area."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from geo.risk import history
from geo.risk.config import load_model
from geo.risk.scoring import score
from geo.risk.store import query_frame
from tests.geo.risk.record_rows import add_danger, add_enterprise, add_inspection, add_venue

MODEL = load_model()


def _history(db):
    return query_frame(db, "SELECT run, kind, feature_id, as_of::text AS as_of, score, level, lon, lat "
                           "FROM score_history ORDER BY run, kind, feature_id", column_types={"as_of": pa.string()})


def _add_county(db, code: str, x0: float, y0: float, x1: float, y1: float) -> None:
    with db.cursor() as cur:
        cur.execute("INSERT INTO area (source_id, name, admin_code, level, geom) VALUES (%s, %s, %s, 'county', "
                    "ST_MakeEnvelope(%s, %s, %s, %s, 4326))", (code, f"county {code}", code, x0, y0, x1, y1))
    db.commit()


def test_each_run_appends_only_the_features_it_changed(db):
    """A first run appends every scored site with its score, level, date and point; a run with nothing changed,
    and a full run that changes nothing, append nothing; a record that changes one site's score appends that site
    alone; a deleted site gets an entry without score."""
    a = add_enterprise(db, 118.10, 39.60)
    b = add_enterprise(db, 118.16, 39.60)
    v = add_venue(db, 118.12, 39.62)
    first = score(db, MODEL, dt.date(2026, 1, 31), full=True)
    rows = _history(db)
    assert first.history == 3 == len(rows)
    assert set(zip(rows["kind"], rows["feature_id"], strict=True)) == {("enterprise", a), ("enterprise", b),
                                                                      ("venue", v)}
    assert set(rows["as_of"]) == {"2026-01-31"}
    stored = query_frame(db, "SELECT kind, feature_id, score, level, lon, lat FROM feature_risk "
                             "WHERE kind <> 'pipeline_segment' ORDER BY kind, feature_id")
    assert rows[["score", "level", "lon", "lat"]].values.tolist() == stored[["score", "level", "lon", "lat"]
                                                                            ].values.tolist()

    assert score(db, MODEL, dt.date(2026, 1, 31)).history == 0
    assert score(db, MODEL, dt.date(2026, 1, 31), full=True).history == 0
    assert len(_history(db)) == 3

    add_inspection(db, "enterprise", a, dt.date(2026, 2, 1))
    changed = score(db, MODEL, dt.date(2026, 2, 28))
    rows = _history(db)
    assert changed.history == 1 and len(rows) == 4
    last = rows.iloc[-1]
    assert (last["kind"], last["feature_id"], last["as_of"]) == ("enterprise", a, "2026-02-28")

    with db.cursor() as cur:
        cur.execute("DELETE FROM enterprise WHERE id = %s", (b,))
    db.commit()
    score(db, MODEL, dt.date(2026, 3, 31))
    gone = history.feature_history(db, "enterprise", b)
    assert len(gone) == 2 and gone["score"].isna().tolist() == [False, True]
    assert gone["level"].isna().tolist() == [False, True]
    assert gone["as_of"].tolist() == ["2026-01-31", "2026-03-31"]


def test_a_failed_run_leaves_no_history(db):
    """The history is written in the run's transaction: a run that fails appends nothing."""
    add_enterprise(db, 118.10, 39.60)
    broken = load_model()
    broken["enterprise"]["hidden_dangers"]["rectified_share"] = 2.0  # refused by the rule
    with pytest.raises(ValueError, match="rectified_share"):
        score(db, broken, dt.date(2026, 1, 31), full=True)
    assert len(_history(db)) == 0


def test_the_monthly_series_of_an_area_counts_the_state_at_each_months_end(db):
    """Three sites in a county, one outside; runs as of 31 January, 28 February and 31 March, with a major hidden
    danger making one site red from February and that site deleted in March: each month's counts per level and
    mean score are those of the scores valid at its last day; a month before the first run is empty."""
    _add_county(db, "100001", 118.0, 39.5, 118.3, 39.7)
    a = add_enterprise(db, 118.10, 39.60)
    b = add_enterprise(db, 118.16, 39.60)
    add_enterprise(db, 118.20, 39.65)
    add_enterprise(db, 119.00, 40.00)  # outside the county
    score(db, MODEL, dt.date(2026, 1, 31), full=True)
    january = query_frame(db, "SELECT score, level FROM feature_risk WHERE kind = 'enterprise' AND "
                              "ST_Covers(ST_MakeEnvelope(118.0, 39.5, 118.3, 39.7, 4326), "
                              "ST_SetSRID(ST_MakePoint(lon, lat), 4326))")
    assert len(january) == 3
    add_danger(db, "enterprise", a, dt.date(2026, 2, 10), grade="major")
    score(db, MODEL, dt.date(2026, 2, 28))
    february = query_frame(db, "SELECT feature_id, score, level FROM feature_risk WHERE kind = 'enterprise' AND "
                               "feature_id <> (SELECT max(id) FROM enterprise)")
    with db.cursor() as cur:
        cur.execute("DELETE FROM enterprise WHERE id = %s", (b,))
    db.commit()
    score(db, MODEL, dt.date(2026, 3, 31))

    series = history.area_series(db, "100001", dt.date(2025, 12, 1), dt.date(2026, 4, 1))
    assert series["month"].tolist() == ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]
    assert series["features"].tolist() == [0, 3, 3, 2, 2]
    assert series["red"].tolist() == [0, 0, 1, 1, 1]
    assert series["mean_score"].iloc[1] == pytest.approx(january["score"].mean())
    assert series["mean_score"].iloc[2] == pytest.approx(february["score"].mean())
    remaining = february[february["feature_id"] != b]
    assert series["mean_score"].iloc[3] == pytest.approx(remaining["score"].mean())
    levels = january["level"].value_counts()
    assert series[["red", "orange", "yellow", "blue"]].iloc[1].sum() == 3
    assert series["blue"].iloc[1] == levels.get("blue", 0)


def test_changed_rows_keep_new_changed_and_removed_features_only():
    """Of four features before and four now: the unchanged one and the one moved by less than 1e-9 are left
    out; a changed score, a changed level alone, a new feature and a removed one (empty score, level and point)
    are kept."""
    import pandas as pd

    before = pd.DataFrame({"kind": ["enterprise"] * 4 + ["venue"], "feature_id": [1, 2, 3, 4, 9],
                           "score": [10.0, 20.0, 30.0, 40.0, 5.0],
                           "level": ["blue", "blue", "yellow", "yellow", "blue"]})
    now = pd.DataFrame({"kind": ["enterprise"] * 4 + ["venue"], "feature_id": [1, 2, 3, 5, 9],
                        "score": [10.0, 21.0, 30.0, 50.0, 5.0 + 1e-12],
                        "level": ["blue", "blue", "red", "orange", "blue"],
                        "lon": [118.0] * 5, "lat": [39.0] * 5})
    rows = history.changed_rows(before, now)
    assert list(zip(rows["kind"], rows["feature_id"], strict=True)) == [
        ("enterprise", 2), ("enterprise", 3), ("enterprise", 4), ("enterprise", 5)]
    removed = rows[rows["feature_id"] == 4].iloc[0]
    assert pd.isna(removed["score"]) and pd.isna(removed["level"]) and pd.isna(removed["lon"])
    assert rows.loc[rows["feature_id"] == 3, "level"].item() == "red"
