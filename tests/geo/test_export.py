"""Exports (GeoJSON, GeoPackage, CSV) that import again unchanged, and failed exports that leave no file."""

from __future__ import annotations

import json

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geo.errors import InputError
from geo.exporter import export_features
from geo.importer import import_file
from tests.conftest import count_rows

COLUMNS = ["source_id", "name", "industry", "chemicals", "status", "employees", "flexible_worker_share",
           "violations_12m", "open_hidden_dangers", "major_hidden_danger", "last_inspection", "props"]


def sample_enterprises() -> gpd.GeoDataFrame:
    """Four enterprises exercising every attribute type, nulls, extra columns and full-precision coordinates."""
    return gpd.GeoDataFrame(
        {
            "source_id": ["E1", "E2", "E3", "E4"],
            "name": ["唐山三友化工股份有限公司", "迁安钢铁厂", "遵化铁矿", "Caofeidian Tank Farm"],
            "industry": ["化工", "steel", "mining", "oil storage"],
            "chemicals": ["氯:10;氨:100", None,
                          '[{"chemical": "硝酸铵", "quantity_t": 12.5, "hazard_category": "W1.1"}]', "汽油:250"],
            "status": ["在产", "停产", None, "operating"],
            "employees": [1200, 800, None, 35],
            "flexible_worker_share": [0.125, None, 0.5, 0.0],
            "violations_12m": [3, 0, None, 1],
            "open_hidden_dangers": [None, 2, 0, 4],
            "major_hidden_danger": ["是", "否", None, "true"],
            "last_inspection": ["2024-05-01", None, "2023-12-31", "2024-02-29"],
            "联系人": ["张三", None, "李四", "王五"],
            "credit_code": ["91130200MA0000000X", "91130200MA0000001Y", None, "91130200MA0000003Z"],
        },
        geometry=[
            shapely.Point(118.180194123, 39.630867456),
            shapely.Polygon([(118.70, 40.01), (118.7123456789, 40.01), (118.7123456789, 40.0187654321),
                             (118.70, 40.0187654321)]),
            shapely.MultiPolygon([
                shapely.Polygon([(117.96, 40.19), (117.97, 40.19), (117.97, 40.20)]),
                shapely.Polygon([(117.98, 40.19), (117.99, 40.19), (117.99, 40.20)]),
            ]),
            shapely.Point(118.456789012, 38.987654321),
        ],
        crs="EPSG:4326",
    )


