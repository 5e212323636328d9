"""Malformed inputs: every bad file is refused with the right error, and the database is left exactly as it was.

Each test writes its input into ``tmp_path`` at test time.  Most tests first import three good enterprises (or
pipelines, ponds, venues), so "nothing was written" is checked against real rows: same count, same values, same
timestamps.  Row-level problems raise ImportRejected, whose report names the row, the field and the reason;
file-level problems raise InputError or InvalidCRS, whose message names what is wrong.
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo.errors import ImportRejected, InputError, InvalidCRS
from geo.importer import import_file
from tests.conftest import count_rows

# ----- small fixture helpers --------------------------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8") -> Path:
    """A CSV file with ``header`` and ``rows`` (values written as given)."""
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def feature(props: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def snapshot(conn, table: str) -> list[dict]:
    """Every row of ``table`` (all columns, timestamps included) as JSON, ordered by source id."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT to_jsonb(t) || jsonb_build_object('geom_wkt', ST_AsText(geom)) FROM {table} t "
                    "ORDER BY source_id")
        rows = [r[0] for r in cur.fetchall()]
    conn.rollback()
    return rows


def errors_of(exc: ImportRejected) -> list[tuple[int | None, str | None, str]]:
    """The report's errors as sorted (row, field, reason) triples."""
    return sorted(((e.row, e.field, e.reason) for e in exc.report.errors), key=lambda t: (t[0] or -1, t[1] or ""))


GOOD_ENTERPRISES = [
    ["E1", "唐山第一化工厂", "化工", 120, 118.18, 39.63],
    ["E2", "迁安钢铁厂", "steel", 800, 118.70, 40.01],
    ["E3", "遵化铁矿", "mining", 45, 117.96, 40.19],
]
ENTERPRISE_HEADER = ["source_id", "name", "industry", "employees", "lon", "lat"]

GOOD_SEEDS = {
    "enterprise": (ENTERPRISE_HEADER, GOOD_ENTERPRISES),
    "pipeline": (["source_id", "name", "medium", "wkt"], [
        ["P1", "唐山输气干线", "gas", "LINESTRING (118.0 39.5, 118.2 39.6)"],
        ["P2", "冀东原油管道", "原油", "LINESTRING (118.3 39.2, 118.5 39.3)"],
        ["P3", "成品油支线", "成品油", "LINESTRING (118.1 39.1, 118.1 39.4)"],
    ]),
    "tailings_pond": (["source_id", "name", "safety_state", "capacity_10k_m3", "lon", "lat"], [
        ["T1", "大石河尾矿库", "正常", 1200, 118.60, 40.05],
        ["T2", "水厂尾矿库", "病", 800, 118.65, 40.10],
        ["T3", "棒磨山尾矿库", "normal", 300, 118.55, 40.20],
    ]),
    "venue": (["source_id", "name", "venue_type", "wkt"], [
        ["V1", "百货大楼", "商场", "POLYGON ((118.17 39.62, 118.18 39.62, 118.18 39.63, 118.17 39.63, 118.17 39.62))"],
        ["V2", "人民医院", "医院", "POINT (118.19 39.64)"],
        ["V3", "实验小学", "school", "POINT (118.20 39.65)"],
    ]),
}


@pytest.fixture
def seed(db, tmp_path):
    """Import three good features of a kind; returns the table's snapshot afterwards."""

    def _seed(kind: str = "enterprise") -> list[dict]:
        header, rows = GOOD_SEEDS[kind]
        report = import_file(db, write_csv(tmp_path / f"good_{kind}.csv", header, rows), kind)
        assert report.inserted == 3
        before = snapshot(db, kind)
        assert len(before) == 3
        return before

    return _seed


def assert_unchanged(db, table: str, before: list[dict]) -> None:
    assert count_rows(db, table) == len(before)
    assert snapshot(db, table) == before


# ----- broken files -------------------------------------------------------------------------------------------------


