"""The demo loader puts the Tangshan region into a real PostGIS through the ordinary import path."""

from __future__ import annotations

from data.loader import load_demo


def test_demo_loads_every_kind_and_marks_synthetic_features(db):
    """Counties are real (not synthetic); every generated feature is flagged synthetic; counts match the report."""
    counts = load_demo(db)
    assert counts == {"area": 14, "enterprise": 3000, "tailings_pond": 250, "pipeline": 25, "venue": 800,
                      "settlement": 5000}
    with db.cursor() as cur:
        for kind, n in counts.items():
            cur.execute(f"SELECT count(*), count(*) FILTER (WHERE synthetic) FROM {kind}")
            total, synthetic = cur.fetchone()
            assert total == n
            assert synthetic == (0 if kind == "area" else n), kind
        cur.execute("SELECT count(*) FROM enterprise e JOIN area a ON ST_Intersects(a.geom, e.geom)")
        assert cur.fetchone()[0] == 3000  # every enterprise lies in a county
    db.rollback()


def test_loading_the_demo_twice_stores_each_feature_once_unchanged(db):
    """A second load with the same seed finds the same ids stored as it gives them: no feature is added twice,
    none rewritten (the import log counts none inserted or updated)."""
    load_demo(db)
    counts = load_demo(db)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM settlement")
        assert cur.fetchone()[0] == counts["settlement"] == 5000
        cur.execute("SELECT updated, inserted FROM import_log WHERE kind = 'settlement' ORDER BY id DESC LIMIT 1")
        assert cur.fetchone() == (0, 0)
    db.rollback()
