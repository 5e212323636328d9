"""GET /risk-list (the list of major risks, 重大风险清单) as JSON, CSV and XLSX against the scored demo."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager

import h3
import openpyxl
import pytest

from api.routes.risk_list import (
    COLUMNS,
    XLSX,
    flatten_reasons,
    hca_cells,
    negotiate,
    spreadsheet_safe,
    to_csv,
    to_xlsx,
)

KINDS = ("enterprise", "tailings_pond", "pipeline", "venue")
WORST_FIRST = ["red", "orange", "yellow", "blue"]
COUNTY = "130203"  # 路北区, Tangshan: dense demo features of every kind
HYPERLINK = '=HYPERLINK("http://x","y")'


def listing(client, **params) -> dict:
    r = client.get("/risk-list", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def keys(items) -> list[tuple[str, int]]:
    return [(it["kind"], it["id"]) for it in items]


def expected_keys(conn, levels=("red", "orange"), kinds=KINDS, where: str = "", params=()) -> list[tuple[str, int]]:
    """(kind, id) of the scored features at these levels, in the list's order, straight from the database;
    `where` is an extra condition on the feature row `f` of each kind table."""
    parts, args = [], []
    for kind in kinds:
        parts.append(f"SELECT '{kind}' AS kind, f.id, r.level, r.score FROM feature_risk r "
                     f"JOIN {kind} f ON f.id = r.feature_id WHERE r.kind = '{kind}' AND r.level = ANY(%s) {where}")
        args += [list(levels), *params]
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM (" + " UNION ALL ".join(parts) + ") listed ORDER BY "
                    "array_position(ARRAY['red', 'orange', 'yellow', 'blue'], level), round(score::numeric, 2) DESC, "
                    "kind, id", args)
        return [(k, i) for k, i, _, _ in cur.fetchall()]


@contextmanager
def renamed(conn, kind: str, fid: int, name: str):
    """The feature temporarily carries this name (restored afterwards)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT name FROM {kind} WHERE id = %s", (fid,))
        old = cur.fetchone()[0]
        cur.execute(f"UPDATE {kind} SET name = %s WHERE id = %s", (name, fid))
    try:
        yield
    finally:
        with conn.cursor() as cur:
            cur.execute(f"UPDATE {kind} SET name = %s WHERE id = %s", (old, fid))


def csv_rows(content: bytes) -> list[dict]:
    assert content.startswith(b"\xef\xbb\xbf")
    text = content[3:].decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert tuple(header) == COLUMNS
    return [dict(zip(header, row, strict=True)) for row in reader]


def xlsx_sheet(content: bytes):
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert len(wb.worksheets) == 1
    return wb.worksheets[0]


# --- pure functions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"),
    (HYPERLINK, "'" + HYPERLINK),
    ("+86 315 1234", "'+86 315 1234"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("唐山钢铁", "唐山钢铁"),
    ("a=b", "a=b"),
    ("", ""),
    ("'already quoted", "'already quoted"),
    (-3.5, -3.5),
    (-7, -7),
    (0, 0),
    (None, None),
    (True, True),
])
def test_spreadsheet_safe(value, expected):
    """Text starting with = + - @, tab or CR gets a leading quote; other text, numbers and None pass unchanged."""
    assert spreadsheet_safe(value) == expected
    assert type(spreadsheet_safe(value)) is type(value)


@pytest.mark.parametrize(("accept", "fmt"), [
    (None, "json"),
    ("", "json"),
    ("*/*", "json"),
    ("text/html", "json"),
    ("application/json", "json"),
    ("text/csv", "csv"),
    ("TEXT/CSV; charset=utf-8", "csv"),
    (XLSX, "xlsx"),
    ("text/csv;q=0.5, " + XLSX, "xlsx"),
    ("text/csv, application/json", "csv"),
    ("application/json;q=0.9, text/csv", "csv"),
    ("text/csv;q=0, */*", "json"),
    ("text/csv;q=abc", "json"),
])
def test_negotiate(accept, fmt):
    """The Accept header picks the supported type of highest q (first listed on a tie), JSON otherwise."""
    assert negotiate(accept) == fmt


