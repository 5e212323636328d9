"""`riskmap siting-check PROJECT.geojson`: the siting check of the HTTP API from the command line, printed and
written as JSON or HTML, against the scored demo; bad input exits 2 or 3 with a message naming what is wrong."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyproj import Geod

GEOD = Geod(ellps="WGS84")
CL_NH3 = [{"name": "氯", "tonnes": 10}, {"name": "氨", "tonnes": 100}]


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "siting-check", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, "RISKMAP_DATABASE_URL": url, "CI": "true", "COLUMNS": "200"})


def project_file(path: Path, geometry: dict, chemicals, name: str | None = "氯碱项目") -> Path:
    properties = {"chemicals": chemicals} | ({"name": name} if name else {})
    path.write_text(json.dumps({"type": "Feature", "geometry": geometry, "properties": properties},
                               ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def site(conn) -> dict:
    """A point 300 m east of 郭店村 (demo-settle-00989, 227 households), the worked example of test_siting.py."""
    with conn.cursor() as cur:
        cur.execute("SELECT ST_X(geom), ST_Y(geom) FROM settlement WHERE source_id = 'demo-settle-00989'")
        x, y = cur.fetchone()
    lon, lat, _ = GEOD.fwd(x, y, 90.0, 300.0)
    return {"type": "Point", "coordinates": [lon, lat]}


def test_prints_the_result_and_findings(demo_url, site, tmp_path):
    """The command prints the GB 18218 result (S 12, R 56, level 二级 for 10 t chlorine and 100 t ammonia among
    635.6 people) and every finding, in Chinese by default and in English with --lang en."""
    path = project_file(tmp_path / "p.geojson", site, CL_NH3)
    r = run(demo_url, path)
    assert r.returncode == 0, r.stderr
    assert "S = 12.00, R = 56.00 (α 2, 636 people within 500 m): a major hazard, level 2 (二级)" in r.stdout
    assert "氯碱项目" in r.stdout and "重大危险源" in r.stdout
    en = run(demo_url, path, "--lang", "en")
    assert en.returncode == 0, en.stderr
    assert "would be a major hazard installation" in en.stdout and "findings:" in en.stdout


def test_json_is_the_http_answer(client, demo_url, site, tmp_path):
    """--out FILE.json writes exactly the document POST /siting-check answers for the same project."""
    path = project_file(tmp_path / "p.geojson", site, "氯:10;氨:100")
    out = tmp_path / "report.json"
    r = run(demo_url, path, "--out", out)
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout
    http = client.post("/siting-check", json={"geometry": site, "chemicals": "氯:10;氨:100", "name": "氯碱项目"})
    assert http.status_code == 200
    assert json.loads(out.read_text(encoding="utf-8")) == http.json()


def test_html_page(demo_url, site, tmp_path):
    """--out FILE.html writes a self-contained page (no script) holding every finding and the settlement listed."""
    out = tmp_path / "report.html"
    r = run(demo_url, project_file(tmp_path / "p.geojson", site, CL_NH3), "--out", out, "--lang", "en")
    assert r.returncode == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "郭店村" in page and "Siting check: 氯碱项目" in page
    report_path = tmp_path / "report.json"
    assert run(demo_url, project_file(tmp_path / "p.geojson", site, CL_NH3), "--out", report_path).returncode == 0
    for finding in json.loads(report_path.read_text(encoding="utf-8"))["findings"]:
        assert html.escape(finding["en"]) in page


@pytest.mark.parametrize(("case", "code", "says"), [
    ("missing", 3, "no such file"),
    ("not_json", 3, "not valid JSON"),
    ("latitude", 3, "geometry.coordinates: latitude 91.0 is out of range"),
    ("unknown_chemical", 3, "properties.chemicals.1.name: unknown chemical '氪星石'"),
    ("text_chemicals", 3, "properties.chemicals: entry 1 (氯): quantity -5 t must be zero or positive"),
    ("option_chemicals", 3, "--chemicals: unknown chemical '氪星石'"),
    ("line", 3, "geometry.type: expected a GeoJSON Point or Polygon, not 'LineString'"),
    ("two_features", 3, "the FeatureCollection holds 2 features"),
    ("no_chemicals", 3, "no chemicals"),
    ("bad_suffix", 2, "--out: the file must end in .json or .html"),
    ("bad_lang", 2, "--lang must be zh or en"),
])
def test_bad_input_exits_with_a_clear_message(tmp_path, case, code, says):
    """Bad input exits 3 (the project rejected) and bad options exit 2, each with a message naming the file, the
    field and what is wrong; the input is checked before the database is asked (here none is reachable)."""
    point = {"type": "Point", "coordinates": [118.2, 39.65]}
    path = tmp_path / "p.geojson"
    args: list = [path]
    if case == "missing":
        path = args[0] = tmp_path / "nowhere.geojson"
    elif case == "not_json":
        path.write_text("{not json", encoding="utf-8")
    elif case == "latitude":
        project_file(path, {"type": "Point", "coordinates": [118.2, 91]}, CL_NH3)
    elif case == "unknown_chemical":
        project_file(path, point, [{"name": "氯", "tonnes": 1}, {"name": "氪星石", "tonnes": 1}])
    elif case == "text_chemicals":
        project_file(path, point, "氯:-5")
    elif case == "option_chemicals":
        project_file(path, point, CL_NH3)
        args += ["--chemicals", "氯:1;氪星石:2"]
    elif case == "line":
        project_file(path, {"type": "LineString", "coordinates": [[118, 39], [118.1, 39]]}, CL_NH3)
    elif case == "two_features":
        feature = {"type": "Feature", "geometry": point, "properties": {"chemicals": CL_NH3}}
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature, feature]}), encoding="utf-8")
    elif case == "no_chemicals":
        path.write_text(json.dumps({"type": "Feature", "geometry": point, "properties": {}}), encoding="utf-8")
    elif case == "bad_suffix":
        project_file(path, point, CL_NH3)
        args += ["--out", tmp_path / "report.txt"]
    elif case == "bad_lang":
        project_file(path, point, CL_NH3)
        args += ["--lang", "fr"]
    r = run("postgresql://riskmap:x@127.0.0.1:1/none", *args)
    assert r.returncode == code, (r.stdout, r.stderr)
    message = " ".join(r.stderr.split())
    assert says in message, message
    if code == 3:
        assert str(path) in message
    assert "Traceback" not in r.stderr
