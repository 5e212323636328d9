"""Scoring the feature store end to end on a real PostGIS: full runs, incremental runs, model changes."""

from __future__ import annotations

import json

import pandas as pd

from geo import store
from geo.importer import import_file
from geo.risk.config import load_model
from geo.risk.scoring import score
from geo.risk.store import query_frame
from tests.conftest import DEMO_AS_OF

AS_OF = DEMO_AS_OF  # 2026-11-29


def _features(db) -> pd.DataFrame:
    """Feature results keyed by stable ids (segments by pipeline and sequence: their row ids change when re-cut)."""
    f = query_frame(db, """
        SELECT r.kind, coalesce(g.pipeline_id || ':' || g.seq, r.feature_id::text) AS key, r.score, r.level,
               r.direct_red, r.factors::text AS factors, r.details::text AS details
        FROM feature_risk r LEFT JOIN pipeline_segment g ON r.kind = 'pipeline_segment' AND g.id = r.feature_id
        ORDER BY 1, 2""")
    f["score"] = f["score"].round(9)
    return f.reset_index(drop=True)


def _areas(db) -> pd.DataFrame:
    a = query_frame(db, "SELECT area_type, resolution, area_id, score, level_max, level_banded, level, "
                        "counts::text AS counts, features, population_exposed FROM area_risk ORDER BY 1, 2, 3")
    a["score"] = a["score"].round(6)
    a["population_exposed"] = a["population_exposed"].round(6)
    return a.reset_index(drop=True)


def _exposure(db) -> pd.DataFrame:
    e = query_frame(db, "SELECT cell, value, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM exposure_cell ORDER BY cell")
    return e.round({"value": 6, "lon": 9, "lat": 9}).reset_index(drop=True)


def test_full_scoring_stores_scores_factors_areas_and_exposure(demo_db):
    """Every demo feature gets a score, a level and its factors (defined in risk_factor_def for the model
    version); every county and H3 resolution gets area rows; the exposure surface is not empty."""
    db = demo_db
    model = load_model()
    counts = query_frame(db, "SELECT kind, count(*) AS n FROM feature_risk GROUP BY kind").set_index("kind")["n"]
    assert counts["enterprise"] == 3000 and counts["tailings_pond"] == 250 and counts["venue"] == 800
    assert counts["pipeline"] == 25 and counts["pipeline_segment"] > 25
    levels = set(query_frame(db, "SELECT DISTINCT level FROM feature_risk")["level"])
    assert levels == {"red", "orange", "yellow", "blue"}
    row = query_frame(db, "SELECT factors::text AS f, model_version FROM feature_risk WHERE kind = 'enterprise' "
                          "LIMIT 1").iloc[0]
    factors = json.loads(row["f"])
    assert row["model_version"] == model["version"]
    # each factor is [name, value, points, assumed]
    assert all(len(f) == 4 and isinstance(f[0], str) and isinstance(f[2], (int, float)) and isinstance(f[3], bool)
               for f in factors)
    defined = set(query_frame(db, "SELECT factor FROM risk_factor_def WHERE kind = 'enterprise' AND "
                                  "model_version = %(v)s", {"v": model["version"]})["factor"])
    assert {f[0] for f in factors} <= defined
    # every row's factors are stored by points, highest first (ties by name): the order migration 0007 gives
    unordered = query_frame(db, """
        SELECT count(*) AS n FROM feature_risk
        WHERE factors <> (SELECT jsonb_agg(e.f ORDER BY (e.f ->> 2)::double precision DESC NULLS LAST, e.f ->> 0)
                          FROM jsonb_array_elements(factors) AS e(f))""")["n"][0]
    assert unordered == 0
    areas = query_frame(db, "SELECT area_type, resolution, count(*) AS n FROM area_risk GROUP BY 1, 2")
    assert areas.query("area_type == 'admin'")["n"].sum() == 14
    assert set(areas.query("area_type == 'h3'")["resolution"]) == set(model["area"]["h3_resolutions"])
    assert query_frame(db, "SELECT count(*) AS n FROM exposure_cell")["n"][0] > 100
    # direct-red rules really fire on the synthetic data and are recorded
    assert query_frame(db, "SELECT count(*) AS n FROM feature_risk WHERE direct_red IS NOT NULL")["n"][0] > 0


def test_nothing_changed_means_nothing_rescored(demo_db):
    """A second run with no edits re-scores nothing."""
    summary = score(demo_db, load_model(), AS_OF)
    assert not summary.full and sum(summary.scored.values()) == 0


