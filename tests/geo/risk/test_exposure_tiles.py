"""The exposure surface computed tile by tile (geo/risk/exposure_tiles.py) gives the cells the whole grid gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.risk.aggregate import exposure_rows, grid_anchor
from geo.risk.config import load_model
from geo.risk.exposure_tiles import TILE, cells_at_or_above


def spread_points(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Sites of every class over about 400 km, in clusters and alone, many of them near tile edges."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(["enterprise", "tailings_pond", "venue", "pipeline_segment"], n)
    centres = rng.uniform([116.0, 38.0], [120.5, 41.5], (40, 2))
    pick = rng.integers(len(centres), size=n)
    lon = centres[pick, 0] + rng.normal(0, 0.05, n)
    lat = centres[pick, 1] + rng.normal(0, 0.05, n)
    lone = rng.random(n) < 0.3
    lon[lone], lat[lone] = rng.uniform(116.0, 120.5, lone.sum()), rng.uniform(38.0, 41.5, lone.sum())
    return pd.DataFrame({"kind": kinds, "score": rng.uniform(1, 100, n).round(2), "lon": lon, "lat": lat})


def test_tiles_give_the_whole_grids_cells_and_values():
    """Forced into tiles (the dense limit set to 0), the same points give exactly the same cells above the
    threshold, in the same order, with values equal to 1e-9; the extent spans several tiles each way."""
    model = load_model()
    points = spread_points().sort_values(["kind", "lon", "lat", "score"], ignore_index=True)
    anchor = grid_anchor(points)
    dense = cells_at_or_above(points, model, anchor, 1.0)
    tiled = cells_at_or_above(points, model, anchor, 1.0, dense_cells_max=0)
    cell = model["exposure"]["cell_m"]
    assert (np.ptp(dense[0]) / cell) > 2 * TILE and (np.ptp(dense[1]) / cell) > 2 * TILE
    assert len(dense[0]) > 10_000
    np.testing.assert_array_equal(np.floor(tiled[0] / cell), np.floor(dense[0] / cell))
    np.testing.assert_array_equal(np.floor(tiled[1] / cell), np.floor(dense[1] / cell))
    np.testing.assert_allclose(tiled[2], dense[2], rtol=0, atol=1e-9)


def test_exposure_rows_over_a_country_stay_small():
    """Sites 4,000 km apart (Kashgar to Harbin, as a national set has them) give their cells without a
    4,000 km grid: each site's neighbourhood, its peak at its score."""
    model = load_model()
    points = pd.DataFrame({"kind": ["enterprise", "enterprise"], "score": [80.0, 60.0],
                           "lon": [75.99, 126.63], "lat": [39.47, 45.75]})
    rows = exposure_rows(points, model).to_pandas()
    assert 0 < len(rows) < 200
    lon = rows["geom"].map(lambda wkb: shapely.from_wkb(bytes.fromhex(wkb)).x)
    assert rows.loc[lon < 100, "value"].max() == pytest.approx(80.0, rel=1e-6)
    assert rows.loc[lon > 100, "value"].max() == pytest.approx(60.0, rel=1e-6)