def test_hca_cells_join_neighbouring_segments_by_grade():
    """A pipeline's HCA cells: its grade, HCA segments and km, and its stretches grade by grade, worst first,
    neighbouring segments of one grade joined; four empty cells for other kinds."""
    def seg(seq, grade):
        return {"seq": seq, "grade": grade, "from_km": seq * 1.0, "to_km": seq + 1.0, "km": 1.0,
                "conditions": "", "assumed": False}
    hca = {"grade": 3, "by_grade": [{"grade": 3, "segments": 3, "km": 3.0}, {"grade": 2, "segments": 1, "km": 1.0},
                                    {"grade": 1, "segments": 0, "km": 0.0}, {"grade": 0, "segments": 5, "km": 5.0}],
           "segments": [seg(0, 2), seg(1, 3), seg(2, 3), seg(5, 3)]}
    assert hca_cells(hca) == [3, 4, 4.0, "Ⅲ: 1.00–3.00 km (segments 1–2), 5.00–6.00 km (segment 5); "
                                         "Ⅱ: 0.00–1.00 km (segment 0)"]
    none = {"grade": 0, "by_grade": [{"grade": g, "segments": 0 if g else 2, "km": 0.0 if g else 2.0}
                                     for g in (3, 2, 1, 0)], "segments": []}
    assert hca_cells(none) == [0, 0, 0.0, ""]
    assert hca_cells(None) == [None, None, None, None]


def test_flatten_reasons():
    """Reasons become one readable cell: title: value (points pts), separated by ' ; '."""
    reasons = [{"factor": "exits_blocked", "title": "An exit blocked", "value": True, "points": 25, "source": "s"},
               {"factor": "age", "title": "Age", "value": 44, "points": 13.6000001, "source": "s"},
               {"factor": "x", "title": None, "value": None, "points": None, "source": None}]
    assert flatten_reasons(reasons) == "An exit blocked: yes (25 pts) ; Age: 44 (13.6 pts) ; x: n/a (n/a pts)"
    assert flatten_reasons([]) == ""


def test_writers_guard_every_text_cell():
    """to_csv quotes formula-like text in any column; to_xlsx stores it as text cells with the hidden quote prefix,
    shown as written (even after dropping control characters XLSX cannot hold); numbers stay numbers."""
    item = {"rank": 1, "kind": "venue", "id": 7, "source_id": "-7", "name": "\x01=1+1", "level": "red", "score": 90.5,
            "direct_red": "@rule", "reasons": [{"factor": "f", "title": "=T", "value": 1, "points": -2.0,
                                                "source": None}],
            "county": None, "lon": -118.5, "lat": 39.25, "model_version": "+v"}
    ws = xlsx_sheet(to_xlsx([item]))
    cells = dict(zip(COLUMNS, next(ws.iter_rows(min_row=2)), strict=True))
    row = {k: c.value for k, c in cells.items()}
    assert row == {"rank": 1, "kind": "venue", "id": 7, "source_id": "-7", "name": "=1+1", "level": "red",
                   "score": 90.5, "direct_red": "@rule", "reasons": "=T: 1 (-2 pts)", "hca_grade": None,
                   "hca_segments": None, "hca_km": None, "hca_where": None, "county_code": None,
                   "county_name": None, "lon": -118.5, "lat": 39.25, "model_version": "+v"}
    for name in ("source_id", "name", "direct_red", "reasons", "model_version"):  # text, shown as written
        assert cells[name].data_type == "s" and cells[name].quotePrefix, name
    assert cells["score"].data_type == "n" and not cells["level"].quotePrefix
    (csv_row,) = csv_rows(to_csv([item]))
    assert csv_row["name"] == "\x01=1+1" and csv_row["source_id"] == "'-7" and csv_row["lon"] == "-118.5"
    assert csv_row["reasons"] == "'=T: 1 (-2 pts)" and csv_row["county_code"] == ""


