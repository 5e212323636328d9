"""Bulk proximity searches (geo.risk.proximity) give exactly the pairs a pair-by-pair geodesic check gives."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from geo.risk.context import postgis_exact
from geo.risk.proximity import Layer, LocalMetric, ProximityError, search

GEOD = Geod(ellps="WGS84")


def _brute_within(a_lon, a_lat, b_lon, b_lat, radius):
    ia, ib = np.meshgrid(np.arange(len(a_lon)), np.arange(len(b_lon)), indexing="ij")
    _, _, d = GEOD.inv(a_lon[ia.ravel()], a_lat[ia.ravel()], b_lon[ib.ravel()], b_lat[ib.ravel()])
    keep = d <= radius
    return set(zip(ia.ravel()[keep].tolist(), ib.ravel()[keep].tolist(), strict=True))


@pytest.mark.parametrize("spread_deg, radius", [(0.05, 500.0), (2.0, 20_000.0), (12.0, 300_000.0)])
def test_point_pairs_equal_brute_force_geodesic(spread_deg, radius):
    """Points over a county, a province and half of China: the pairs within the radius equal the brute-force
    pyproj.Geod pairs exactly (the projection's scale error is bounded and the band around r re-checked)."""
    rng = np.random.default_rng(int(spread_deg * 100))
    a_lon, a_lat = 110 + rng.uniform(0, spread_deg, 150), 30 + rng.uniform(0, spread_deg, 150)
    b_lon, b_lat = 110 + rng.uniform(0, spread_deg, 400), 30 + rng.uniform(0, spread_deg, 400)
    pairs = search(Layer.points(a_lon, a_lat), Layer.points(b_lon, b_lat), radius)
    m = pairs.within(radius)
    got = set(zip(pairs.ia[m].tolist(), pairs.ib[m].tolist(), strict=True))
    expected = _brute_within(a_lon, a_lat, b_lon, b_lat, radius)
    assert got == expected
    assert 0 < len(expected) < 150 * 400  # the radius really splits the pairs


def test_within_a_smaller_radius_and_per_pair_radii():
    """One search at the largest radius answers smaller ones, and a radius per pair (NaN: never within)."""
    rng = np.random.default_rng(5)
    a_lon, a_lat = 118 + rng.uniform(0, 0.1, 40), 39 + rng.uniform(0, 0.1, 40)
    b_lon, b_lat = 118 + rng.uniform(0, 0.1, 300), 39 + rng.uniform(0, 0.1, 300)
    pairs = search(Layer.points(a_lon, a_lat), Layer.points(b_lon, b_lat), 2000.0)
    for r in (5.0, 300.0, 1999.0):
        m = pairs.within(r)
        assert set(zip(pairs.ia[m].tolist(), pairs.ib[m].tolist(), strict=True)) == \
            _brute_within(a_lon, a_lat, b_lon, b_lat, r)
    per_a = np.where(np.arange(40) % 2 == 0, 700.0, np.nan)
    m = pairs.within(per_a[pairs.ia])
    expected = {(i, j) for i, j in _brute_within(a_lon, a_lat, b_lon, b_lat, 700.0) if i % 2 == 0}
    assert set(zip(pairs.ia[m].tolist(), pairs.ib[m].tolist(), strict=True)) == expected


def test_identical_points_are_a_pair_at_distance_zero():
    """A point is within any radius of itself (k-d tree searches must not drop distance 0)."""
    a = Layer.points(np.array([118.0]), np.array([39.0]))
    b = Layer.points(np.array([118.0, 118.5]), np.array([39.0, 39.0]))
    pairs = search(a, b, 10.0)
    assert pairs.ib[pairs.within(0.0)].tolist() == [0]


@settings(max_examples=40, deadline=None)
@given(st.floats(-60, 60), st.floats(-170, 170), st.floats(1.0, 50_000.0), st.integers(0, 2**31))
def test_point_pairs_anywhere_on_earth(lat0, lon0, radius, seed):
    """Anywhere (not just near China) and at any radius, the search finds exactly the geodesic pairs."""
    rng = np.random.default_rng(seed)
    spread = radius * 3 / 111_000 + 0.001
    a_lon, a_lat = lon0 + rng.uniform(0, spread, 30), lat0 + rng.uniform(0, spread, 30)
    b_lon, b_lat = lon0 + rng.uniform(0, spread, 60), lat0 + rng.uniform(0, spread, 60)
    pairs = search(Layer.points(a_lon, a_lat), Layer.points(b_lon, b_lat), radius)
    m = pairs.within(radius)
    assert set(zip(pairs.ia[m].tolist(), pairs.ib[m].tolist(), strict=True)) == \
        _brute_within(a_lon, a_lat, b_lon, b_lat, radius)


def test_lines_and_polygons_match_postgis_dwithin(db):
    """Lines and polygons against points and each other: the pairs equal PostGIS's own ST_DWithin on geography
    over every pair (the reference the scoring SQL used before)."""
    rng = np.random.default_rng(11)
    lon0, lat0 = 118.2, 39.6
    lines = [shapely.LineString(np.column_stack([lon0 + rng.uniform(-0.05, 0.05, 3),
                                                 lat0 + rng.uniform(-0.05, 0.05, 3)])) for _ in range(15)]
    polys = [shapely.Point(lon0 + rng.uniform(-0.05, 0.05), lat0 + rng.uniform(-0.05, 0.05)).buffer(0.003)
             for _ in range(10)]
    pts = [shapely.Point(x, y) for x, y in zip(lon0 + rng.uniform(-0.06, 0.06, 200),
                                               lat0 + rng.uniform(-0.06, 0.06, 200), strict=True)]
    a = Layer(np.array(lines + polys + pts[:20], dtype=object))
    b = Layer(np.array(pts[20:] + polys[:3] + lines[:2], dtype=object))
    radius = 350.0
    pairs = search(a, b, radius, exact=postgis_exact(db))
    m = pairs.within(radius)
    got = set(zip(pairs.ia[m].tolist(), pairs.ib[m].tolist(), strict=True))
    with db.cursor() as cur:
        cur.execute("""
            SELECT a.i - 1, b.i - 1
            FROM unnest(%(a)s::text[]) WITH ORDINALITY AS a(w, i), unnest(%(b)s::text[]) WITH ORDINALITY AS b(w, i)
            WHERE ST_DWithin(ST_GeomFromText(a.w, 4326)::geography, ST_GeomFromText(b.w, 4326)::geography, %(r)s)
        """, {"a": [g.wkt for g in a.geoms], "b": [g.wkt for g in b.geoms], "r": radius})
        expected = {(int(i), int(j)) for i, j in cur.fetchall()}
    assert got == expected
    assert len(expected) > 50


def test_lines_need_an_exact_distance_function():
    """Deciding a line pair near the threshold needs the exact function: without one the search says so."""
    line = Layer(np.array([shapely.LineString([(118.0, 39.0), (118.01, 39.0)])], dtype=object))
    _, _, d = GEOD.inv(118.005, 39.0, 118.005, 39.0 + 0.0045)
    pt = Layer.points(np.array([118.005]), np.array([39.0045]))
    pairs = search(line, pt, 600.0)
    with pytest.raises(ProximityError, match="exact"):
        pairs.within(d)


def test_bad_radius_and_too_wide_data_are_refused():
    a = Layer.points(np.array([0.0]), np.array([0.0]))
    with pytest.raises(ProximityError, match="radius"):
        search(a, a, -1.0)
    with pytest.raises(ProximityError, match="radius"):
        search(a, a, float("nan"))
    far = Layer.points(np.array([-170.0, 170.0]), np.array([-60.0, 60.0]))
    with pytest.raises(ProximityError, match="too far apart"):
        search(far, far, 10.0)


def test_local_metric_is_centred_on_the_data():
    m = LocalMetric.around(np.array([110.0, 120.0]), np.array([30.0, 40.0]))
    assert (m.lon0, m.lat0) == (115.0, 35.0)
    x, y = m.project(np.array([115.0]), np.array([35.0]))
    assert abs(x[0]) < 1e-6 and abs(y[0]) < 1e-6