def test_truncated_geojson_is_an_input_error_and_writes_nothing(db, tmp_path, seed):
    """A GeoJSON file cut off mid-way is refused as unreadable, naming the file; the table is unchanged."""
    before = seed("enterprise")
    good = write_geojson(tmp_path / "full.geojson", [
        feature({"source_id": "E1", "name": "renamed", "industry": "mining"}, point(118.1, 39.6)),
        feature({"source_id": "E4", "name": "new", "industry": "mining"}, point(118.2, 39.7)),
    ])
    text = good.read_text(encoding="utf-8")
    broken = tmp_path / "broken.geojson"
    broken.write_text(text[: len(text) * 2 // 3], encoding="utf-8")
    with pytest.raises(InputError) as exc:
        import_file(db, broken, "enterprise")
    assert "broken.geojson" in str(exc.value)
    assert "cannot be read" in str(exc.value)
    assert_unchanged(db, "enterprise", before)


@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_linestring_enterprise_is_rejected(db, tmp_path, seed, fmt):
    """An enterprise given as a LineString is rejected at its row, field 'geometry', naming the allowed types."""
    before = seed("enterprise")
    if fmt == "geojson":
        path = write_geojson(tmp_path / "line.geojson", [
            feature({"source_id": "E1", "name": "renamed", "industry": "mining"}, point(118.1, 39.6)),
            feature({"source_id": "E4", "name": "铁路专用线", "industry": "logistics"},
                    {"type": "LineString", "coordinates": [[118.0, 39.5], [118.1, 39.6]]}),
        ])
    else:
        path = write_csv(tmp_path / "line.csv", ["source_id", "name", "industry", "wkt"], [
            ["E1", "renamed", "mining", "POINT (118.1 39.6)"],
            ["E4", "铁路专用线", "logistics", "LINESTRING (118.0 39.5, 118.1 39.6)"],
        ])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise")
    [(row, field, reason)] = errors_of(exc.value)
    assert (row, field) == (2, "geometry")
    assert "LineString" in reason and "Point" in reason and "Polygon" in reason
    assert_unchanged(db, "enterprise", before)


@pytest.mark.parametrize("case", ["csv POINT EMPTY", "geojson empty polygon", "geojson null geometry"])
def test_empty_or_missing_geometry_is_rejected(db, tmp_path, seed, case):
    """An empty geometry (WKT POINT EMPTY, a GeoJSON polygon without rings) or a null one is rejected at its row."""
    before = seed("enterprise")
    if case == "csv POINT EMPTY":
        path = write_csv(tmp_path / "empty_geom.csv", ["source_id", "name", "industry", "wkt"], [
            ["E1", "renamed", "mining", "POINT (118.1 39.6)"],
            ["E4", "无坐标企业", "mining", "POINT EMPTY"],
        ])
        expected = "empty geometry"
    else:
        geometry = {"type": "Polygon", "coordinates": []} if case == "geojson empty polygon" else None
        path = write_geojson(tmp_path / "empty_geom.geojson", [
            feature({"source_id": "E1", "name": "renamed", "industry": "mining"}, point(118.1, 39.6)),
            feature({"source_id": "E4", "name": "无坐标企业", "industry": "mining"}, geometry),
        ])
        expected = "empty geometry" if geometry else "geometry is missing"
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise")
    assert errors_of(exc.value) == [(2, "geometry", expected)]
    assert_unchanged(db, "enterprise", before)


BOW_TIE = [[118.0, 39.0], [118.01, 39.01], [118.01, 39.0], [118.0, 39.01], [118.0, 39.0]]


@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_self_intersecting_venue_polygon_is_rejected(db, tmp_path, seed, fmt):
    """A bow-tie venue polygon is rejected as an invalid geometry with GEOS's reason (self-intersection)."""
    before = seed("venue")
    if fmt == "geojson":
        path = write_geojson(tmp_path / "bowtie.geojson", [
            feature({"source_id": "V4", "name": "蝴蝶广场", "venue_type": "广场"},
                    {"type": "Polygon", "coordinates": [BOW_TIE]}),
        ])
    else:
        wkt = "POLYGON ((" + ", ".join(f"{x} {y}" for x, y in BOW_TIE) + "))"
        path = write_csv(tmp_path / "bowtie.csv", ["source_id", "name", "venue_type", "wkt"],
                         [["V4", "蝴蝶广场", "广场", wkt]])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "venue")
    [(row, field, reason)] = errors_of(exc.value)
    assert (row, field) == (1, "geometry")
    assert reason.startswith("invalid geometry") and "Self-intersection" in reason
    assert_unchanged(db, "venue", before)


def test_swapped_coordinates_are_rejected_with_a_hint(db, tmp_path, seed):
    """Latitude in the lon column and longitude in the lat column: rejected, and the reason says 'swapped'."""
    before = seed("enterprise")
    path = write_csv(tmp_path / "swapped.csv", ENTERPRISE_HEADER, [
        ["E1", "renamed", "mining", 5, 118.18, 39.63],
        ["E4", "反了", "mining", 5, 39.63, 118.18],
    ])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise")
    [(row, field, reason)] = errors_of(exc.value)
    assert (row, field) == (2, "geometry")
    assert "swapped" in reason and "118.18" in reason
    assert "swapped.csv: row 2, field 'geometry'" in str(exc.value)
    assert_unchanged(db, "enterprise", before)


def test_out_of_range_coordinates_are_rejected(db, tmp_path, seed):
    """A longitude beyond 180 and a latitude beyond -90 are each rejected at their own row."""
    before = seed("enterprise")
    path = write_csv(tmp_path / "range.csv", ENTERPRISE_HEADER, [
        ["E4", "东边", "mining", 5, 190, 39.6],
        ["E5", "正常", "mining", 5, 118.2, 39.6],
        ["E6", "南边", "mining", 5, 118.2, -95],
    ])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise")
    errors = errors_of(exc.value)
    assert [(r, f) for r, f, _ in errors] == [(1, "geometry"), (3, "geometry")]
    assert "longitude 190 is out of range" in errors[0][2]
    assert "latitude -95 is out of range" in errors[1][2]
    assert exc.value.report.error_count == 2
    assert_unchanged(db, "enterprise", before)


@pytest.mark.parametrize("fmt", ["lon/lat columns", "wkt column"])
def test_nan_coordinates_are_rejected(db, tmp_path, seed, fmt):
    """A NaN coordinate (in a lon column or inside WKT) is rejected at its row, and the reason names NaN."""
    before = seed("enterprise")
    if fmt == "lon/lat columns":
        path = write_csv(tmp_path / "nan.csv", ENTERPRISE_HEADER, [["E4", "无效", "mining", 5, "NaN", 39.6]])
        field = "lon"
    else:
        path = write_csv(tmp_path / "nan.csv", ["source_id", "name", "industry", "wkt"],
                         [["E4", "无效", "mining", "POINT (NaN 39.6)"]])
        field = "geometry"
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise")
    [(row, got_field, reason)] = errors_of(exc.value)
    assert (row, got_field) == (1, field)
    assert "NaN" in reason
    assert_unchanged(db, "enterprise", before)


# ----- attributes ---------------------------------------------------------------------------------------------------


def test_pipeline_without_a_medium_value_is_rejected(db, tmp_path, seed):
    """A pipeline row with a blank medium is rejected: row 2, field 'medium', 'required value is missing'."""
    before = seed("pipeline")
    path = write_csv(tmp_path / "pipes.csv", ["source_id", "name", "medium", "wkt"], [
        ["P1", "改名", "gas", "LINESTRING (118.0 39.5, 118.2 39.6)"],
        ["P4", "无介质", "", "LINESTRING (118.0 39.0, 118.1 39.1)"],
    ])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "pipeline")
    assert errors_of(exc.value) == [(2, "medium", "required value is missing")]
    assert "pipes.csv: row 2, field 'medium': required value is missing" in str(exc.value)
    assert_unchanged(db, "pipeline", before)