# --- JSON -----------------------------------------------------------------------------------------------------


def test_default_list_matches_sql(client, conn):
    """Without parameters: every red and orange feature of the four kinds, in the list's order, as SQL finds them,
    with the documented members."""
    body = listing(client)
    assert keys(body["items"]) == expected_keys(conn)
    assert body["count"] == len(body["items"]) > 50
    assert body["filters"] == {"level": ["red", "orange"], "kind": list(KINDS), "area": None}
    assert body["generated_at"].endswith("+00:00") and body["model_version"]
    assert {it["level"] for it in body["items"]} == {"red", "orange"}
    assert {it["kind"] for it in body["items"]} == set(KINDS)
    for it in body["items"]:
        assert set(it) == {"rank", "kind", "id", "source_id", "name", "level", "score", "direct_red", "reasons",
                           "hca", "county", "lon", "lat", "model_version"}
        assert it["model_version"] == body["model_version"]
        assert (it["hca"] is not None) == (it["kind"] == "pipeline")


def test_sorting_rules(client, conn):
    """Red before orange before yellow before blue, then score descending, then kind, then id; ranks are 1..n."""
    body = listing(client, level="blue,yellow,orange,red")
    items = body["items"]
    assert [it["rank"] for it in items] == list(range(1, len(items) + 1))
    sort_keys = [(WORST_FIRST.index(it["level"]), -it["score"], it["kind"], it["id"]) for it in items]
    assert sort_keys == sorted(sort_keys)
    assert [it["level"] for it in items[:1]] == ["red"] and items[-1]["level"] == "blue"
    assert body["filters"]["level"] == WORST_FIRST
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM feature_risk WHERE kind <> 'pipeline_segment'")
        assert len(items) == cur.fetchone()[0]
    assert keys(items) == expected_keys(conn, levels=WORST_FIRST)


def test_scores_have_two_decimals(client, conn):
    """Scores are the stored ones rounded to two decimals; lon and lat carry six."""
    items = listing(client)["items"]
    with conn.cursor() as cur:
        cur.execute("SELECT kind, feature_id, score FROM feature_risk WHERE kind <> 'pipeline_segment'")
        stored = {(k, i): s for k, i, s in cur.fetchall()}
    for it in items:
        assert it["score"] == round(stored[(it["kind"], it["id"])], 2)
        assert it["lon"] == round(it["lon"], 6) and it["lat"] == round(it["lat"], 6)


def test_level_filter(client, conn):
    """`level` keeps the features at those levels only."""
    body = listing(client, level="yellow")
    assert {it["level"] for it in body["items"]} == {"yellow"}
    assert keys(body["items"]) == expected_keys(conn, levels=("yellow",))
    assert listing(client, level=" red , red")["filters"]["level"] == ["red"]


def test_kind_filter(client, conn):
    """`kind` keeps those feature classes; pipelines appear once each, by their pipeline row."""
    body = listing(client, kind="venue,pipeline")
    assert body["filters"]["kind"] == ["pipeline", "venue"]
    assert keys(body["items"]) == expected_keys(conn, kinds=("pipeline", "venue"))
    pipes = [it["id"] for it in body["items"] if it["kind"] == "pipeline"]
    assert pipes and len(pipes) == len(set(pipes))
    with conn.cursor() as cur:
        cur.execute("SELECT feature_id FROM feature_risk WHERE kind = 'pipeline' AND level IN ('red', 'orange')")
        assert sorted(pipes) == sorted(r[0] for r in cur.fetchall())
    assert keys(listing(client, kind="tailings_pond")["items"]) == expected_keys(conn, kinds=("tailings_pond",))


def test_admin_area_filter(client, conn):
    """`area` = an admin code keeps the features intersecting that county's geometry."""
    body = listing(client, area=COUNTY, level="red,orange,yellow")
    expected = expected_keys(conn, levels=("red", "orange", "yellow"),
                             where="AND ST_Intersects(f.geom, (SELECT geom FROM area WHERE admin_code = %s))",
                             params=(COUNTY,))
    assert keys(body["items"]) == expected and len(expected) > 10
    assert body["filters"]["area"] == {"id": COUNTY, "type": "admin", "name": "路北区", "admin_level": "county",
                                       "resolution": None}
    assert len(keys(body["items"])) < len(expected_keys(conn, levels=("red", "orange", "yellow")))