def test_incremental_rescoring_equals_a_full_recompute(demo_db, tmp_path):
    """After edits (more people in some settlements, a new chemical site, a deleted venue, a moved pipeline), an
    incremental run re-scores only part of the data, and its results equal a full recompute's."""
    db = demo_db
    before = _features(db)
    settlements = query_frame(db, "SELECT source_id, name, population, ST_X(geom) AS lon, ST_Y(geom) AS lat "
                                  "FROM settlement WHERE population IS NOT NULL ORDER BY id LIMIT 40")
    settlements["population"] = settlements["population"] * 5
    settlements.to_csv(tmp_path / "more_people.csv", index=False)
    import_file(db, tmp_path / "more_people.csv", "settlement")
    (tmp_path / "chem.csv").write_text(
        "id,name,industry,chemicals,lon,lat\nnew-1,新化工（合成）,hazardous_chemicals,\"氯:30;氨:200\","
        f"{settlements['lon'][0] + 0.002},{settlements['lat'][0]}\n", encoding="utf-8")
    import_file(db, tmp_path / "chem.csv", "enterprise")
    with db.cursor() as cur:
        cur.execute("DELETE FROM venue WHERE id = (SELECT min(id) FROM venue)")
        cur.execute("UPDATE pipeline SET geom = ST_Translate(geom, 0.01, 0.0) "
                    "WHERE id = (SELECT min(id) FROM pipeline)")
    db.commit()

    summary = score(db, load_model(), AS_OF, full_share=1.0)  # (these edits reach a third of the small demo)
    assert not summary.full
    assert 0 < summary.scored["enterprise"] < 1500 and summary.scored["venue"] < 400
    incremental_features, incremental_areas, incremental_exposure = _features(db), _areas(db), _exposure(db)
    assert not incremental_features.equals(before)  # the edits changed something

    full = score(db, load_model(), AS_OF, full=True)
    assert full.full
    pd.testing.assert_frame_equal(incremental_features, _features(db))
    pd.testing.assert_frame_equal(incremental_areas, _areas(db))
    # (a full run aggregates from the results in memory, an incremental one from the database: same answer)
    pd.testing.assert_frame_equal(incremental_exposure, _exposure(db))


def test_changing_a_model_parameter_changes_the_scores(demo_db, tmp_path):
    """A user's model file with more points for hazardous-chemical sites raises exactly those sites' scores,
    and the new version is recorded (a new version forces a full recompute)."""
    db = demo_db
    model_text = (load_model.__globals__["shipped_model_path"]()).read_text(encoding="utf-8")
    model = load_model()
    old = model["enterprise"]["industry"]["points"]["hazardous_chemicals"]
    changed = model_text.replace('version = "', 'version = "test-', 1)
    path = tmp_path / "model.toml"
    path.write_text(changed, encoding="utf-8")
    custom = load_model(path)
    custom["enterprise"]["industry"]["points"]["hazardous_chemicals"] = old + 10
    before = query_frame(db, "SELECT r.feature_id, r.score, e.industry FROM feature_risk r JOIN enterprise e "
                             "ON e.id = r.feature_id WHERE r.kind = 'enterprise'").set_index("feature_id")
    summary = score(db, custom, AS_OF)
    assert summary.full
    after = query_frame(db, "SELECT feature_id, score, model_version FROM feature_risk WHERE kind = 'enterprise'"
                        ).set_index("feature_id")
    assert set(after["model_version"]) == {custom["version"]}
    delta = (after["score"] - before["score"]).round(9)
    chem = before["industry"] == "hazardous_chemicals"
    assert (delta[chem] >= 0).all() and (delta[chem] > 0).any()
    assert (delta[~chem] == 0).all()


def test_removing_the_top_site_of_a_county_updates_its_area_like_a_full_run(demo_db):
    """Deleting the highest-scoring enterprise of a county (a top score leaving the area, so the next best
    must be read again) and lowering another's register counts leave every area row as a full run gives."""
    db = demo_db
    with db.cursor() as cur:
        cur.execute("""SELECT e.id FROM enterprise e
                       JOIN feature_risk r ON r.kind = 'enterprise' AND r.feature_id = e.id
                       JOIN area a ON a.level = 'county' AND ST_Intersects(a.geom, ST_PointOnSurface(e.geom))
                       ORDER BY r.score DESC LIMIT 2""")
        top, second = (row[0] for row in cur.fetchall())
        cur.execute("DELETE FROM enterprise WHERE id = %s", (top,))
        cur.execute("UPDATE enterprise SET violations_12m = 0, open_hidden_dangers = 0, major_hidden_danger = false "
                    "WHERE id = %s", (second,))
    db.commit()
    summary = score(db, load_model(), AS_OF)
    assert not summary.full and summary.changes >= 3  # the delete's extent and id, the update's extents
    incremental = _areas(db)
    assert score(db, load_model(), AS_OF, full=True).full
    pd.testing.assert_frame_equal(incremental, _areas(db))


