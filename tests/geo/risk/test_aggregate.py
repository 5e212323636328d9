"""Area aggregation and the exposure surface: worked examples of the pure functions."""

from __future__ import annotations

import json

import h3
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.risk.aggregate import aggregate_frame, complement_geometric_mean, exposure_grid, h3_assign, quartic_weight
from geo.risk.config import load_model


def test_complement_geometric_mean_worked_example():
    """Scores 90 and 50: 100 − √((100−90)(100−50)) = 100 − √500 = 77.64; one severe class dominates."""
    assert complement_geometric_mean(np.array([90.0, 50.0])) == pytest.approx(100 - 500 ** 0.5)
    assert complement_geometric_mean(np.array([90.0])) == pytest.approx(90.0)
    assert complement_geometric_mean(np.array([])) == 0.0


@given(st.lists(st.floats(0, 100), min_size=1, max_size=8), st.floats(0, 100))
def test_complement_geometric_mean_never_falls_when_a_value_rises(values, bump):
    """Raising any class score never lowers the area's aggregate score."""
    base = complement_geometric_mean(np.array(values))
    raised = list(values)
    raised[0] = max(raised[0], bump)
    assert complement_geometric_mean(np.array(raised)) >= base - 1e-9


def test_aggregate_frame_worked_example():
    """County 130203 holds enterprises scored 80 (red), 60, 40, 20 and one venue scored 30 (top_n = 3):
    enterprise class = mean(80, 60, 40) = 60; venue class = 30; aggregate = 100 − √(40·70) = 47.08 → yellow when
    banded; the highest level inside is red; counts per class and level; 1,200 people exposed."""
    model = load_model()
    key = {"area_type": "admin", "resolution": 3, "area_id": "130203"}
    assigned = pd.DataFrame([
        {**key, "kind": "enterprise", "level": "red", "score": 80.0},
        {**key, "kind": "enterprise", "level": "orange", "score": 60.0},
        {**key, "kind": "enterprise", "level": "yellow", "score": 40.0},
        {**key, "kind": "enterprise", "level": "blue", "score": 20.0},
        {**key, "kind": "venue", "level": "yellow", "score": 30.0},
    ])
    people = pd.DataFrame([{**key, "people": 1000.0}, {**key, "people": 200.0}])
    row = aggregate_frame(assigned, people, model).iloc[0]
    assert row["score"] == pytest.approx(100 - (40 * 70) ** 0.5)
    assert (row["level_max"], row["level_banded"], row["level"]) == ("red", "yellow", "red")
    assert json.loads(row["counts"]) == {"enterprise": {"red": 1, "orange": 1, "yellow": 1, "blue": 1},
                                         "venue": {"yellow": 1}}
    assert (row["features"], row["population_exposed"]) == (5, 1200.0)


def test_banded_rule_is_selectable():
    """With level_rule = 'banded' the area's level is its banded aggregate score, not the highest inside."""
    model = load_model()
    model["area"] = {**model["area"], "level_rule": "banded"}
    assigned = pd.DataFrame([{"area_type": "h3", "resolution": 7, "area_id": "x", "kind": "venue", "level": "red",
                              "score": 40.0}])
    row = aggregate_frame(assigned, pd.DataFrame(columns=["area_type", "resolution", "area_id", "people"]),
                          model).iloc[0]
    assert (row["level_max"], row["level"]) == ("red", "yellow")


def test_h3_cells_are_the_cells_the_points_fall_in():
    """Every point is assigned, at every resolution, the cell that contains it (not its fine cell's parent)."""
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(118, 119, 50), rng.uniform(39, 40, 50)
    cells = h3_assign(lon, lat, [5, 7, 9])
    for r in (5, 7, 9):
        assert list(cells[r]) == [h3.latlng_to_cell(y, x, r) for x, y in zip(lon, lat, strict=True)]


def test_quartic_weight_worked_example():
    """(1 − d²/h²)²: 1 at the feature, (1 − 0.25)² = 0.5625 at half the bandwidth, 0 at and beyond it."""
    assert quartic_weight(np.array([0.0, 250.0, 500.0, 800.0]), 500.0).tolist() == [1.0, 0.5625, 0.0, 0.0]


def test_exposure_grid_peaks_at_a_lone_feature_with_its_score():
    """A lone enterprise scored 80 gives exposure ≈ 80 in its cell, falling to 0 beyond its 500 m bandwidth."""
    model = load_model()
    points = pd.DataFrame({"kind": ["enterprise"], "score": [80.0], "lon": [118.2], "lat": [39.6]})
    xs, ys, values, _ = exposure_grid(points, model)
    assert values.max() == pytest.approx(80.0, rel=1e-6)
    iy, ix = np.unravel_index(values.argmax(), values.shape)
    far = np.hypot(*np.meshgrid(xs - xs[ix], ys - ys[iy])) > 500 + model["exposure"]["cell_m"]
    assert np.all(values[far] < 1e-6)


def test_admin_assign_counts_points_inside_or_on_the_boundary():
    """A point inside a county belongs to it, one on the shared border to both, one outside to none."""
    import shapely

    from geo.risk.aggregate import admin_assign

    areas = pd.DataFrame({"geometry": [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]})
    lon = np.array([0.5, 1.0, 1.5, 3.0])
    lat = np.array([0.5, 0.5, 0.5, 0.5])
    pts, rows = admin_assign(lon, lat, areas)
    assert sorted(zip(pts.tolist(), rows.tolist(), strict=True)) == [(0, 0), (1, 0), (1, 1), (2, 1)]
