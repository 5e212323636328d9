"""Tests for geo.crs: source CRS parsing and conversion to WGS 84, including GCJ-02 / BD-09."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from geo.crs import (
    SourceCRS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    parse_crs,
    transform_geometries,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geo.errors import InvalidCRS

GEOD = Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance(s) in metres on the WGS 84 ellipsoid."""
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# Published (WGS-84 lon, lat) -> (GCJ-02 lon, lat) pairs.
WGS_GCJ_PAIRS = [
    # googollee/eviltransform, python/test.py (TESTS, "shanghai")
    pytest.param((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597), id="eviltransform-shanghai"),
    # googollee/eviltransform, python/test.py (TESTS, "shenzhen")
    pytest.param((113.912316, 22.543847), (113.9171764808363, 22.540796131694766), id="eviltransform-shenzhen"),
    # googollee/eviltransform, python/test.py (TESTS, "beijing")
    pytest.param((116.377817, 39.911954), (116.38404722455657, 39.91334545536069), id="eviltransform-beijing"),
    # coord-convert (PyPI, sshuair/coord-convert) README: wgs2gcj(120, 40)
    pytest.param((120.0, 40.0), (120.00567568355486, 40.0013047896019), id="coord-convert-readme"),
    # wandergis/coordtransform (npm "coordtransform"), test/app.js: wgs84togcj02(116.404, 39.915)
    pytest.param((116.404, 39.915), (116.41024449916938, 39.91640428150164), id="coordtransform-app.js"),
]

# Published (GCJ-02 lon, lat) -> (WGS-84 lon, lat) pairs from libraries' inverse functions.
GCJ_WGS_PAIRS = [
    # hujiulong/gcoord (npm "gcoord"), test/unit/crs/GCJ02.spec.ts: GCJ02.to.WGS84([123, 45])
    pytest.param((123.0, 45.0), (122.99395597, 44.99804071), id="gcoord-GCJ02.spec"),
    # wandergis/coordtransform, test/app.js: gcj02towgs84(116.404, 39.915) (their one-step approximation)
    pytest.param((116.404, 39.915), (116.39775550083061, 39.91359571849836), id="coordtransform-app.js"),
]

# Published (GCJ-02 lon, lat) -> (BD-09 lon, lat) pairs.
GCJ_BD_PAIRS = [
    # wandergis/coordtransform, test/app.js: gcj02tobd09(116.404, 39.915)
    pytest.param((116.404, 39.915), (116.41036949371029, 39.92133699351021), id="coordtransform-app.js"),
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts: GCJ02.to.BD09([123, 45])
    pytest.param((123.0, 45.0), (123.00636499, 45.00636899), id="gcoord-GCJ02.spec"),
]

# Published (BD-09 lon, lat) -> (GCJ-02 lon, lat) pairs (both libraries use the one-step approximate inverse).
BD_GCJ_PAIRS = [
    # wandergis/coordtransform, test/app.js: bd09togcj02(116.404, 39.915)
    pytest.param((116.404, 39.915), (116.39762729119315, 39.90865673957631), id="coordtransform-app.js"),
    # hujiulong/gcoord, test/unit/crs/BD09.spec.ts: BD09.to.GCJ02([123, 45])
    pytest.param((123.0, 45.0), (122.99363304, 44.99365430), id="gcoord-BD09.spec"),
]

# Published (BD-09 lon, lat) -> (WGS-84 lon, lat) pairs.
BD_WGS_PAIRS = [
    # hujiulong/gcoord, test/unit/crs/BD09.spec.ts: BD09.to.WGS84([123, 45])
    pytest.param((123.0, 45.0), (122.98762210, 44.99171540), id="gcoord-BD09.spec"),
]

PUBLISHED_WGS_POINTS = [
    (121.5272106, 31.1774276),
    (113.912316, 22.543847),
    (116.377817, 39.911954),
    (120.0, 40.0),
    (116.404, 39.915),
    (123.0, 45.0),
]


@pytest.mark.parametrize(("wgs", "gcj"), WGS_GCJ_PAIRS)
def test_wgs84_to_gcj02_matches_published_pairs(wgs, gcj):
    """wgs84_to_gcj02 reproduces published WGS-84 -> GCJ-02 pairs within 1 m."""
    lon, lat = wgs84_to_gcj02(*wgs)
    assert metres(lon, lat, *gcj) < 1.0


@pytest.mark.parametrize(("wgs", "gcj"), WGS_GCJ_PAIRS)
def test_gcj02_to_wgs84_inverts_published_pairs(wgs, gcj):
    """gcj02_to_wgs84 maps each published GCJ-02 point back onto its WGS-84 point within 1 m."""
    lon, lat = gcj02_to_wgs84(*gcj)
    assert metres(lon, lat, *wgs) < 1.0