def test_pipeline_file_without_a_medium_column_is_an_input_error(db, tmp_path, seed):
    """A pipeline file that has no medium column at all is refused as a whole, naming the missing column."""
    before = seed("pipeline")
    path = write_csv(tmp_path / "nomedium.csv", ["source_id", "name", "wkt"],
                     [["P4", "无介质", "LINESTRING (118.0 39.0, 118.1 39.1)"]])
    with pytest.raises(InputError) as exc:
        import_file(db, path, "pipeline")
    msg = str(exc.value)
    assert "nomedium.csv" in msg and "'medium' column" in msg
    assert_unchanged(db, "pipeline", before)


def test_unknown_enum_value_is_rejected(db, tmp_path, seed):
    """safety_state 'wobbly' is rejected at its row, naming the value and the allowed ones."""
    before = seed("tailings_pond")
    path = write_csv(tmp_path / "ponds.csv", ["source_id", "name", "safety_state", "lon", "lat"], [
        ["T1", "改名", "危", 118.6, 40.05],
        ["T4", "摇晃库", "wobbly", 118.7, 40.0],
    ])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "tailings_pond")
    [(row, field, reason)] = errors_of(exc.value)
    assert (row, field) == (2, "safety_state")
    assert "'wobbly'" in reason and "normal" in reason and "critical" in reason
    assert_unchanged(db, "tailings_pond", before)


