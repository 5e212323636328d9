"""The Tangshan county file and the synthetic demo features (pure: no database)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Geod

from data import demo
from data.demo import generate_demo
from geo.kinds import KINDS

COUNTIES_FILE = Path(__file__).resolve().parents[2] / "data" / "tangshan_counties.geojson"
DEMO_KINDS = ("enterprise", "tailings_pond", "pipeline", "venue", "settlement")
COUNT_RANGES = {
    "enterprise": (2500, 3500),
    "tailings_pond": (200, 300),
    "pipeline": (20, 30),
    "venue": (700, 900),
    "settlement": (4500, 5500),
}
# GB 18218-2018 Table 1 critical quantities (t), domain.md §1
Q_TONNES = {
    "氨": 10, "氯": 5, "液化石油气": 50, "汽油": 200, "甲醇": 500, "苯": 50, "硫化氢": 5, "天然气": 50, "煤气": 20,
    "氢气": 5,
}
NORTHERN = ("迁安市", "迁西县", "遵化市", "滦州市")


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return gpd.read_file(COUNTIES_FILE)


@pytest.fixture(scope="module")
def region(counties) -> shapely.Geometry:
    return counties.union_all()


@pytest.fixture(scope="module")
def features(counties) -> dict[str, gpd.GeoDataFrame]:
    return generate_demo(counties)


def test_county_file_holds_tangshans_14_counties(counties):
    """The county file has 14 valid polygons with 6-digit 1302xx codes, lying where Tangshan is."""
    assert len(counties) == 14
    assert counties.crs.to_epsg() == 4326
    assert counties.is_valid.all()
    assert set(counties.geom_type) <= {"Polygon", "MultiPolygon"}
    codes = counties["admin_code"].astype(str)
    assert codes.str.fullmatch(r"1302\d\d").all() and codes.is_unique
    assert (counties["source_id"].astype(str) == codes).all()
    assert (counties["level"] == "county").all() and (counties["parent_code"] == "130200").all()
    assert {"路南区", "路北区", "曹妃甸区", "迁安市"} <= set(counties["name"])
    lon0, lat0, lon1, lat1 = counties.total_bounds
    # The west edge (路南区's exclave by Tianjin) is 117.503 in AMap's GCJ-02 and 117.497 once converted to WGS 84.
    assert 117.45 <= lon0 < lon1 <= 119.4 and 38.5 <= lat0 < lat1 <= 40.5
    assert COUNTIES_FILE.stat().st_size < 250_000


def test_named_places_lie_in_their_counties(counties, region):
    """Park, seat and mining-district centres lie in their documented counties; pipeline places in Tangshan."""
    places = [demo.CITY_CENTRE, *demo.COUNTY_SEATS, *(p.place for p in demo.INDUSTRIAL_PARKS),
              *(place for place, _, _ in demo.MINING_DISTRICTS)]
    by_name = dict(zip(counties["name"], counties.geometry, strict=True))
    outside = [p.name for p in places if not by_name[p.county].contains(shapely.Point(p.lon, p.lat))]
    assert outside == []
    assert all(region.contains(shapely.Point(xy)) for xy in demo.PLACES.values())


def test_same_seed_same_data_other_seed_other_data(counties, features):
    """generate_demo is deterministic for a seed, and another seed gives different features."""
    again = generate_demo(counties, seed=demo.DEFAULT_SEED)
    other = generate_demo(counties, seed=7)
    for kind in DEMO_KINDS:
        assert_geodataframe_equal(features[kind], again[kind])
        if kind == "pipeline":  # same corridors, different wiggle
            assert not features[kind].geometry.geom_equals(other[kind].geometry).all()
        else:
            assert not features[kind].geometry.reset_index(drop=True).equals(other[kind].geometry)


def test_counts_in_documented_ranges(features):
    """Each kind has the documented number of features, and ponds mix points and polygons."""
    assert set(features) == set(DEMO_KINDS)
    for kind, (low, high) in COUNT_RANGES.items():
        assert low <= len(features[kind]) <= high, kind
    assert set(features["tailings_pond"].geom_type) == {"Point", "Polygon"}


def test_columns_ids_and_names(features):
    """Columns follow geo/kinds.py; source_id is unique per kind; every feature is marked synthetic."""
    for kind in DEMO_KINDS:
        frame = features[kind]
        assert list(frame.columns) == ["source_id", "name", "synthetic", *KINDS[kind].attribute_names, "geometry"]
        assert frame.crs.to_epsg() == 4326
        assert frame["source_id"].is_unique and frame["source_id"].str.startswith("demo-").all()
        assert frame["synthetic"].all()
        assert frame["name"].str.endswith("（合成）").all()


def test_geometries_valid_and_inside_the_counties(features, region, counties):
    """Geometries are valid, of the kind's types, inside the county union (pipelines: inside its bounds)."""
    lon0, lat0, lon1, lat1 = counties.total_bounds
    geod = Geod(ellps="WGS84")
    for kind in DEMO_KINDS:
        geoms = features[kind].geometry
        assert geoms.is_valid.all() and not geoms.is_empty.any(), kind
        assert set(geoms.geom_type) <= set(KINDS[kind].geometry_types), kind
        if kind == "pipeline":
            x0, y0, x1, y1 = geoms.total_bounds
            assert lon0 <= x0 and lat0 <= y0 and x1 <= lon1 and y1 <= lat1
            lengths_km = np.array([geod.geometry_length(g) for g in geoms]) / 1000
            assert ((lengths_km >= 20) & (lengths_km <= 150)).all(), lengths_km
        else:
            assert geoms.covered_by(region).all(), kind