@pytest.mark.parametrize(("gcj", "wgs"), GCJ_WGS_PAIRS)
def test_gcj02_to_wgs84_matches_published_pairs(gcj, wgs):
    """gcj02_to_wgs84 matches published GCJ-02 -> WGS-84 results of other libraries within 1 m."""
    lon, lat = gcj02_to_wgs84(*gcj)
    assert metres(lon, lat, *wgs) < 1.0


@pytest.mark.parametrize(("gcj", "bd"), GCJ_BD_PAIRS)
def test_gcj02_to_bd09_matches_published_pairs(gcj, bd):
    """gcj02_to_bd09 reproduces published GCJ-02 -> BD-09 pairs within 1 m."""
    lon, lat = gcj02_to_bd09(*gcj)
    assert metres(lon, lat, *bd) < 1.0


@pytest.mark.parametrize(("bd", "gcj"), BD_GCJ_PAIRS)
def test_bd09_to_gcj02_matches_published_pairs(bd, gcj):
    """bd09_to_gcj02 matches published BD-09 -> GCJ-02 pairs within 1 m."""
    lon, lat = bd09_to_gcj02(*bd)
    assert metres(lon, lat, *gcj) < 1.0


@pytest.mark.parametrize(("bd", "wgs"), BD_WGS_PAIRS)
def test_bd09_to_wgs84_matches_published_pairs(bd, wgs):
    """bd09_to_wgs84 matches published BD-09 -> WGS-84 pairs within 1 m."""
    lon, lat = bd09_to_wgs84(*bd)
    assert metres(lon, lat, *wgs) < 1.0


@pytest.mark.parametrize("wgs", PUBLISHED_WGS_POINTS)
def test_gcj02_round_trip_at_published_points(wgs):
    """WGS-84 -> GCJ-02 -> WGS-84 returns to the start within 1 cm at the published points."""
    lon, lat = gcj02_to_wgs84(*wgs84_to_gcj02(*wgs))
    assert metres(lon, lat, *wgs) < 0.01


@pytest.mark.parametrize("wgs", PUBLISHED_WGS_POINTS)
def test_bd09_round_trip_at_published_points(wgs):
    """WGS-84 -> BD-09 -> WGS-84 returns to the start within 1 cm at the published points."""
    lon, lat = bd09_to_wgs84(*wgs84_to_bd09(*wgs))
    assert metres(lon, lat, *wgs) < 0.01


@pytest.mark.parametrize("bd", [(116.404, 39.915), (123.0, 45.0), (120.019809, 29.199786)])
def test_bd09_to_gcj02_is_exact_inverse(bd):
    """bd09_to_gcj02 followed by gcj02_to_bd09 returns the BD-09 input within 1 cm."""
    lon, lat = gcj02_to_bd09(*bd09_to_gcj02(*bd))
    assert metres(lon, lat, *bd) < 0.01


china_lon = st.floats(min_value=73.0, max_value=135.0, allow_nan=False, allow_infinity=False)
china_lat = st.floats(min_value=18.0, max_value=53.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_round_trips_inside_china_property(lon, lat):
    """For any point inside China, the GCJ-02 and BD-09 round trips agree within 1 cm."""
    g_lon, g_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres(g_lon, g_lat, lon, lat) < 0.01
    b_lon, b_lat = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert metres(b_lon, b_lat, lon, lat) < 0.01


def test_round_trips_vectorised_batch():
    """A 20,000-point batch inside China round-trips within 1 cm and keeps its array shape."""
    rng = np.random.default_rng(12345)
    lon = rng.uniform(73.0, 135.0, size=(100, 200))
    lat = rng.uniform(18.0, 53.0, size=(100, 200))
    g = wgs84_to_gcj02(lon, lat)
    assert g[0].shape == lon.shape and g[1].shape == lat.shape
    assert metres(lon, lat, *g).min() > 1.0  # the offset really is applied everywhere in the box
    back = gcj02_to_wgs84(*g)
    assert metres(lon, lat, *back).max() < 0.01
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *back).max() < 0.01


@pytest.mark.parametrize(
    "point",
    [(-0.1276, 51.5072), (-74.006, 40.7128), (151.2093, -33.8688), (0.0, 0.0), (139.6917, 35.6895), (183.0, 45.0)],
    ids=["london", "new-york", "sydney", "null-island", "tokyo", "lon-183"],
)
def test_gcj02_offset_is_zero_outside_china(point):
    """Outside mainland China's bounding box GCJ-02 equals WGS-84 in both directions."""
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_non_finite_inputs_pass_through_without_warnings():
    """NaN/inf inputs give NaN/inf outputs (finite neighbours unaffected) without raising or warning."""
    lon = np.array([np.nan, 116.404, np.inf])
    lat = np.array([39.9, np.nan, 39.9])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for func in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, bd09_to_wgs84, wgs84_to_bd09):
            out_lon, out_lat = func(lon, lat)
            assert not (np.isfinite(out_lon) & np.isfinite(out_lat)).any()
        mixed = gcj02_to_wgs84(np.array([np.nan, 116.404]), np.array([39.9, 39.915]))
        assert np.isfinite(mixed[0][1]) and np.isfinite(mixed[1][1])
        assert metres(mixed[0][1], mixed[1][1], 116.39775550083061, 39.91359571849836) < 1.0