def test_negative_capacity_is_rejected(db, tmp_path, seed):
    """capacity_10k_m3 = -5 is rejected at its row as negative, with the allowed range."""
    before = seed("tailings_pond")
    path = write_csv(tmp_path / "ponds.csv", ["source_id", "name", "capacity_10k_m3", "lon", "lat"], [
        ["T1", "改名", 999, 118.6, 40.05],
        ["T4", "负库容", -5, 118.7, 40.0],
    ])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "tailings_pond")
    [(row, field, reason)] = errors_of(exc.value)
    assert (row, field) == (2, "capacity_10k_m3")
    assert reason.startswith("-5 is negative") and "between 0 and" in reason
    assert_unchanged(db, "tailings_pond", before)


def test_duplicate_ids_in_one_file_are_rejected_naming_both_rows(db, tmp_path, seed):
    """Two rows with the same id are rejected; the report names the id and both row numbers."""
    before = seed("enterprise")
    path = write_csv(tmp_path / "dups.csv", ENTERPRISE_HEADER, [
        ["E7", "甲", "mining", 5, 118.1, 39.6],
        ["E1", "renamed", "mining", 5, 118.2, 39.6],
        ["E7", "乙", "mining", 5, 118.3, 39.6],
    ])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise")
    [(row, field, reason)] = errors_of(exc.value)
    assert (row, field) == (3, "source_id")
    assert "'E7'" in reason and "row 1" in reason
    assert_unchanged(db, "enterprise", before)



def test_duplicate_ids_across_chunks_are_reported_in_row_order_naming_both_rows(db, tmp_path, seed):
    """Read in chunks of 4 rows, ids repeated from earlier chunks are found (by the table's unique index while
    loading, then named by a second reading of the id column): each repeat is reported once, in row order, with
    the row it first appeared at."""
    before = seed("enterprise")
    ids = [f"E{k}" for k in range(20, 32)] + ["E29", "E21", "E40", "E30", "E20"]
    path = write_csv(tmp_path / "dups.csv", ENTERPRISE_HEADER,
                     [[i, "甲", "mining", 5, 118.0 + 0.01 * k, 39.6] for k, i in enumerate(ids)])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise", chunk_size=4)
    errors = errors_of(exc.value)
    assert [(row, field) for row, field, _ in errors] == [(13, "source_id"), (14, "source_id"), (16, "source_id"),
                                                          (17, "source_id")]
    firsts = {"E29": 10, "E21": 2, "E30": 11, "E20": 1}
    for (_, _, reason), dup in zip(errors, ["E29", "E21", "E30", "E20"], strict=True):
        assert f"'{dup}'" in reason and f"row {firsts[dup]})" in reason
    assert_unchanged(db, "enterprise", before)


@pytest.mark.parametrize("path_taken", ["in place", "shadow table"])
def test_every_kind_of_repeated_id_is_named_whether_loaded_in_place_or_into_a_shadow(db, tmp_path, seed,
                                                                                     monkeypatch, path_taken):
    """New ids and ids already in the table, each repeated inside a chunk and across chunks (chunks of 4), are
    all reported with their first rows, for a load into the table itself and for a bulk load into a shadow
    table (where the unique index is only built at the end); nothing is written."""
    from geo import importer, shadow_table

    shadows = []
    plan = shadow_table.plan
    monkeypatch.setattr(shadow_table, "plan", lambda cur, table: shadows.append(plan(cur, table)) or shadows[-1])
    if path_taken == "shadow table":
        monkeypatch.setattr(importer, "BULK_THRESHOLD", 1)
        monkeypatch.setattr(importer, "BULK_SHARE", 0.0)
    before = seed("enterprise")
    shadows.clear()
    ids = ["N1", "E1", "N2", "N2",   # rows 1-4: a new id repeated inside the chunk
           "N3", "N1", "E2", "E2",   # rows 5-8: a new id from chunk 1; a known id repeated inside the chunk
           "E1", "N4", "N5", "N6"]   # rows 9-12: a known id from chunk 1
    path = write_geojson(tmp_path / "dups.geojson", [
        feature({"source_id": i, "name": "甲", "industry": "mining", "employees": 5}, point(118.0 + 0.01 * k, 39.6))
        for k, i in enumerate(ids)])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise", chunk_size=4)
    assert [(row, field, reason) for row, field, reason in errors_of(exc.value)] == [
        (4, "source_id", "duplicate id 'N2' (first used at feature 3)"),
        (6, "source_id", "duplicate id 'N1' (first used at feature 1)"),
        (8, "source_id", "duplicate id 'E2' (first used at feature 7)"),
        (9, "source_id", "duplicate id 'E1' (first used at feature 2)"),
    ]
    assert [s is not None for s in shadows] == ([True] if path_taken == "shadow table" else [])
    assert_unchanged(db, "enterprise", before)