def test_a_change_reaching_most_features_is_scored_in_full(demo_db):
    """When the changes reach more than the given share (and number) of the features, the run is a full one
    (cheaper than re-scoring them one by one), and each run is recorded in score_run."""
    db = demo_db
    with db.cursor() as cur:
        cur.execute("UPDATE settlement SET population = population + 1 WHERE id IN "
                    "(SELECT id FROM settlement ORDER BY id LIMIT 50)")
    db.commit()
    summary = score(db, load_model(), AS_OF, full_share=0.0, full_min=0)
    assert summary.full and summary.changes > 0
    runs = query_frame(db, "SELECT full_run, changes, model_version FROM score_run ORDER BY id")
    assert runs["full_run"].tolist() == [True, True]  # the fixture's full run, then this one
    assert runs["changes"].iloc[-1] == summary.changes and set(runs["model_version"]) == {load_model()["version"]}
    assert query_frame(db, "SELECT count(*) AS n FROM risk_dirty")["n"][0] == 0


def test_a_change_committed_during_a_run_is_left_for_the_next_run(demo_db, demo_url):
    """A feature whose insert commits while a scoring run is under way keeps its change record (the run takes
    only what was committed when it started), so the next run scores it; none is dropped unscored."""
    db = demo_db
    other = store.connect(demo_url)
    try:
        with other.cursor() as cur:
            cur.execute("INSERT INTO enterprise (source_id, name, industry, geom) VALUES "
                        "('late-1', '迟到化工', 'hazardous_chemicals', ST_SetSRID(ST_MakePoint(118.2, 39.63), 4326)) "
                        "RETURNING id")
            late = cur.fetchone()[0]
        with db.cursor() as cur:  # another change, committed before the run
            cur.execute("UPDATE enterprise SET employees = coalesce(employees, 0) + 1 WHERE id = "
                        "(SELECT min(id) FROM enterprise)")
        db.commit()

        def commit_the_other(name, done, total):
            if name == "segments":
                other.commit()  # the insert (and its change record, with a lower id) lands mid-run

        first = score(db, load_model(), AS_OF, progress=commit_the_other)
        assert not first.full and first.changes >= 1
        assert query_frame(db, "SELECT count(*) AS n FROM feature_risk WHERE kind = 'enterprise' AND "
                               "feature_id = %(id)s", {"id": late})["n"][0] == 0
        assert query_frame(db, "SELECT count(*) AS n FROM risk_dirty")["n"][0] == 1
        second = score(db, load_model(), AS_OF)
        assert second.changes == 1 and second.scored["enterprise"] >= 1
        assert query_frame(db, "SELECT count(*) AS n FROM feature_risk WHERE kind = 'enterprise' AND "
                               "feature_id = %(id)s", {"id": late})["n"][0] == 1
    finally:
        other.close()


def test_scattered_moves_and_edits_rescored_incrementally_equal_a_full_run(demo_db):
    """Ten enterprises drawn over the whole region, each moved by up to ~50 m with changed register counts (as
    bench/rescore does at a million features): the incremental run's scores, areas and heatmap cells equal a
    full run's."""
    db = demo_db
    with db.cursor() as cur:
        cur.execute("""UPDATE enterprise SET geom = ST_Translate(geom, 0.0004 * sin(id), 0.0004 * cos(id)),
                                             violations_12m = (coalesce(violations_12m, 0) + 1) % 6,
                                             employees = coalesce(employees, 0) + 17
                       WHERE id IN (SELECT id FROM enterprise ORDER BY md5(id::text) LIMIT 10)""")
    db.commit()
    summary = score(db, load_model(), AS_OF)
    assert not summary.full and summary.scored["enterprise"] == 10
    features, areas, exposure = _features(db), _areas(db), _exposure(db)
    assert score(db, load_model(), AS_OF, full=True).full
    pd.testing.assert_frame_equal(features, _features(db))
    pd.testing.assert_frame_equal(areas, _areas(db))
    pd.testing.assert_frame_equal(exposure, _exposure(db))