def test_h3_area_filter(client, conn):
    """`area` = an H3 cell index keeps the features intersecting that cell's polygon in area_risk."""
    with conn.cursor() as cur:
        # a resolution-7 cell holding some red or orange features
        cur.execute("SELECT c.area_id FROM area_risk c JOIN enterprise f ON ST_Intersects(f.geom, c.geom) "
                    "JOIN feature_risk r ON r.kind = 'enterprise' AND r.feature_id = f.id "
                    "WHERE c.area_type = 'h3' AND c.resolution = 7 AND r.level IN ('red', 'orange') "
                    "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
        cell = cur.fetchone()[0]
    body = listing(client, area=cell)
    expected = expected_keys(conn, where="AND ST_Intersects(f.geom, (SELECT geom FROM area_risk WHERE area_type = 'h3' "
                                         "AND area_id = %s))", params=(cell,))
    assert keys(body["items"]) == expected and expected
    assert body["filters"]["area"] == {"id": cell, "type": "h3", "name": None, "admin_level": None, "resolution": 7}
    assert keys(listing(client, area=cell.upper())["items"]) == expected


def test_empty_list(client):
    """A filter that matches nothing gives an empty list (count 0), still with the model version."""
    body = listing(client, kind="tailings_pond", area=COUNTY)  # no tailings pond in the city district
    assert body["count"] == 0 and body["items"] == [] and body["model_version"]


def test_county_and_point_on_surface(client, conn):
    """county is the county holding the feature's point on surface; lon/lat are that point's coordinates."""
    items = listing(client, level="red")["items"]
    with conn.cursor() as cur:
        for it in items:
            cur.execute(f"SELECT ST_X(p), ST_Y(p), (SELECT json_build_object('admin_code', a.admin_code, 'name', "
                        f"a.name) FROM area a WHERE a.level = 'county' AND ST_Intersects(a.geom, p) "
                        f"ORDER BY a.admin_code LIMIT 1) FROM (SELECT ST_PointOnSurface(geom) AS p "
                        f"FROM {it['kind']} WHERE id = %s) s", (it["id"],))
            x, y, county = cur.fetchone()
            assert it["lon"] == pytest.approx(x, abs=1e-6) and it["lat"] == pytest.approx(y, abs=1e-6)
            assert it["county"] == county
    assert all(it["county"] for it in items)  # the demo's features all lie in its counties


def test_direct_red(client, conn):
    """direct_red is the direct-red rule that fired for the feature, null otherwise."""
    items = listing(client, level="red,orange,yellow,blue")["items"]
    with conn.cursor() as cur:
        cur.execute("SELECT kind, feature_id, direct_red FROM feature_risk WHERE kind <> 'pipeline_segment'")
        stored = {(k, i): d for k, i, d in cur.fetchall()}
    assert {(it["kind"], it["id"]): it["direct_red"] for it in items} == stored
    assert any(it["direct_red"] for it in items)


def test_reasons_are_top_three_factors(client, conn):
    """reasons are the three factors with the most points (most first), each with title, value, points and
    source from risk_factor_def (a pipeline's under 'pipeline_segment')."""
    items = listing(client)["items"]
    with conn.cursor() as cur:
        cur.execute("SELECT kind, feature_id, factors, model_version FROM feature_risk "
                    "WHERE kind <> 'pipeline_segment'")
        stored = {(k, i): (f, v) for k, i, f, v in cur.fetchall()}
        cur.execute("SELECT model_version, kind, factor, title, source FROM risk_factor_def")
        defs = {(v, k, f): (t, s) for v, k, f, t, s in cur.fetchall()}
    for it in items:
        factors, version = stored[(it["kind"], it["id"])]
        top = sorted(factors, key=lambda f: (-(f[2] if f[2] is not None else float("-inf")), f[0]))[:3]
        assert [(r["factor"], r["value"], r["points"]) for r in it["reasons"]] == [(f[0], f[1], f[2]) for f in top]
        def_kind = "pipeline_segment" if it["kind"] == "pipeline" else it["kind"]
        for r in it["reasons"]:
            assert set(r) == {"factor", "title", "value", "points", "source"}
            assert (r["title"], r["source"]) == defs[(version, def_kind, r["factor"])]
    assert any(it["kind"] == "pipeline" for it in items)


# --- CSV and XLSX ---------------------------------------------------------------------------------------------


def test_csv_matches_json(client):
    """format=csv: UTF-8 with BOM, a header, one row per JSON item with the same values, reasons flattened,
    served as an attachment named risk-list.csv."""
    items = listing(client)["items"]
    r = client.get("/risk-list", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="risk-list.csv"'
    rows = csv_rows(r.content)
    assert len(rows) == len(items)
    for row, it in zip(rows, items, strict=True):
        assert int(row["rank"]) == it["rank"] and row["kind"] == it["kind"] and int(row["id"]) == it["id"]
        assert row["source_id"] == it["source_id"] and row["name"] == it["name"] and row["level"] == it["level"]
        assert float(row["score"]) == it["score"]
        assert row["direct_red"] == (it["direct_red"] or "")
        assert row["reasons"] == flatten_reasons(it["reasons"]) and row["reasons"].count(" ; ") == 2
        assert row["county_code"] == it["county"]["admin_code"] and row["county_name"] == it["county"]["name"]
        assert float(row["lon"]) == it["lon"] and float(row["lat"]) == it["lat"]
        assert row["model_version"] == it["model_version"]
    assert any("（合成）" in row["name"] for row in rows)  # Chinese text survives


def test_xlsx_matches_json(client):
    """format=xlsx: one sheet, bold frozen header, sized columns, rows equal to the JSON items, numbers as
    numbers, served as an attachment named risk-list.xlsx."""
    items = listing(client, kind="enterprise,pipeline")["items"]
    r = client.get("/risk-list", params={"format": "xlsx", "kind": "enterprise,pipeline"})
    assert r.status_code == 200
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"] == 'attachment; filename="risk-list.xlsx"'
    ws = xlsx_sheet(r.content)
    values = list(ws.iter_rows(values_only=True))
    assert values[0] == COLUMNS and len(values) == len(items) + 1
    assert all(cell.font.bold for cell in ws[1])
    assert ws.freeze_panes == "A2"
    assert all(ws.column_dimensions[c].width and ws.column_dimensions[c].width > 5 for c in "ABCDEFGHIJKLMN")
    for row, it in zip(values[1:], items, strict=True):
        cells = dict(zip(COLUMNS, row, strict=True))
        assert cells["rank"] == it["rank"] and cells["id"] == it["id"] and cells["kind"] == it["kind"]
        assert cells["score"] == it["score"] and cells["lon"] == it["lon"] and cells["lat"] == it["lat"]
        assert isinstance(cells["score"], float | int) and isinstance(cells["id"], int)
        assert cells["name"] == it["name"] and cells["source_id"] == it["source_id"]
        assert cells["direct_red"] == it["direct_red"]
        assert cells["reasons"] == flatten_reasons(it["reasons"])
        assert cells["county_code"] == it["county"]["admin_code"] and cells["county_name"] == it["county"]["name"]
        assert cells["model_version"] == it["model_version"]


def test_accept_header_picks_the_format(client):
    """Without `format`, Accept: text/csv gives CSV and the XLSX media type gives XLSX; `format` wins over Accept."""
    r = client.get("/risk-list", headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content[:3] == b"\xef\xbb\xbf"
    r = client.get("/risk-list", headers={"Accept": XLSX})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX and r.content[:2] == b"PK"
    r = client.get("/risk-list", params={"format": "json"}, headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    r = client.get("/risk-list", headers={"Accept": "text/html,*/*;q=0.8"})
    assert r.headers["content-type"].startswith("application/json") and "Accept" in r.headers["vary"]


def test_formula_injection_is_neutralised(client, conn):
    """A feature whose name starts with = (or -) is listed with a leading quote in CSV and XLSX cells, and as it
    is in JSON; the XLSX cell is text, not a formula."""
    reds = [it for it in listing(client, level="red")["items"] if it["kind"] == "enterprise"]
    first, second = reds[0]["id"], reds[1]["id"]
    before = {it["id"]: it["name"] for it in reds}
    with renamed(conn, "enterprise", first, HYPERLINK), renamed(conn, "enterprise", second, "-2+3 唐山"):
        items = {it["id"]: it for it in listing(client, level="red", kind="enterprise")["items"]}
        assert items[first]["name"] == HYPERLINK and items[second]["name"] == "-2+3 唐山"
        params = {"level": "red", "kind": "enterprise"}
        rows = {int(r["id"]): r for r in csv_rows(client.get("/risk-list", params=params | {"format": "csv"}).content)}
        assert rows[first]["name"] == "'" + HYPERLINK and rows[second]["name"] == "'-2+3 唐山"
        ws = xlsx_sheet(client.get("/risk-list", params=params | {"format": "xlsx"}).content)
        name_col, id_col = COLUMNS.index("name"), COLUMNS.index("id")
        cells = {row[id_col].value: row[name_col] for row in ws.iter_rows(min_row=2)}
        assert cells[first].value == HYPERLINK and cells[first].data_type == "s" and cells[first].quotePrefix
        assert cells[second].value == "-2+3 唐山" and cells[second].quotePrefix
        for row in ws.iter_rows(min_row=2):  # no formula anywhere
            assert all(c.data_type != "f" for c in row)
    after = {it["id"]: it["name"] for it in listing(client, level="red", kind="enterprise")["items"]}
    assert after == before  # restored


def test_empty_csv_and_xlsx(client):
    """An empty list is a header-only CSV and a header-only sheet."""
    params = {"kind": "tailings_pond", "area": COUNTY, "level": "blue"}
    assert listing(client, **params)["count"] == 0
    assert csv_rows(client.get("/risk-list", params=params | {"format": "csv"}).content) == []
    ws = xlsx_sheet(client.get("/risk-list", params=params | {"format": "xlsx"}).content)
    assert list(ws.iter_rows(values_only=True)) == [COLUMNS]


# --- errors and docs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "field"), [
    ({"level": "purple"}, "level"),
    ({"level": "red,critical"}, "level"),
    ({"kind": "factory"}, "kind"),
    ({"kind": "venue,settlement"}, "kind"),
    ({"kind": "pipeline_segment"}, "kind"),
    ({"format": "pdf"}, "format"),
    ({"format": "CSV"}, "format"),
    ({"area": "13 02"}, "area"),
    ({"area": "130203'; DROP TABLE area; --"}, "area"),
    ({"area": "1" * 40}, "area"),
])
def test_bad_parameters_are_422(client, params, field):
    """Each bad parameter gets a 422 problem+json naming the field (never a 500)."""
    r = client.get("/risk-list", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 422 and field in body["detail"]
    assert [e["field"] for e in body["errors"]] == [field]


@pytest.mark.parametrize("area", ["999999", "nowhere", h3.latlng_to_cell(30.0, 100.0, 7)])
def test_unknown_area_is_404(client, area):
    """An admin code or H3 cell that is not known is a 404 problem+json naming it."""
    r = client.get("/risk-list", params={"area": area})
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 404 and area in body["detail"] and "area" in body["detail"]


def test_documented_in_openapi(client):
    """/docs describe /risk-list: summary, description, the JSON schema and the CSV and XLSX media types."""
    op = client.get("/openapi.json").json()["paths"]["/risk-list"]["get"]
    assert op["summary"] and op["description"]
    content = op["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/RiskList"}
    assert {"text/csv", XLSX} <= set(content)
    assert {p["name"] for p in op["parameters"]} == {"level", "area", "kind", "format"}