def test_a_repeated_id_is_reported_with_the_other_errors_of_the_file(db, tmp_path, seed):
    """A bad value in the first chunk stops the load, but the report still names an id repeated two chunks
    later: one report lists everything that is wrong."""
    before = seed("enterprise")
    rows = [[f"E{20 + k}", "甲", "mining", 5, 118.0 + 0.01 * k, 39.6] for k in range(10)]
    rows[1][3] = -7  # employees: negative
    rows[9][0] = "E21"  # row 10 repeats row 2's id
    path = write_csv(tmp_path / "two.csv", ENTERPRISE_HEADER, rows)
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise", chunk_size=4)
    errors = errors_of(exc.value)
    assert [(row, field) for row, field, _ in errors] == [(2, "employees"), (10, "source_id")]
    assert errors[1][2] == "duplicate id 'E21' (first used at row 2)"
    assert_unchanged(db, "enterprise", before)


def test_repeats_beyond_the_report_cap_are_counted(db, tmp_path, seed):
    """A file that repeats 30 ids, with a report capped at 10 errors, lists the first 10 repeats in row order
    and counts all 30."""
    before = seed("enterprise")
    ids = [f"E{100 + k}" for k in range(30)] * 2
    path = write_csv(tmp_path / "twice.csv", ENTERPRISE_HEADER,
                     [[i, "甲", "mining", 5, 118.0 + 0.001 * k, 39.6] for k, i in enumerate(ids)])
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise", chunk_size=8, error_cap=10)
    report = exc.value.report
    assert report.error_count == 30
    assert [e.row for e in report.errors] == list(range(31, 41))
    assert report.errors[0].reason == "duplicate id 'E100' (first used at row 1)"
    assert "... and 20 more errors" in str(exc.value)
    assert_unchanged(db, "enterprise", before)

# ----- file-level problems ------------------------------------------------------------------------------------------


def test_unknown_crs_is_refused(db, tmp_path, seed):
    """crs='EPSG:999999' raises InvalidCRS naming the code; nothing is written."""
    before = seed("enterprise")
    path = write_csv(tmp_path / "ok.csv", ENTERPRISE_HEADER, [["E4", "新", "mining", 5, 118.1, 39.6]])
    with pytest.raises(InvalidCRS) as exc:
        import_file(db, path, "enterprise", crs="EPSG:999999")
    assert "EPSG:999999" in str(exc.value)
    assert_unchanged(db, "enterprise", before)


@pytest.mark.parametrize("name", ["empty.geojson", "empty.csv"])
def test_zero_byte_file_is_an_input_error(db, tmp_path, seed, name):
    """A 0-byte file is refused with 'the file is empty'."""
    before = seed("enterprise")
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(InputError) as exc:
        import_file(db, path, "enterprise")
    assert str(exc.value) == f"{name}: the file is empty"
    assert_unchanged(db, "enterprise", before)


def test_empty_feature_collection_is_an_input_error(db, tmp_path, seed):
    """A FeatureCollection with no features is refused as holding no features."""
    before = seed("enterprise")
    path = write_geojson(tmp_path / "none.geojson", [])
    with pytest.raises(InputError) as exc:
        import_file(db, path, "enterprise")
    assert "none.geojson" in str(exc.value) and "no features" in str(exc.value)
    assert_unchanged(db, "enterprise", before)


