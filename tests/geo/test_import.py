"""Happy paths of geo.importer.import_file: every supported format, column spellings, mappings, CRSs and upserts.

Inputs are written into ``tmp_path`` at test time; each test gets its own migrated PostGIS database (``db``).
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from geo import crs as geocrs
from geo.errors import InputError
from geo.importer import import_file, load_mapping
from tests.conftest import count_rows

GEOD = Geod(ellps="WGS84")
TANGSHAN = (118.180194, 39.630867)  # a WGS 84 point in Tangshan's Lubei district


# ----- small fixture helpers --------------------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


SITE_POLYGON = shapely.Polygon([(118.20, 39.60), (118.21, 39.60), (118.21, 39.61), (118.20, 39.61)])


def enterprises_gdf(ids=("E1", "E2"), points_only: bool = False) -> gpd.GeoDataFrame:
    """Two small enterprises (a point and a polygon, or two points for a shapefile) as a GeoDataFrame."""
    return gpd.GeoDataFrame(
        {"source_id": list(ids), "name": ["唐山化工厂", "钢铁厂"], "industry": ["化工", "steel"],
         "employees": [120, 800]},
        geometry=[shapely.Point(118.18, 39.63), shapely.Point(118.2, 39.6) if points_only else SITE_POLYGON],
        crs="EPSG:4326",
    )


def rows(conn, sql: str, params=()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        out = cur.fetchall()
    conn.rollback()
    return out


def stored_enterprises(conn) -> list[tuple]:
    return rows(conn, "SELECT source_id, name, industry, employees, ST_AsText(geom) FROM enterprise ORDER BY source_id")


EXPECTED_ENTERPRISES = [
    ("E1", "唐山化工厂", "hazardous_chemicals", 120, "POINT(118.18 39.63)"),
    ("E2", "钢铁厂", "metallurgy", 800, "POLYGON((118.2 39.6,118.21 39.6,118.21 39.61,118.2 39.61,118.2 39.6))"),
]
EXPECTED_POINT_ENTERPRISES = [EXPECTED_ENTERPRISES[0], ("E2", "钢铁厂", "metallurgy", 800, "POINT(118.2 39.6)")]


def metres_to(conn, source_id: str, lon: float, lat: float) -> float:
    """Geodesic distance from the stored enterprise ``source_id`` to (lon, lat)."""
    [(x, y)] = rows(conn, "SELECT ST_X(geom), ST_Y(geom) FROM enterprise WHERE source_id = %s", (source_id,))
    return GEOD.inv(x, y, lon, lat)[2]


# ----- formats ------------------------------------------------------------------------------------------------------


def test_geojson_import(db, tmp_path):
    """A GeoJSON FeatureCollection imports every feature with its attributes and geometry."""
    path = tmp_path / "ents.geojson"
    enterprises_gdf().to_file(path, driver="GeoJSON")
    report = import_file(db, path, "enterprise")
    assert (report.rows_read, report.inserted, report.updated, report.error_count) == (2, 2, 0, 0)
    assert stored_enterprises(db) == EXPECTED_ENTERPRISES


def test_geopackage_layer_is_chosen_with_layer(db, tmp_path):
    """From a GeoPackage with two layers, layer='…' imports that layer only."""
    path = tmp_path / "two.gpkg"
    enterprises_gdf().to_file(path, layer="registered")
    enterprises_gdf(ids=("N1", "N2")).to_file(path, layer="new_sites")
    report = import_file(db, path, "enterprise", layer="new_sites")
    assert report.inserted == 2
    assert [r[0] for r in stored_enterprises(db)] == ["N1", "N2"]


def test_geopackage_with_two_layers_and_none_chosen_is_an_input_error(db, tmp_path):
    """Two layers and no layer chosen: InputError naming both layers and --layer; nothing written."""
    path = tmp_path / "two.gpkg"
    enterprises_gdf().to_file(path, layer="registered")
    enterprises_gdf(ids=("N1", "N2")).to_file(path, layer="new_sites")
    with pytest.raises(InputError) as exc:
        import_file(db, path, "enterprise")
    msg = str(exc.value)
    assert "two.gpkg" in msg and "registered" in msg and "new_sites" in msg and "--layer" in msg
    assert count_rows(db, "enterprise") == 0


def test_geopackage_import(db, tmp_path):
    """A single-layer GeoPackage imports without naming the layer."""
    path = tmp_path / "ents.gpkg"
    enterprises_gdf().to_file(path)
    import_file(db, path, "enterprise")
    assert stored_enterprises(db) == EXPECTED_ENTERPRISES


def test_shapefile_import(db, tmp_path):
    """A plain .shp (with its .shx/.dbf/.prj beside it) imports."""
    path = tmp_path / "ents.shp"
    enterprises_gdf(points_only=True).to_file(path, encoding="utf-8")
    report = import_file(db, path, "enterprise")
    assert report.inserted == 2
    assert stored_enterprises(db) == EXPECTED_POINT_ENTERPRISES


def test_zipped_shapefile_import(db, tmp_path):
    """A zipped shapefile (.shp, .shx, .dbf, .prj, .cpg in a folder of the zip) imports."""
    enterprises_gdf(points_only=True).to_file(tmp_path / "ents.shp", encoding="utf-8")
    archive = tmp_path / "ents.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("ents.*"):
            if part.suffix != ".zip":
                z.write(part, f"export/{part.name}")
    report = import_file(db, archive, "enterprise")
    assert (report.file, report.inserted) == ("ents.zip", 2)
    assert stored_enterprises(db) == EXPECTED_POINT_ENTERPRISES


@pytest.mark.parametrize("lon_col, lat_col", [("lon", "lat"), ("lng", "latitude"), ("x", "y"),
                                              ("Longitude", "Latitude"), ("经度", "纬度")])
def test_csv_with_coordinate_columns(db, tmp_path, lon_col, lat_col):
    """A CSV with longitude/latitude columns under any of the recognised spellings imports points."""
    path = write_csv(tmp_path / "ents.csv", ["source_id", "name", "industry", lon_col, lat_col],
                     [["E1", "唐山化工厂", "化工", 118.18, 39.63], ["E2", "钢铁厂", "steel", 118.25, 39.7]])
    report = import_file(db, path, "enterprise")
    assert (report.inserted, report.row_label) == (2, "row")
    assert rows(db, "SELECT source_id, ST_AsText(geom), props FROM enterprise ORDER BY source_id") == [
        ("E1", "POINT(118.18 39.63)", {}), ("E2", "POINT(118.25 39.7)", {})]


def test_csv_with_a_wkt_column_imports_pipelines(db, tmp_path):
    """A pipeline CSV with a WKT column imports LineStrings and MultiLineStrings; the WKT is not kept as a prop."""
    path = write_csv(tmp_path / "pipes.csv", ["source_id", "name", "medium", "diameter_mm", "wkt"], [
        ["P1", "唐山输气干线", "天然气", 610, "LINESTRING (118.0 39.5, 118.1 39.55, 118.2 39.6)"],
        ["P2", "冀东原油管道", "crude", 508, "MULTILINESTRING ((118.3 39.2, 118.4 39.25), (118.4 39.25, 118.5 39.3))"],
    ])
    report = import_file(db, path, "pipeline")
    assert report.inserted == 2
    assert rows(db, "SELECT source_id, medium, diameter_mm, ST_AsText(geom), props FROM pipeline "
                    "ORDER BY source_id") == [
        ("P1", "natural_gas", 610.0, "LINESTRING(118 39.5,118.1 39.55,118.2 39.6)", {}),
        ("P2", "crude_oil", 508.0, "MULTILINESTRING((118.3 39.2,118.4 39.25),(118.4 39.25,118.5 39.3))", {}),
    ]


# ----- columns, mappings and values -----------------------------------------------------------------------------------


def test_mapping_file_renames_chinese_columns(db, tmp_path):
    """A mapping file maps 企业编号/企业名称/行业 to source_id/name/industry; 经度/纬度 are found by themselves."""
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps({"企业编号": "source_id", "企业名称": "name", "行业": "industry"},
                                       ensure_ascii=False), encoding="utf-8")
    path = write_csv(tmp_path / "企业台账.csv", ["企业编号", "企业名称", "行业", "经度", "纬度"], [
        ["130203-001", "唐山三友化工", "化工", 118.18, 39.63],
        ["130203-002", "唐钢", "钢铁", 118.22, 39.65],
    ])
    mapping = load_mapping(mapping_file)
    assert mapping == {"企业编号": "source_id", "企业名称": "name", "行业": "industry"}
    report = import_file(db, path, "enterprise", mapping=mapping)
    assert report.inserted == 2
    assert rows(db, "SELECT source_id, name, industry, props FROM enterprise ORDER BY source_id") == [
        ("130203-001", "唐山三友化工", "hazardous_chemicals", {}), ("130203-002", "唐钢", "metallurgy", {})]


def test_chinese_enum_spellings_are_normalised(db, tmp_path):
    """Chinese enum spellings are normalised, e.g. 危 → critical, 险库 → dangerous, 化工 → hazardous_chemicals."""
    ponds = write_csv(tmp_path / "ponds.csv", ["source_id", "name", "safety_state", "status", "lon", "lat"], [
        ["T1", "大石河尾矿库", "危", "停产", 118.6, 40.05],
        ["T2", "水厂尾矿库", "险库", "运营", 118.65, 40.1],
        ["T3", "棒磨山尾矿库", "Normal", "", 118.55, 40.2],
    ])
    import_file(db, ponds, "tailings_pond")
    assert rows(db, "SELECT source_id, safety_state, status FROM tailings_pond ORDER BY source_id") == [
        ("T1", "critical", "suspended"), ("T2", "dangerous", "operating"), ("T3", "normal", None)]
    ents = write_csv(tmp_path / "ents.csv", ["source_id", "name", "行业", "lon", "lat"],
                     [["E1", "三友化工", "化工", 118.18, 39.63], ["E2", "烟花厂", "烟花爆竹", 118.3, 39.7]])
    import_file(db, ents, "enterprise")
    assert rows(db, "SELECT source_id, industry FROM enterprise ORDER BY source_id") == [
        ("E1", "hazardous_chemicals"), ("E2", "fireworks")]


@pytest.mark.parametrize("fmt", ["gpkg", "csv"])
def test_unknown_extra_columns_land_in_props(db, tmp_path, fmt):
    """Columns that feed no riskmap field are kept in props; empty cells (GPKG null, CSV blank) are omitted."""
    if fmt == "gpkg":
        path = tmp_path / "ents.gpkg"
        gdf = enterprises_gdf()
        gdf["联系人"] = ["张三", None]
        gdf["credit_code"] = ["91130200MA0000000X", "91130200MA0000001Y"]
        gdf.to_file(path)
    else:
        header = ["source_id", "name", "industry", "联系人", "credit_code", "lon", "lat"]
        path = write_csv(tmp_path / "ents.csv", header,
                         [["E1", "唐山化工厂", "化工", "张三", "91130200MA0000000X", 118.18, 39.63],
                          ["E2", "钢铁厂", "steel", "", "91130200MA0000001Y", 118.2, 39.6]])
    import_file(db, path, "enterprise")
    assert rows(db, "SELECT source_id, props FROM enterprise ORDER BY source_id") == [
        ("E1", {"联系人": "张三", "credit_code": "91130200MA0000000X"}),
        ("E2", {"credit_code": "91130200MA0000001Y"}),
    ]


def test_chemicals_inventory_is_stored_as_a_json_list(db, tmp_path):
    """The inventory '氯:10;氨:100' is stored as a JSON array of {chemical, quantity_t} objects."""
    path = write_csv(tmp_path / "ents.csv", ["source_id", "name", "industry", "chemicals", "lon", "lat"], [
        ["E1", "三友化工", "化工", "氯:10;氨:100", 118.18, 39.63],
        ["E2", "钢铁厂", "steel", "", 118.2, 39.6],
    ])
    import_file(db, path, "enterprise")
    assert rows(db, "SELECT source_id, chemicals, jsonb_typeof(chemicals) FROM enterprise ORDER BY source_id") == [
        ("E1", [{"chemical": "氯", "quantity_t": 10.0}, {"chemical": "氨", "quantity_t": 100.0}], "array"),
        ("E2", None, None),
    ]


# ----- coordinate reference systems --------------------------------------------------------------------------------


@pytest.mark.parametrize("system, to_wgs84", [("gcj02", geocrs.gcj02_to_wgs84), ("bd09", geocrs.bd09_to_wgs84)])
def test_chinese_offset_coordinates_are_converted(db, tmp_path, system, to_wgs84):
    """crs='gcj02' / 'bd09' points land within 1 m of the WGS 84 point geo.crs computes for them."""
    lon, lat = 118.186530, 39.637420  # as read off an AMap / Baidu map
    path = write_csv(tmp_path / f"{system}.csv", ["source_id", "name", "industry", "lon", "lat"],
                     [["E1", "三友化工", "化工", lon, lat]])
    report = import_file(db, path, "enterprise", crs=system)
    assert report.inserted == 1
    want_lon, want_lat = (float(v) for v in to_wgs84(lon, lat))
    assert metres_to(db, "E1", want_lon, want_lat) < 1.0
    assert metres_to(db, "E1", lon, lat) > 100  # and the offset really was removed
    assert rows(db, "SELECT source_crs FROM import_log") == [(system,)]


def test_projected_csv_coordinates_with_epsg_4547(db, tmp_path):
    """x/y in CGCS2000 3-degree Gauss-Kruger (EPSG:4547) given with crs= land at the right lon/lat."""
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True).transform(*TANGSHAN)
    path = write_csv(tmp_path / "projected.csv", ["source_id", "name", "industry", "x", "y"],
                     [["E1", "三友化工", "化工", repr(x), repr(y)]])
    import_file(db, path, "enterprise", crs="EPSG:4547")
    assert metres_to(db, "E1", *TANGSHAN) < 0.01


def test_file_in_web_mercator_is_converted_from_its_own_crs(db, tmp_path):
    """A GeoPackage declaring EPSG:3857 is converted to WGS 84 without crs= being given."""
    path = tmp_path / "mercator.gpkg"
    gdf = gpd.GeoDataFrame({"source_id": ["E1"], "name": ["三友化工"], "industry": ["化工"]},
                           geometry=[shapely.Point(*TANGSHAN)], crs="EPSG:4326").to_crs("EPSG:3857")
    gdf.to_file(path)
    import_file(db, path, "enterprise")
    assert metres_to(db, "E1", *TANGSHAN) < 0.01
    assert rows(db, "SELECT source_crs FROM import_log") == [("EPSG:3857",)]


# ----- upserts and the audit trail ------------------------------------------------------------------------------------


def test_reimport_updates_known_ids_and_inserts_new_ones(db, tmp_path):
    """Same ids again: values updated, counted as updated, created_at kept, updated_at advanced; new ids inserted."""
    header = ["source_id", "name", "industry", "employees", "lon", "lat"]
    first = write_csv(tmp_path / "v1.csv", header, [["E1", "三友化工", "化工", 100, 118.18, 39.63],
                                                    ["E2", "钢铁厂", "steel", 800, 118.2, 39.6]])
    report = import_file(db, first, "enterprise")
    assert (report.inserted, report.updated) == (2, 0)
    before = {r[0]: r[1:] for r in rows(db, "SELECT source_id, created_at, updated_at FROM enterprise")}

    second = write_csv(tmp_path / "v2.csv", header, [["E1", "三友化工集团", "化工", 150, 118.19, 39.64],
                                                     ["E2", "钢铁厂", "steel", 750, 118.2, 39.6]])
    report = import_file(db, second, "enterprise")
    assert (report.rows_read, report.inserted, report.updated) == (2, 0, 2)
    after = rows(db, "SELECT source_id, name, employees, ST_AsText(geom), created_at, updated_at FROM enterprise "
                     "ORDER BY source_id")
    assert [r[:4] for r in after] == [("E1", "三友化工集团", 150, "POINT(118.19 39.64)"),
                                      ("E2", "钢铁厂", 750, "POINT(118.2 39.6)")]
    for source_id, *_, created_at, updated_at in after:
        assert created_at == before[source_id][0]
        assert updated_at > before[source_id][1]

    third = write_csv(tmp_path / "v3.csv", header, [["E3", "遵化铁矿", "mining", 45, 117.96, 40.19]])
    report = import_file(db, third, "enterprise")
    assert (report.inserted, report.updated) == (1, 0)
    assert count_rows(db, "enterprise") == 3


def test_import_log_row_is_written(db, tmp_path):
    """Each successful import writes one import_log row: kind, file, CRS, rows read, inserted, updated (a row
    given again as stored is not updated: the identical re-import's row says 0)."""
    header = ["source_id", "name", "industry", "lon", "lat"]
    path = write_csv(tmp_path / "ents.csv", header,
                     [["E1", "三友化工", "化工", 118.18, 39.63], ["E2", "钢铁厂", "steel", 118.2, 39.6]])
    moved = write_csv(tmp_path / "moved.csv", header,
                      [["E1", "三友化工", "化工", 118.19, 39.63], ["E2", "钢铁厂", "steel", 118.2, 39.61]])
    import_file(db, path, "enterprise")
    import_file(db, path, "enterprise")
    import_file(db, moved, "enterprise")
    assert rows(db, "SELECT kind, file, source_crs, rows_read, inserted, updated FROM import_log ORDER BY id") == [
        ("enterprise", "ents.csv", "EPSG:4326", 2, 2, 0),
        ("enterprise", "ents.csv", "EPSG:4326", 2, 0, 0),
        ("enterprise", "moved.csv", "EPSG:4326", 2, 0, 2),
    ]


def test_rows_are_written_in_hilbert_order_so_neighbours_get_neighbouring_ids(db, tmp_path):
    """A file listing a 16 x 16 grid of enterprises in random order, read in chunks of 100 rows: each chunk is
    written in the order of its rows' places on a Hilbert curve (the ids follow it), no row moves to another
    chunk, every row keeps its own attributes, and consecutive ids lie far closer together than consecutive
    rows of the file did."""
    rng = np.random.default_rng(4)
    grid = [(round(118.0 + 0.01 * i, 2), round(39.5 + 0.01 * j, 2)) for i in range(16) for j in range(16)]
    order = rng.permutation(len(grid))
    file_rows = [[f"E{k}", f"{grid[g][0]},{grid[g][1]}", "化工", grid[g][0], grid[g][1]] for k, g in enumerate(order)]
    path = write_csv(tmp_path / "grid.csv", ["source_id", "name", "industry", "lon", "lat"], file_rows)
    import_file(db, path, "enterprise", chunk_size=100)

    stored = rows(db, "SELECT id, source_id, name, ST_X(geom), ST_Y(geom) FROM enterprise ORDER BY id")
    assert len(stored) == 256
    assert all(name == f"{x},{y}" for _, _, name, x, y in stored)  # the attributes moved with their geometry
    keys = gpd.GeoSeries([shapely.Point(x, y) for *_, x, y in stored]).hilbert_distance(
        total_bounds=(-180, -90, 180, 90), level=16).to_numpy().astype(np.int64)
    for start in range(0, 256, 100):
        chunk = stored[start:start + 100]
        assert {r[1] for r in chunk} == {r[0] for r in file_rows[start:start + 100]}
        assert (np.diff(keys[start:start + 100]) >= 0).all()

    def mean_step_m(points) -> float:
        xs, ys = np.array(points).T
        return float(np.mean(GEOD.inv(xs[:-1], ys[:-1], xs[1:], ys[1:])[2]))

    in_file = mean_step_m([(r[3], r[4]) for r in file_rows])
    by_id = mean_step_m([(x, y) for *_, x, y in stored])
    assert by_id < in_file / 3, (by_id, in_file)