def _check_value(attr, value) -> bool:
    if attr.type in ("integer", "real"):
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
        ok = ok and (attr.type == "real" or float(value).is_integer())
        return ok and (attr.minimum is None or value >= attr.minimum) and (
            attr.maximum is None or value <= attr.maximum)
    if attr.type == "boolean":
        return isinstance(value, (bool, np.bool_))
    if attr.type == "enum":
        return value in attr.values
    if attr.type == "date":
        day = dt.date.fromisoformat(value)
        return len(value) == 10 and demo.AS_OF - dt.timedelta(days=3 * 365 + 1) <= day <= demo.AS_OF
    if attr.type == "chemicals":
        entries = json.loads(value)
        return isinstance(entries, list) and len(entries) > 0 and all(
            set(e) <= {"chemical", "quantity_t", "hazard_category"} and e["chemical"] in Q_TONNES
            and isinstance(e["quantity_t"], float) and e["quantity_t"] > 0 for e in entries)
    return isinstance(value, str) and value != ""


def test_attribute_values_within_kinds_ranges(features):
    """Every present attribute value has its geo/kinds.py type and lies in its range or enum; required ones exist."""
    for kind in DEMO_KINDS:
        frame, spec = features[kind], KINDS[kind]
        for attr in spec.attributes:
            present = frame[attr.name].dropna()
            assert len(present) > 0, (kind, attr.name)
            bad = [v for v in present if not _check_value(attr, v)]
            assert bad == [], (kind, attr.name, bad[:5])
        for alternatives in spec.required:
            assert frame[list(alternatives)].notna().any(axis=1).all(), (kind, alternatives)
        optional = [a.name for a in spec.attributes if not any(a.name in alt for alt in spec.required)]
        assert frame[optional].isna().any().any(), f"{kind}: a real register has gaps"


def test_ponds_only_in_the_northern_counties(features, counties):
    """Tailings ponds lie only in 迁安, 迁西, 遵化 and 滦州."""
    north = counties[counties["name"].isin(NORTHERN)].union_all()
    assert features["tailings_pond"].geometry.covered_by(north).all()


def test_pond_grades_mostly_small(features):
    """Most ponds are grade 四/五 by dam height; a few reach 三 or higher."""
    height = features["tailings_pond"]["dam_height_m"].dropna()
    assert (height < 60).mean() > 0.9
    assert (height >= 60).sum() >= 1


def test_a_minority_of_inventories_are_major_hazards(features):
    """Some, but well under half, of the chemical inventories reach GB 18218 S = Σq/Q ≥ 1."""
    inventories = features["enterprise"]["chemicals"].dropna()
    s = np.array([sum(e["quantity_t"] / Q_TONNES[e["chemical"]] for e in json.loads(v)) for v in inventories])
    share = (s >= 1).mean()
    assert len(s) > 300
    assert 0.05 <= share <= 0.35, share


def test_settlements_denser_in_the_city(features, counties):
    """The urban core (路南/路北) holds far more settlements per km² than the counties on average."""
    settlements = features["settlement"]
    core = counties[counties["name"].isin(["路南区", "路北区"])].union_all()
    in_core = settlements.geometry.within(core).mean()
    area_share = core.area / counties.union_all().area
    assert in_core > 3 * area_share
    urban = settlements[settlements["buildings_4plus_dominant"].fillna(False).astype(bool)]
    assert pd.Series(urban["population"]).dropna().median() > settlements["population"].dropna().median()


def test_points_are_sampled_inside_an_area_that_fills_a_tiny_share_of_its_box():
    """Islands scattered over a sea (Sansha's kind of county): two 0.01° islands 10° apart fill 2e-6 of their
    bounding box, where plain rejection sampling gives up; every point lands on an island, each island getting
    points in proportion to its area."""
    import numpy as np
    import shapely

    from data.demo.common import uniform_points

    small = shapely.box(110.0, 10.0, 110.01, 10.01)
    large = shapely.box(120.0, 20.0, 120.02, 20.01)  # twice the area
    area = shapely.MultiPolygon([small, large])
    lon, lat = uniform_points(area, np.random.default_rng(7), 3000)
    assert lon.size == lat.size == 3000
    assert shapely.contains_xy(area, lon, lat).all()
    on_large = shapely.contains_xy(large, lon, lat).sum()
    assert 1800 < on_large < 2200  # about two thirds