def stored(conn) -> dict[str, dict]:
    """Every enterprise by source id: its attribute values, props and geometry (as shapely)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(COLUMNS)}, ST_AsBinary(geom) FROM enterprise ORDER BY source_id")
        out = {r[0]: {**dict(zip(COLUMNS, r[:-1], strict=True)), "geom": shapely.from_wkb(bytes(r[-1]))}
               for r in cur.fetchall()}
    conn.rollback()
    return out


@pytest.fixture
def loaded(db, tmp_path):
    """The sample enterprises imported into this test's database; returns what was stored."""
    source = tmp_path / "source.gpkg"
    sample_enterprises().to_file(source)
    import_file(db, source, "enterprise")
    before = stored(db)
    assert len(before) == 4
    assert before["E1"]["chemicals"] == [{"chemical": "氯", "quantity_t": 10.0},
                                         {"chemical": "氨", "quantity_t": 100.0}]
    assert before["E1"]["props"] == {"联系人": "张三", "credit_code": "91130200MA0000000X"}
    assert before["E2"]["props"] == {"credit_code": "91130200MA0000001Y"}
    return before


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv"])
def test_export_then_reimport_round_trips(db, tmp_path, loaded, fmt):
    """Export, TRUNCATE, re-import: same ids, names, attributes, chemicals and props; geometry within 1e-9°."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    path = out_dir / f"enterprises.{fmt}"
    assert export_features(db, "enterprise", fmt, path) == 4
    assert path.exists()
    assert [p.name for p in out_dir.iterdir()] == [path.name]  # no temporary file left behind

    with db.cursor() as cur:
        cur.execute("TRUNCATE enterprise")
    db.commit()
    report = import_file(db, path, "enterprise")
    assert (report.inserted, report.updated) == (4, 0)

    after = stored(db)
    assert sorted(after) == sorted(loaded)
    differences = []  # every difference at once, to make a failure easy to read
    for source_id, want in loaded.items():
        got = after[source_id]
        for column in COLUMNS:
            if got[column] != want[column]:
                differences.append(f"{source_id}.{column}: {want[column]!r} -> {got[column]!r}")
        if got["geom"].geom_type != want["geom"].geom_type or not shapely.equals_exact(
                got["geom"], want["geom"], tolerance=1e-9):
            differences.append(f"{source_id}.geom: {want['geom'].wkt} -> {got['geom'].wkt}")
    assert differences == [], f"{fmt} round trip changed:\n" + "\n".join(differences)


def test_geojson_export_is_plain_wgs84_feature_collection(db, tmp_path, loaded):
    """The GeoJSON export is a FeatureCollection of all features with Chinese text unescaped and props as properties."""
    path = tmp_path / "enterprises.geojson"
    export_features(db, "enterprise", "geojson", path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    by_id = {f["properties"]["source_id"]: f for f in data["features"]}
    assert sorted(by_id) == ["E1", "E2", "E3", "E4"]
    assert by_id["E1"]["properties"]["name"] == "唐山三友化工股份有限公司"
    assert by_id["E1"]["properties"]["联系人"] == "张三"
    assert by_id["E1"]["geometry"]["type"] == "Point"


def test_csv_export_of_points_carries_lon_lat_and_wkt(db, tmp_path):
    """A CSV export of point features has WKT plus lon/lat columns with the stored coordinates."""
    source = tmp_path / "points.gpkg"
    sample_enterprises().iloc[[0, 3]].to_file(source)
    import_file(db, source, "enterprise")
    path = tmp_path / "points.csv"
    export_features(db, "enterprise", "csv", path)
    table = pyogrio.read_dataframe(path, read_geometry=False)
    assert {"WKT", "lon", "lat", "source_id"} <= set(table.columns)
    row = table.set_index("source_id").loc["E1"]
    assert float(row["lon"]) == pytest.approx(118.180194123, abs=1e-9)
    assert float(row["lat"]) == pytest.approx(39.630867456, abs=1e-9)


def test_csv_export_text_is_formula_safe_and_geojson_keeps_it(db, tmp_path):
    """A name or an extra column a spreadsheet would run as a formula is written to CSV with a leading quote (as
    every CSV riskmap writes); the GeoJSON export keeps the text as stored."""
    sample = sample_enterprises().iloc[[0, 3]].copy()
    sample["name"] = ['=HYPERLINK("http://x","y")', "+1 tank farm"]
    sample["联系人"] = ["@SUM(A1)", "-"]
    source = tmp_path / "formulas.gpkg"
    sample.to_file(source)
    import_file(db, source, "enterprise")
    export_features(db, "enterprise", "csv", tmp_path / "out.csv")
    table = pyogrio.read_dataframe(tmp_path / "out.csv", read_geometry=False).set_index("source_id")
    assert table.loc["E1", "name"] == '\'=HYPERLINK("http://x","y")'
    assert table.loc["E4", "name"] == "'+1 tank farm"
    assert table.loc["E1", "联系人"] == "'@SUM(A1)" and table.loc["E4", "联系人"] == "'-"
    assert table.loc["E1", "credit_code"] == "91130200MA0000000X"  # other text unchanged
    export_features(db, "enterprise", "geojson", tmp_path / "out.geojson")
    features = {f["properties"]["source_id"]: f["properties"]
                for f in json.loads((tmp_path / "out.geojson").read_text())["features"]}
    assert features["E1"]["name"] == '=HYPERLINK("http://x","y")' and features["E4"]["联系人"] == "-"


def test_export_into_a_missing_directory_fails_and_leaves_no_file(db, tmp_path, loaded):
    """Exporting into a directory that does not exist raises InputError naming it and writes nothing."""
    path = tmp_path / "missing" / "enterprises.geojson"
    with pytest.raises(InputError) as exc:
        export_features(db, "enterprise", "geojson", path)
    assert str(tmp_path / "missing") in str(exc.value)
    assert not path.exists()
    assert not (tmp_path / "missing").exists()
    assert count_rows(db, "enterprise") == 4


def test_export_in_an_unknown_format_fails_and_leaves_no_file(db, tmp_path, loaded):
    """An unknown format raises InputError listing the formats; no file is written."""
    path = tmp_path / "enterprises.kml"
    with pytest.raises(InputError) as exc:
        export_features(db, "enterprise", "kml", path)
    assert "geojson" in str(exc.value) and "gpkg" in str(exc.value) and "csv" in str(exc.value)
    assert list(tmp_path.glob("enterprises*")) == []