@pytest.mark.parametrize(
    ("text", "name", "geographic"),
    [
        (None, "EPSG:4326", True),
        ("EPSG:4326", "EPSG:4326", True),
        ("epsg:4326", "EPSG:4326", True),
        ("4326", "EPSG:4326", True),
        ("epsg:3857", "EPSG:3857", False),
        ("EPSG:3857", "EPSG:3857", False),
        ("4547", "EPSG:4547", False),
        (" EPSG:4547 ", "EPSG:4547", False),
        ("EPSG:4490", "EPSG:4490", True),
        ("EPSG:32650", "EPSG:32650", False),
        ("gcj02", "gcj02", True),
        ("GCJ-02", "gcj02", True),
        ("gcj-02", "gcj02", True),
        ("GCJ02", "gcj02", True),
        ("bd09", "bd09", True),
        ("BD-09", "bd09", True),
        ("bd-09", "bd09", True),
        ("BD09", "bd09", True),
    ],
)
def test_parse_crs_accepts_spellings(text, name, geographic):
    """parse_crs accepts None, EPSG codes in any case or bare, and the gcj02 / bd09 spellings."""
    crs = parse_crs(text)
    assert isinstance(crs, SourceCRS)
    assert crs.name == name
    assert crs.is_geographic is geographic


@pytest.mark.parametrize("text", ["EPSG:999999", "foo", "", "EPSG:", "wgs85", "EPSG:4326x", "gcj03"])
def test_parse_crs_rejects_unknown_values(text):
    """parse_crs raises InvalidCRS naming the bad value and what is accepted."""
    with pytest.raises(InvalidCRS) as info:
        parse_crs(text)
    message = str(info.value)
    assert repr(text) in message
    assert "EPSG" in message and "gcj02" in message and "bd09" in message


@pytest.mark.parametrize("text", ["EPSG:5773", "EPSG:4978"], ids=["vertical", "geocentric"])
def test_parse_crs_rejects_non_horizontal_crs(text):
    """parse_crs rejects EPSG codes PROJ knows but that are not geographic or projected CRSs."""
    with pytest.raises(InvalidCRS, match=text):
        parse_crs(text)


def test_source_crs_is_frozen():
    """SourceCRS is an immutable (frozen) dataclass."""
    crs = parse_crs("EPSG:3857")
    with pytest.raises(dataclasses.FrozenInstanceError):
        crs.name = "EPSG:4326"  # type: ignore[misc]


def test_epsg3857_to_wgs84_matches_closed_form():
    """EPSG:3857 coordinates convert to WGS 84 as the spherical-Mercator closed form says."""
    r = 6378137.0
    x = np.array([12958175.0, 0.0, -8238310.24, 20037508.342789244])
    y = np.array([4825923.77, 0.0, 4970071.58, -7361866.113051188])
    lon, lat = parse_crs("EPSG:3857").to_wgs84(x, y)
    expected_lon = np.degrees(x / r)
    expected_lat = np.degrees(2.0 * np.arctan(np.exp(y / r)) - math.pi / 2.0)
    np.testing.assert_allclose(lon, expected_lon, atol=1e-9)
    np.testing.assert_allclose(lat, expected_lat, atol=1e-9)


def test_epsg4547_to_wgs84_known_point():
    """A CGCS2000 / 3-degree Gauss-Kruger CM 114E point (Wuhan) converts back to its WGS 84 position."""
    lon0, lat0 = 114.3055, 30.5928
    # Independent forward projection with pyproj (WGS 84 -> EPSG:4547, easting/northing order).
    e, n = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True).transform(lon0, lat0)
    assert 500000 < e < 550000 and 3_300_000 < n < 3_500_000  # east of the central meridian, ~30.6 deg N
    lon, lat = parse_crs("EPSG:4547").to_wgs84(np.array([e]), np.array([n]))
    assert metres(lon[0], lat[0], lon0, lat0) < 0.001
    # On the central meridian the easting is the false easting.
    lon, lat = parse_crs("4547").to_wgs84(np.array([500000.0]), np.array([n]))
    assert abs(lon[0] - 114.0) < 1e-9


def test_projected_points_outside_domain_are_non_finite_not_errors():
    """Points a projection cannot invert come back non-finite instead of raising."""
    lon, lat = parse_crs("EPSG:4547").to_wgs84(np.array([1e12, 500000.0]), np.array([1e12, 3.4e6]))
    assert not np.isfinite(lon[0]) or not np.isfinite(lat[0])
    assert np.isfinite(lon[1]) and np.isfinite(lat[1])