def test_gb18030_csv_needs_its_encoding_and_then_imports(db, tmp_path, seed):
    """A GB18030 CSV is refused naming the bad line and suggesting --encoding GB18030; with it, it imports."""
    before = seed("enterprise")
    path = write_csv(tmp_path / "gbk.csv", ENTERPRISE_HEADER, [
        ["E4", "Tangshan Steel", "steel", 10, 118.1, 39.6],
        ["E5", "唐山三友化工股份有限公司", "化工", 20, 118.2, 39.7],
    ], encoding="gb18030")
    with pytest.raises(InputError) as exc:
        import_file(db, path, "enterprise")
    msg = str(exc.value)
    assert "gbk.csv" in msg and "line 3" in msg and "UTF-8" in msg and "--encoding GB18030" in msg
    assert_unchanged(db, "enterprise", before)

    report = import_file(db, path, "enterprise", encoding="GB18030")
    assert (report.inserted, report.updated) == (2, 0)
    with db.cursor() as cur:
        cur.execute("SELECT name, industry FROM enterprise WHERE source_id = 'E5'")
        assert cur.fetchone() == ("唐山三友化工股份有限公司", "hazardous_chemicals")
    db.rollback()
    assert count_rows(db, "enterprise") == 5


def _shapefile_parts(tmp_path: Path) -> dict[str, Path]:
    """A one-feature enterprise shapefile written to tmp_path; returns its parts by extension."""
    gdf = gpd.GeoDataFrame({"source_id": ["E4"], "name": ["新厂"], "industry": ["mining"]},
                           geometry=[shapely.Point(118.1, 39.6)], crs="EPSG:4326")
    gdf.to_file(tmp_path / "ents.shp", encoding="utf-8")
    return {p.suffix: p for p in tmp_path.glob("ents.*")}


@pytest.mark.parametrize("members, expected", [
    ((".dbf", ".shx"), "holds no .shp file"),
    ((".shp", ".shx"), "lacks its .dbf file"),
])
def test_incomplete_zipped_shapefile_is_an_input_error(db, tmp_path, seed, members, expected):
    """A zip without its .shp, or with a .shp but no .dbf, is refused naming what is missing."""
    before = seed("enterprise")
    parts = _shapefile_parts(tmp_path)
    archive = tmp_path / "ents.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for ext in members:
            z.write(parts[ext], parts[ext].name)
    with pytest.raises(InputError) as exc:
        import_file(db, archive, "enterprise")
    assert "ents.zip" in str(exc.value) and expected in str(exc.value)
    assert_unchanged(db, "enterprise", before)


# ----- large files and many errors ----------------------------------------------------------------------------------


def test_one_bad_row_deep_in_a_large_file_writes_nothing(db, tmp_path, seed):
    """150,000 rows with one bad value at row 100,001 (default chunk size): exactly that row is reported."""
    before = seed("enterprise")
    path = tmp_path / "big.csv"
    lines = ["source_id,name,industry,employees,lon,lat"]
    for i in range(1, 150_001):
        employees = "many" if i == 100_001 else str(i % 1000)
        lines.append(f"B{i},企业{i},mining,{employees},{118 + (i % 500) * 1e-3:.3f},{39 + (i // 500) * 1e-3:.3f}")
    lines.append("E1,renamed,mining,1,118.0,39.0")  # an update of a known id: must not happen either
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise")
    report = exc.value.report
    assert report.error_count == 1
    assert errors_of(exc.value) == [(100_001, "employees", "'many' is not a number")]
    assert report.rows_read == 150_001
    assert_unchanged(db, "enterprise", before)


@pytest.mark.parametrize("cap", [100, 25])
def test_error_cap_limits_the_listed_errors_but_counts_all(db, tmp_path, seed, cap):
    """500 bad rows: error_count is 500, at most ``cap`` errors are listed, and the message says how many more."""
    before = seed("enterprise")
    rows = [[f"N{i}", f"企业{i}", "mining", -1 if i % 2 else 3, 118.1, 39.6] for i in range(1, 1001)]
    path = write_csv(tmp_path / "many_bad.csv", ENTERPRISE_HEADER, rows)
    with pytest.raises(ImportRejected) as exc:
        import_file(db, path, "enterprise", error_cap=cap)
    report = exc.value.report
    assert report.error_count == 500
    assert len(report.errors) == cap
    assert all(e.field == "employees" and e.row % 2 == 1 for e in report.errors)
    assert f"and {500 - cap} more errors" in str(exc.value)
    assert_unchanged(db, "enterprise", before)
