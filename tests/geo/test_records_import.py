"""Imports of the campaign's records through geo.importer.import_file (the features' one path): every record kind
from CSV, XLSX and GeoJSON with Chinese column names and values, sites named by source id or riskmap id and
resolved on the database, bad rows rejected with nothing written, re-imports that update, and the history of
every change with who made it.  Each test has its own migrated PostGIS database (``db``); dates are fixed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import time
from pathlib import Path

import openpyxl
import pytest

import geo.importer as importer
from geo.errors import ImportRejected
from geo.importer import import_file
from tests.conftest import count_rows

ACTOR = "cli:inspector-wang"


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list], sheet: str = "台账") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def rows(conn, query: str, params=()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        out = cur.fetchall()
    conn.rollback()
    return out


@pytest.fixture
def sites(db, tmp_path):
    """Two enterprises (E1, E2) and a tailings pond (TP1); returns their riskmap ids by source id."""
    write_csv(tmp_path / "ent.csv", ["id", "name", "industry", "lon", "lat"],
              [["E1", "唐山化工", "化工", 118.18, 39.63], ["E2", "迁安钢铁", "steel", 118.70, 40.01]])
    write_csv(tmp_path / "ponds.csv", ["id", "name", "lon", "lat"], [["TP1", "铁矿尾矿库", 118.5, 40.2]])
    import_file(db, tmp_path / "ent.csv", "enterprise")
    import_file(db, tmp_path / "ponds.csv", "tailings_pond")
    found = rows(db, "SELECT source_id, id FROM enterprise UNION ALL SELECT source_id, id FROM tailings_pond")
    return dict(found)


INSPECTIONS = (["检查编号", "对象类型", "企业编号", "检查日期", "检查类型", "检查组", "检查结果", "天气"],
               [["INS-1", "企业", "E1", "2026-03-01", "专项检查", "第一组", "发现隐患", "晴"],
                ["INS-2", "enterprise", "E2", "2026/03/02", "", "第二组", "未发现问题", ""],
                ["INS-3", "尾矿库", "TP1", "2026年3月3日", "回头看", "第三组", "发现隐患", "雨"]])


def test_inspections_import_from_a_chinese_csv(db, sites, tmp_path):
    """Chinese headers and values are recognised, sites named by their source ids get their riskmap ids, the
    type defaults to routine, other columns land in props, and each insert is in the history with who."""
    path = write_csv(tmp_path / "检查.csv", *INSPECTIONS)
    report = import_file(db, path, "inspection", actor=ACTOR)
    assert (report.inserted, report.updated, report.row_label) == (3, 0, "row")
    assert rows(db, "SELECT source_id, site_kind, site_id, inspected_on, inspection_type, team, outcome, props "
                    "FROM inspection ORDER BY source_id") == [
        ("INS-1", "enterprise", sites["E1"], dt.date(2026, 3, 1), "special", "第一组", "dangers_found", {"天气": "晴"}),
        ("INS-2", "enterprise", sites["E2"], dt.date(2026, 3, 2), "routine", "第二组", "no_findings", {}),
        ("INS-3", "tailings_pond", sites["TP1"], dt.date(2026, 3, 3), "look_back", "第三组", "dangers_found",
         {"天气": "雨"})]
    assert rows(db, "SELECT operation, changed_by, row_after->>'source_id' FROM record_history "
                    "WHERE record_table = 'inspection' ORDER BY id") == [
        ("insert", ACTOR, "INS-1"), ("insert", ACTOR, "INS-2"), ("insert", ACTOR, "INS-3")]


def test_hidden_dangers_import_from_xlsx_and_take_their_inspections_site(db, sites, tmp_path):
    """An XLSX register of dangers naming their inspection by source id: each danger gets the inspection's id
    and site; grades and statuses in Chinese; dates as date cells or text; status_changed_on is the date of the
    status."""
    import_file(db, write_csv(tmp_path / "i.csv", *INSPECTIONS), "inspection")
    path = write_xlsx(tmp_path / "隐患台账.xlsx",
                      ["隐患编号", "检查编号", "隐患描述", "隐患等级", "发现日期", "整改期限", "责任单位", "责任人",
                       "整改状态", "整改日期", "验收日期"],
                      [["HD-1", "INS-1", "储罐区可燃气体报警器失效", "重大隐患", dt.date(2026, 3, 1), "2026-03-31",
                        "唐山化工", "张三", "未整改", None, None],
                       ["HD-2", "INS-1", "消防通道堵塞", "一般", dt.date(2026, 3, 1), dt.date(2026, 3, 5), "唐山化工",
                        "李四", "已整改", dt.date(2026, 3, 4), None],
                       ["HD-3", "INS-3", "排洪设施淤堵", "一般事故隐患", "2026/03/03", "2026/03/20", "铁矿", "王五",
                        "已销号", "2026-03-10", "2026-03-12"]])
    report = import_file(db, path, "hidden_danger")
    assert report.inserted == 3
    insp = dict(rows(db, "SELECT source_id, id FROM inspection"))
    assert rows(db, "SELECT source_id, inspection_id, site_kind, site_id, grade, found_on, deadline, status, "
                    "status_changed_on, rectified_on, verified_on FROM hidden_danger ORDER BY source_id") == [
        ("HD-1", insp["INS-1"], "enterprise", sites["E1"], "major", dt.date(2026, 3, 1), dt.date(2026, 3, 31),
         "open", dt.date(2026, 3, 1), None, None),
        ("HD-2", insp["INS-1"], "enterprise", sites["E1"], "general", dt.date(2026, 3, 1), dt.date(2026, 3, 5),
         "rectified", dt.date(2026, 3, 4), dt.date(2026, 3, 4), None),
        ("HD-3", insp["INS-3"], "tailings_pond", sites["TP1"], "general", dt.date(2026, 3, 3), dt.date(2026, 3, 20),
         "verified", dt.date(2026, 3, 12), dt.date(2026, 3, 10), dt.date(2026, 3, 12))]


def test_enforcement_actions_import_from_geojson_without_geometry(db, sites, tmp_path):
    """GeoJSON records with no geometry: suspension (停产整顿) lifted later, closure (关闭取缔), a fine with its
    amount; the site named by its riskmap id."""
    features = [{"type": "Feature", "geometry": None, "properties": p} for p in (
        {"文书编号": "EA-1", "对象类型": "企业", "企业编号": "E1", "决定日期": "2026-03-05", "执法措施": "停产整顿",
         "复产日期": "2026-04-20"},
        {"文书编号": "EA-2", "对象类型": "企业", "对象ID": sites["E2"], "决定日期": "2026-03-06",
         "执法措施": "关闭取缔"},
        {"文书编号": "EA-3", "对象类型": "企业", "企业编号": "E2", "决定日期": "2026-03-07", "执法措施": "罚款",
         "罚款金额": 50000})]
    report = import_file(db, write_geojson(tmp_path / "执法.geojson", features), "enforcement_action")
    assert (report.inserted, report.row_label) == (3, "feature")
    assert rows(db, "SELECT source_id, site_id, decided_on, measure, fine_yuan::float, lifted_on "
                    "FROM enforcement_action ORDER BY source_id") == [
        ("EA-1", sites["E1"], dt.date(2026, 3, 5), "suspension", None, dt.date(2026, 4, 20)),
        ("EA-2", sites["E2"], dt.date(2026, 3, 6), "closure", None, None),
        ("EA-3", sites["E2"], dt.date(2026, 3, 7), "fine", 50000.0, None)]


def test_accidents_import_with_coordinates_wkt_or_geojson_and_their_class(db, sites, tmp_path):
    """Accidents from lon/lat CSV columns, a WKT column and GeoJSON points; the class is derived from deaths,
    serious injuries and loss unless given (a given class that agrees is kept); the site is optional."""
    write_csv(tmp_path / "a.csv", ["事故编号", "事故日期", "事故类型", "死亡人数", "重伤人数", "直接经济损失(万元)",
                                   "经度", "纬度", "对象类型", "企业编号"],
              [["A-1", "2025-06-01", "爆炸", 4, 0, "", 118.18, 39.63, "企业", "E1"],
               ["A-2", "2025-07-01", "火灾", "", 1, 50, 118.19, 39.64, "", ""]])
    write_csv(tmp_path / "b.csv", ["id", "occurred_on", "accident_class", "deaths", "WKT"],
              [["A-3", "2025-08-01", "重大", 12, "POINT (118.3 39.7)"]])
    point = {"type": "Point", "coordinates": [118.4, 39.8]}
    properties = {"id": "A-4", "发生日期": "2025-09-01", "直接经济损失": 12000}
    write_geojson(tmp_path / "c.geojson", [{"type": "Feature", "geometry": point, "properties": properties}])
    for name in ("a.csv", "b.csv", "c.geojson"):
        import_file(db, tmp_path / name, "accident")
    assert rows(db, "SELECT source_id, accident_class, deaths, serious_injuries, site_kind, site_id, "
                    "ST_AsText(geom) FROM accident ORDER BY source_id") == [
        ("A-1", "relatively_serious", 4, 0, "enterprise", sites["E1"], "POINT(118.18 39.63)"),
        ("A-2", "general", 0, 1, None, None, "POINT(118.19 39.64)"),
        ("A-3", "serious", 12, 0, None, None, "POINT(118.3 39.7)"),
        ("A-4", "especially_serious", 0, 0, None, None, "POINT(118.4 39.8)")]


BAD_ROWS = {
    "unknown site": ("inspection", ["id", "site_kind", "site_source_id", "inspected_on"],
                     [[f"I-{k}", "enterprise", "E1", "2026-03-01"] for k in range(1, 7)]
                     + [["I-7", "enterprise", "E99", "2026-03-01"]],
                     "row 7, field 'site_source_id': site enterprise 'E99' does not exist"),
    "unknown site id": ("enforcement_action", ["id", "site_kind", "site_id", "decided_on", "measure"],
                        [["EA-1", "venue", 1, "2026-03-01", "责令整改"]],
                        "row 1, field 'site_id': site venue with id 1 does not exist"),
    "bad grade": ("hidden_danger", ["id", "site_kind", "site_source_id", "description", "grade", "found_on"],
                  [["HD-1", "enterprise", "E1", "漏气", "特大", "2026-03-01"]],
                  "row 1, field 'grade': unknown value '特大'; allowed: general, major"),
    "deadline before found date": ("hidden_danger", ["隐患编号", "对象类型", "企业编号", "隐患描述", "隐患等级",
                                                     "发现日期", "整改期限"],
                                   [["HD-1", "企业", "E1", "漏气", "一般", "2026-03-10", "2026-03-01"]],
                                   "row 1, field 'deadline': deadline 2026-03-01 is before the date it was found "
                                   "(found_on 2026-03-10)"),
    "class contradicting deaths": ("accident", ["id", "occurred_on", "accident_class", "deaths", "lon", "lat"],
                                   [["A-1", "2025-06-01", "一般", 12, 118.1, 39.6]],
                                   "row 1, field 'accident_class': the class 一般 (general) contradicts the numbers "
                                   "(deaths 12, seriously injured 0), which make a 重大 (serious) accident"),
    "unknown inspection": ("hidden_danger", ["id", "inspection_source_id", "description", "grade", "found_on"],
                           [["HD-1", "INS-404", "漏气", "一般", "2026-03-01"]],
                           "row 1, field 'inspection_source_id': inspection 'INS-404' does not exist"),
    "fine without amount": ("enforcement_action", ["id", "site_kind", "site_source_id", "decided_on", "measure"],
                            [["EA-1", "enterprise", "E1", "2026-03-01", "罚款"]],
                            "row 1, field 'fine_yuan': a fine needs its amount in yuan"),
    "verified without rectification": ("hidden_danger", ["id", "site_kind", "site_source_id", "description",
                                                         "grade", "found_on", "status", "verified_on"],
                                       [["HD-1", "enterprise", "E1", "漏气", "一般", "2026-03-01", "已验收",
                                         "2026-03-09"]],
                                       "row 1, field 'rectified_on': a verified danger needs the date it was "
                                       "rectified"),
    "no site at all": ("hidden_danger", ["id", "description", "grade", "found_on"],
                       [["HD-1", "漏气", "一般", "2026-03-01"]],
                       "row 1, field 'site_kind': the record names neither its site"),
    "site class without its id": ("accident", ["id", "occurred_on", "deaths", "site_kind", "lon", "lat"],
                                  [["A-1", "2025-06-01", 1, "enterprise", 118.1, 39.6]],
                                  "row 1, field 'site_id': the site enterprise is not named"),
    "site id and source id disagree": ("inspection", ["id", "site_kind", "site_id", "site_source_id",
                                                      "inspected_on"],
                                       [["I-1", "enterprise", "@E2", "E1", "2026-03-01"]],
                                       "row 1, field 'site_id': site_id"),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_a_bad_record_row_rejects_the_file_and_writes_nothing(db, sites, tmp_path, case):
    """Unknown sites and inspections, bad grades, deadlines before the found date, classes the deaths
    contradict, fines without amounts, statuses without their dates: the report names the row, the field and
    the reason, and no record (nor any history) is written."""
    kind, header, data, expected = BAD_ROWS[case]
    data = [[sites["E2"] if v == "@E2" else v for v in r] for r in data]
    with pytest.raises(ImportRejected) as e:
        import_file(db, write_csv(tmp_path / "bad.csv", header, data), kind)
    assert any(expected in line for line in e.value.report.lines()), e.value.report.lines()
    assert count_rows(db, kind) == 0 and count_rows(db, "record_history") == 0


def test_reimport_updates_records_and_the_history_keeps_before_and_after(db, sites, tmp_path):
    """Importing known source ids again updates them (the file's columns only); a status moved forward by the
    register is kept with its date; the history has the row before and after, with who."""
    header = ["id", "site_kind", "site_source_id", "description", "grade", "found_on", "deadline",
              "responsible_person"]
    import_file(db, write_csv(tmp_path / "v1.csv", header,
                              [["HD-1", "enterprise", "E1", "漏气", "major", "2026-03-01", "2026-03-31", "张三"]]),
                "hidden_danger", actor="cli:first")
    header2 = ["id", "site_kind", "site_source_id", "description", "grade", "found_on", "deadline", "status",
               "rectified_on"]
    report = import_file(db, write_csv(tmp_path / "v2.csv", header2,
                                       [["HD-1", "enterprise", "E1", "漏气", "major", "2026-03-01", "2026-04-15",
                                         "rectified", "2026-04-10"],
                                        ["HD-2", "enterprise", "E2", "粉尘", "general", "2026-03-02", "", "", ""]]),
                         "hidden_danger", actor="cli:second")
    assert (report.inserted, report.updated) == (1, 1)
    assert rows(db, "SELECT source_id, deadline, status, status_changed_on, rectified_on, responsible_person "
                    "FROM hidden_danger ORDER BY source_id") == [
        ("HD-1", dt.date(2026, 4, 15), "rectified", dt.date(2026, 4, 10), dt.date(2026, 4, 10), "张三"),
        ("HD-2", None, "open", dt.date(2026, 3, 2), None, None)]
    history = rows(db, "SELECT operation, changed_by, row_before->>'status', row_after->>'status', "
                       "row_before->>'deadline', row_after->>'deadline' FROM record_history "
                       "WHERE record_table = 'hidden_danger' AND row_after->>'source_id' = 'HD-1' ORDER BY id")
    assert history == [("insert", "cli:first", None, "open", None, "2026-03-31"),
                       ("update", "cli:second", "open", "rectified", "2026-03-31", "2026-04-15")]


def test_a_reimport_of_identical_rows_changes_nothing_and_says_they_are_unchanged(db, sites, tmp_path):
    """The same file imported twice: the second import reports its rows as unchanged (none updated), writes no
    history row and leaves no change for the scores to follow; a file changing one of its rows updates that one
    only."""
    header = ["id", "site_kind", "site_source_id", "inspected_on", "team"]
    data = [["I-1", "enterprise", "E1", "2026-03-01", "一组"], ["I-2", "enterprise", "E2", "2026-03-02", "二组"]]
    import_file(db, write_csv(tmp_path / "a.csv", header, data), "inspection")
    history = count_rows(db, "record_history")
    with db.cursor() as cur:
        cur.execute("DELETE FROM risk_record_changed")
    db.commit()
    again = import_file(db, write_csv(tmp_path / "b.csv", header, data), "inspection")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert count_rows(db, "record_history") == history and count_rows(db, "risk_record_changed") == 0
    data[1][4] = "三组"
    changed = import_file(db, write_csv(tmp_path / "c.csv", header, data), "inspection")
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 1)
    assert count_rows(db, "record_history") == history + 1


def test_an_inspections_file_may_name_its_id_column_inspection_id(db, sites, tmp_path):
    """A register exported with English headers names the id column after the record: inspection_id."""
    path = write_csv(tmp_path / "i.csv", ["inspection_id", "site_kind", "site_source_id", "inspected_on"],
                     [["INS-9", "enterprise", "E1", "2026-03-01"]])
    assert import_file(db, path, "inspection").inserted == 1
    assert rows(db, "SELECT source_id FROM inspection") == [("INS-9",)]


def test_a_report_names_the_files_column_and_line(db, sites, tmp_path):
    """A bad cell of a CSV with Chinese headers: the report names riskmap's field, the file's own column and the
    line of the file (the header is line 1, so data row 2 is line 3), in the text and in the JSON."""
    path = write_csv(tmp_path / "隐患.csv", ["隐患编号", "对象类型", "企业编号", "隐患描述", "隐患等级", "发现日期"],
                     [["HD-1", "企业", "E1", "漏气", "一般", "2026-03-01"],
                      ["HD-2", "企业", "E1", "漏气", "特大", "2026-03-01"]])
    with pytest.raises(ImportRejected) as e:
        import_file(db, path, "hidden_danger")
    reason = "unknown value '特大'; allowed: general, major (or their Chinese names)"
    assert e.value.report.lines() == [f"隐患.csv: row 2, field 'grade': {reason} (column 隐患等级, line 3)"]
    assert e.value.report.as_dict()["errors"] == [{"row": 2, "field": "grade", "reason": reason, "column": "隐患等级",
                                                   "line": 3}]


def test_a_reimport_cannot_move_a_danger_back_to_open_and_keeps_the_status_it_does_not_give(db, sites, tmp_path):
    """A file without a status column leaves the stored status (and its date) alone; one that sets a
    rectified danger back to open is a bad row naming the allowed changes."""
    header = ["id", "site_kind", "site_source_id", "description", "grade", "found_on", "status", "rectified_on"]
    import_file(db, write_csv(tmp_path / "v1.csv", header, [["HD-1", "enterprise", "E1", "漏气", "major",
                                                             "2026-03-01", "rectified", "2026-03-05"]]),
                "hidden_danger")
    no_status = ["id", "site_kind", "site_source_id", "description", "grade", "found_on", "measures"]
    import_file(db, write_csv(tmp_path / "v2.csv", no_status, [["HD-1", "enterprise", "E1", "漏气", "major",
                                                                "2026-03-01", "更换报警器"]]), "hidden_danger")
    assert rows(db, "SELECT status, status_changed_on, measures FROM hidden_danger") == [
        ("rectified", dt.date(2026, 3, 5), "更换报警器")]
    back = ["id", "site_kind", "site_source_id", "description", "grade", "found_on", "status"]
    with pytest.raises(ImportRejected) as e:
        import_file(db, write_csv(tmp_path / "v3.csv", back, [["HD-1", "enterprise", "E1", "漏气", "major",
                                                               "2026-03-01", "未整改"]]), "hidden_danger")
    assert e.value.report.lines() == [
        "v3.csv: row 1, field 'status': the stored danger is rectified and cannot become open; from rectified it "
        "may become: verified, reopened (line 2)"]


def test_a_danger_naming_a_site_other_than_its_inspections_is_rejected(db, sites, tmp_path):
    """A danger that names both its inspection and a site must name the inspection's site."""
    import_file(db, write_csv(tmp_path / "i.csv", *INSPECTIONS), "inspection")
    with pytest.raises(ImportRejected) as e:
        import_file(db, write_csv(tmp_path / "hd.csv", ["id", "inspection_source_id", "site_kind",
                                                        "site_source_id", "description", "grade", "found_on"],
                                  [["HD-1", "INS-1", "enterprise", "E2", "漏气", "一般", "2026-03-01"]]),
                    "hidden_danger")
    assert "is not the site of its inspection" in e.value.report.lines()[0]


def test_features_import_from_xlsx_too(db, tmp_path):
    """XLSX works for features as well: an enterprise register with Chinese headers and all-text cells."""
    path = write_xlsx(tmp_path / "企业.xlsx", ["编号", "名称", "行业", "经度", "纬度"],
                      [["E1", "唐山化工", "化工", "118.18", "39.63"], ["E2", "迁安钢铁", "钢铁", "118.7", "40.01"]])
    report = import_file(db, path, "enterprise")
    assert (report.inserted, report.row_label) == (2, "row")
    assert rows(db, "SELECT source_id, industry, ST_AsText(geom) FROM enterprise ORDER BY 1") == [
        ("E1", "hazardous_chemicals", "POINT(118.18 39.63)"), ("E2", "metallurgy", "POINT(118.7 40.01)")]


def test_imports_in_one_transaction_are_all_or_nothing(db, sites, tmp_path):
    """With commit=False an inspection and its dangers are written together: a bad danger rolls back the
    inspection imported before it in the same transaction."""
    db.autocommit = False
    import_file(db, write_csv(tmp_path / "i.csv", *INSPECTIONS), "inspection", commit=False)
    with pytest.raises(ImportRejected):
        import_file(db, write_csv(tmp_path / "hd.csv", ["id", "inspection_source_id", "description", "grade",
                                                        "found_on"],
                                  [["HD-1", "INS-1", "漏气", "一般", "2026-03-01"],
                                   ["HD-2", "INS-1", "粉尘", "特大", "2026-03-01"]]),
                    "hidden_danger", commit=False)
    assert count_rows(db, "inspection") == 0 and count_rows(db, "hidden_danger") == 0


def test_a_bulk_record_import_takes_the_shadow_path_and_keeps_history_and_photos(db, sites, tmp_path, monkeypatch):
    """A large load of dangers (the bulk threshold lowered) is swapped in at the commit like a feature table's:
    the photos' foreign key survives, stored photos stay, and every new row is in the history."""
    header = ["id", "site_kind", "site_source_id", "description", "grade", "found_on"]
    import_file(db, write_csv(tmp_path / "one.csv", header, [["HD-0", "enterprise", "E1", "漏气", "一般",
                                                              "2026-03-01"]]), "hidden_danger")
    with db.cursor() as cur:
        cur.execute("INSERT INTO hidden_danger_photo (hidden_danger_id, content_type, bytes, sha256) "
                    "SELECT id, 'image/png', '\\x89504e47'::bytea, repeat('a', 64) FROM hidden_danger")
    db.commit()
    monkeypatch.setattr(importer, "BULK_THRESHOLD", 100)
    relation = rows(db, "SELECT 'hidden_danger'::regclass::oid")
    many = [{"type": "Feature", "geometry": None,
             "properties": dict(zip(header, [f"HD-{k}", "enterprise", "E2", f"隐患{k}", "一般", "2026-03-02"],
                                    strict=True))} for k in range(1, 201)]
    report = import_file(db, write_geojson(tmp_path / "many.geojson", many), "hidden_danger", actor=ACTOR)
    assert report.inserted == 200
    assert rows(db, "SELECT 'hidden_danger'::regclass::oid") != relation  # a new table, swapped in
    assert count_rows(db, "hidden_danger") == 201 and count_rows(db, "hidden_danger_photo") == 1
    assert rows(db, "SELECT count(*) FROM record_history WHERE changed_by = %s", (ACTOR,)) == [(200,)]
    assert rows(db, "SELECT confrelid = 'hidden_danger'::regclass FROM pg_constraint "
                    "WHERE conrelid = 'hidden_danger_photo'::regclass AND contype = 'f'") == [(True,)]


TODAY = dt.date(2026, 3, 31)  # the fixed "today" of the tests of dates after today

AHEAD = {
    "inspection": (["id", "site_kind", "site_source_id", "inspected_on"],
                   [["I-1", "enterprise", "E1", "2026-03-31"], ["I-2", "enterprise", "E1", "2026-04-01"]],
                   "row 2, field 'inspected_on': the date 2026-04-01 is after today (2026-03-31)"),
    "hidden_danger": (["id", "site_kind", "site_source_id", "description", "grade", "found_on", "deadline",
                       "status", "rectified_on"],
                      [["HD-1", "enterprise", "E1", "漏气", "一般", "2026-03-01", "2026-05-01", "rectified",
                        "2027-03-10"]],
                      "row 1, field 'rectified_on': the date 2027-03-10 is after today (2026-03-31)"),
    "enforcement_action": (["id", "site_kind", "site_source_id", "decided_on", "measure"],
                           [["EA-1", "enterprise", "E1", "2027-03-01", "停产整顿"]],
                           "row 1, field 'decided_on': the date 2027-03-01 is after today (2026-03-31)"),
    "accident": (["id", "occurred_on", "deaths", "lon", "lat"], [["A-1", "2026-12-01", 1, 118.1, 39.6]],
                 "row 1, field 'occurred_on': the date 2026-12-01 is after today (2026-03-31)"),
}


@pytest.mark.parametrize("kind", AHEAD)
def test_a_record_dated_after_today_is_rejected_naming_the_field(db, sites, tmp_path, kind):
    """What a record says happened (inspected, found, rectified, decided, occurred) cannot be dated after the
    import's today (geo/dates.py): the row and the field are named, and nothing is written."""
    header, data, expected = AHEAD[kind]
    with pytest.raises(ImportRejected) as e:
        import_file(db, write_csv(tmp_path / "ahead.csv", header, data), kind, today=TODAY)
    assert any(expected in line for line in e.value.report.lines()), e.value.report.lines()
    assert count_rows(db, kind) == 0 and count_rows(db, "record_history") == 0


def test_a_deadline_after_today_is_accepted_and_today_itself_is_not_ahead(db, sites, tmp_path):
    """A rectification deadline lies ahead by nature; a danger found today is not after today."""
    path = write_csv(tmp_path / "d.csv", ["id", "site_kind", "site_source_id", "description", "grade", "found_on",
                                          "deadline"],
                     [["HD-1", "enterprise", "E1", "漏气", "一般", "2026-03-31", "2026-06-30"]])
    report = import_file(db, path, "hidden_danger", today=TODAY)
    assert report.inserted == 1
    assert rows(db, "SELECT found_on, deadline FROM hidden_danger") == [(TODAY, dt.date(2026, 6, 30))]


def test_a_status_change_dated_after_today_is_refused_naming_on(db, sites, tmp_path):
    """change_danger refuses a status change dated after today (a FieldError naming 'on'); the danger stays
    open."""
    from geo.errors import FieldError
    from geo.records.store import change_danger

    import_file(db, write_csv(tmp_path / "d.csv", ["id", "site_kind", "site_source_id", "description", "grade",
                                                   "found_on"],
                              [["HD-1", "enterprise", "E1", "漏气", "一般", "2026-03-01"]]), "hidden_danger")
    danger_id = rows(db, "SELECT id FROM hidden_danger")[0][0]
    with pytest.raises(FieldError) as e:
        change_danger(db, danger_id, status="rectified", on=dt.date(2026, 4, 1), today=TODAY)
    assert e.value.field == "on" and "2026-04-01 is after today (2026-03-31)" in str(e.value)
    assert rows(db, "SELECT status FROM hidden_danger") == [("open",)]
    assert change_danger(db, danger_id, status="rectified", on=TODAY, today=TODAY)["status"] == "rectified"


def test_an_unknown_class_of_site_is_reported_once(db, sites, tmp_path):
    """A class of site riskmap does not know (工厂) is one error naming the value, not also a missing class."""
    path = write_csv(tmp_path / "d.csv", ["隐患编号", "对象类型", "企业编号", "隐患描述", "隐患等级", "发现日期"],
                     [["HD-1", "工厂", "E1", "漏气", "一般", "2026-03-01"]])
    with pytest.raises(ImportRejected) as e:
        import_file(db, path, "hidden_danger")
    assert [(x.row, x.field) for x in e.value.report.errors] == [(1, "site_kind")]
    assert "unknown value '工厂'" in e.value.report.errors[0].reason


def test_site_lookups_wait_while_the_loader_writes_a_chunk(db, sites, tmp_path, monkeypatch):
    """A records file of many chunks: the loader thread COPYs one chunk while the caller's thread validates the next
    and looks its sites up, on the same connection.  psycopg2 lets a query through in the middle of a COPY's data,
    which left both ends waiting for each other (the demo's build hung there): the lookups wait for the COPY.  Each
    COPY is slowed down so that the next chunk's lookup surely falls within it; a lookup made during a COPY fails
    the import, and every row is written."""
    from geo.records import references

    copying = threading.Event()
    real_lookup = references._lookup

    class Slow(io.RawIOBase):
        def __init__(self, buf):
            self.buf = buf

        def readable(self) -> bool:
            return True

        def read(self, size=-1):
            time.sleep(0.02)  # (a slow stream: widens the window in which the next lookup would come)
            return self.buf.read(min(size if size > 0 else 4096, 512))

    def slow_copy(cur, table, rows):  # importer._copy, with a slow stream
        import pyarrow.csv as pacsv
        from psycopg2 import sql

        buf = io.BytesIO()
        pacsv.write_csv(rows, buf, write_options=pacsv.WriteOptions(include_header=False))
        buf.seek(0)
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in rows.column_names)
        copying.set()
        try:
            cur.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(table, cols).as_string(cur),
                            Slow(buf), size=512)
        finally:
            copying.clear()

    def watched_lookup(cur, query, ids, source_ids):
        if copying.is_set():
            raise AssertionError("a site lookup was sent in the middle of a COPY")
        return real_lookup(cur, query, ids, source_ids)

    monkeypatch.setattr(importer, "_copy", slow_copy)
    monkeypatch.setattr(references, "_lookup", watched_lookup)
    n = 300
    path = write_csv(tmp_path / "many.csv", INSPECTIONS[0],
                     [[f"INS-{i}", "企业", "E1" if i % 2 else "E2", "2026-03-01", "专项检查", "第一组", "发现隐患", ""]
                      for i in range(n)])
    report = import_file(db, path, "inspection", chunk_size=30)
    assert report.inserted == n
    assert rows(db, "SELECT count(*), count(DISTINCT site_id) FROM inspection") == [(n, 2)]