def test_to_wgs84_identity_for_epsg4326():
    """EPSG:4326 to_wgs84 returns equal (copied) arrays."""
    x = np.array([1.5, 2.5])
    y = np.array([3.5, 4.5])
    lon, lat = parse_crs(None).to_wgs84(x, y)
    np.testing.assert_array_equal(lon, x)
    np.testing.assert_array_equal(lat, y)
    lon[0] = 99.0
    assert x[0] == 1.5


@pytest.mark.parametrize(
    ("text", "inverse"),
    [("gcj02", gcj02_to_wgs84), ("bd09", bd09_to_wgs84)],
)
def test_to_wgs84_for_offset_systems_uses_inverse(text, inverse):
    """gcj02 / bd09 SourceCRS.to_wgs84 agrees with the module-level inverse functions."""
    x = np.array([116.404, 121.5, 10.0])
    y = np.array([39.915, 31.2, 50.0])
    lon, lat = parse_crs(text).to_wgs84(x, y)
    e_lon, e_lat = inverse(x, y)
    np.testing.assert_array_equal(lon, e_lon)
    np.testing.assert_array_equal(lat, e_lat)


def _sample_geometries() -> np.ndarray:
    return np.array(
        [
            shapely.Point(116.404, 39.915),
            shapely.LineString([(116.40, 39.91), (116.41, 39.92), (116.42, 39.90)]),
            shapely.Polygon(
                [(116.40, 39.90), (116.42, 39.90), (116.42, 39.92), (116.40, 39.92)],
                holes=[[(116.405, 39.905), (116.41, 39.905), (116.41, 39.91)]],
            ),
            shapely.MultiPolygon([shapely.box(121.4, 31.2, 121.5, 31.3), shapely.box(121.6, 31.2, 121.7, 31.3)]),
            shapely.MultiPoint([(113.9, 22.5), (114.0, 22.6)]),
            None,
        ],
        dtype=object,
    )


@pytest.mark.parametrize("text", ["gcj02", "bd09"])
def test_transform_geometries_keeps_types_and_converts_coordinates(text):
    """transform_geometries converts points, lines and polygons, keeping types, ring structure and None."""
    crs = parse_crs(text)
    geoms = _sample_geometries()
    out = transform_geometries(geoms, crs)
    assert out.shape == geoms.shape
    assert out[-1] is None
    np.testing.assert_array_equal(shapely.get_type_id(out[:-1]), shapely.get_type_id(geoms[:-1]))
    np.testing.assert_array_equal(shapely.get_num_coordinates(out), shapely.get_num_coordinates(geoms))
    assert shapely.get_num_interior_rings(out[2]) == 1
    src = shapely.get_coordinates(geoms)
    got = shapely.get_coordinates(out)
    e_lon, e_lat = crs.to_wgs84(src[:, 0], src[:, 1])
    np.testing.assert_allclose(got[:, 0], e_lon, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[:, 1], e_lat, rtol=0, atol=1e-12)
    # The offset is real: hundreds of metres for GCJ-02, more for BD-09.
    assert metres(got[:, 0], got[:, 1], src[:, 0], src[:, 1]).min() > 100.0
    assert shapely.is_valid(out[:-1]).all()


def test_transform_geometries_projected_and_keeps_z():
    """transform_geometries unprojects EPSG:3857 geometries and keeps Z values."""
    crs = parse_crs("EPSG:3857")
    geoms = np.array(
        [
            shapely.Point(12958175.0, 4825923.77, 42.0),
            shapely.LineString([(0.0, 0.0), (111319.49079327357, 0.0)]),
            shapely.box(0.0, 0.0, 111319.49079327357, 111325.14286638486),
        ],
        dtype=object,
    )
    out = transform_geometries(geoms, crs)
    assert list(shapely.get_type_id(out)) == list(shapely.get_type_id(geoms))
    assert shapely.has_z(out[0]) and out[0].z == 42.0
    assert not shapely.has_z(out[1])
    np.testing.assert_allclose(shapely.get_coordinates(out[1]), [[0.0, 0.0], [1.0, 0.0]], atol=1e-9)
    np.testing.assert_allclose(out[2].bounds, (0.0, 0.0, 1.0, 1.0), atol=1e-9)


def test_transform_geometries_identity_for_epsg4326():
    """For EPSG:4326 transform_geometries returns equal geometries in a new array."""
    geoms = _sample_geometries()
    out = transform_geometries(geoms, parse_crs("EPSG:4326"))
    assert out is not geoms
    assert all((a is None and b is None) or shapely.equals_exact(a, b, 0.0) for a, b in zip(out, geoms, strict=True))
