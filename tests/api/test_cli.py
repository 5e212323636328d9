"""The `riskmap` command line through typer's CliRunner, against this test's own PostGIS database."""

from __future__ import annotations

import csv
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from api.cli import app
from geo import store
from tests.conftest import count_rows

SUBCOMMANDS = [
    ["import"], ["export"], ["demo"],
    ["db"], ["db", "start"], ["db", "stop"], ["db", "status"], ["db", "url"], ["db", "migrate"],
    ["areas"], ["areas", "import"],
]


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def flat(text: str) -> str:
    """Output with rich's line wrapping undone (runs of whitespace collapsed)."""
    return " ".join(text.split())


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def invoke(runner, db_url):
    """Run `riskmap ARGS...` with RISKMAP_DATABASE_URL pointing at this test's database."""

    def _invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], env={"RISKMAP_DATABASE_URL": db_url})

    return _invoke


GOOD_ROWS = [["E1", "唐山三友化工", "化工", 118.18, 39.63],
             ["E2", "迁安钢铁厂", "steel", 118.70, 40.01],
             ["E3", "遵化铁矿", "mining", 117.96, 40.19]]


def test_top_level_help(runner):
    """`riskmap --help` exits 0 and lists the commands."""
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("import", "export", "demo", "db", "areas"):
        assert command in result.output


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: " ".join(a))
def test_subcommand_help(runner, args):
    """Every subcommand's --help exits 0 and prints its usage."""
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_import_of_a_good_file_prints_the_counts(invoke, db, tmp_path):
    """`riskmap import good.csv --kind enterprise` exits 0, prints rows/new/updated counts and stores the rows."""
    path = write_csv(tmp_path / "good.csv", ["source_id", "name", "industry", "lon", "lat"], GOOD_ROWS)
    result = invoke("import", path, "--kind", "enterprise")
    assert result.exit_code == 0, result.output
    assert "good.csv: 3 enterprise features imported (3 new, 0 updated)" in flat(result.output)
    assert count_rows(db, "enterprise") == 3

    again = invoke("import", path, "--kind", "enterprise")
    assert again.exit_code == 0, again.output
    assert "(0 new, 0 updated, 3 unchanged)" in flat(again.output)  # given again as stored


def test_import_of_a_bad_file_exits_3_naming_file_row_field_and_reason(invoke, db, tmp_path):
    """A file with a bad row exits 3 and prints the file, row, field and reason; nothing is written."""
    path = write_csv(tmp_path / "ponds.csv", ["source_id", "name", "safety_state", "capacity_10k_m3", "lon", "lat"],
                     [["T1", "大石河尾矿库", "正常", 1200, 118.6, 40.05],
                      ["T2", "负库容", "wobbly", -5, 118.7, 40.0]])
    result = invoke("import", path, "--kind", "tailings_pond")
    assert result.exit_code == 3, result.output
    text = flat(result.stderr)
    assert "ponds.csv: row 2, field 'capacity_10k_m3': -5 is negative" in text
    assert "ponds.csv: row 2, field 'safety_state': unknown value 'wobbly'" in text
    assert "nothing was written" in text
    assert count_rows(db, "tailings_pond") == 0


def test_import_of_an_unreadable_file_exits_3(invoke, tmp_path):
    """A 0-byte file exits 3 with 'the file is empty'."""
    path = tmp_path / "empty.geojson"
    path.write_bytes(b"")
    result = invoke("import", path, "--kind", "enterprise")
    assert result.exit_code == 3, result.output
    assert "empty.geojson: the file is empty" in flat(result.stderr)


def test_import_with_an_unknown_kind_exits_2(invoke, tmp_path):
    """--kind factory exits 2 naming the valid kinds."""
    path = write_csv(tmp_path / "good.csv", ["source_id", "name", "industry", "lon", "lat"], GOOD_ROWS)
    result = invoke("import", path, "--kind", "factory")
    assert result.exit_code == 2, result.output
    text = flat(result.stderr)
    assert "unknown feature kind 'factory'" in text and "enterprise" in text and "tailings_pond" in text


def test_import_with_an_unknown_crs_exits_2(invoke, db, tmp_path):
    """--crs EPSG:999999 exits 2 naming the CRS; nothing is written."""
    path = write_csv(tmp_path / "good.csv", ["source_id", "name", "industry", "lon", "lat"], GOOD_ROWS)
    result = invoke("import", path, "--kind", "enterprise", "--crs", "EPSG:999999")
    assert result.exit_code == 2, result.output
    assert "EPSG:999999" in flat(result.stderr)
    assert count_rows(db, "enterprise") == 0


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv"])
def test_export_writes_the_file(invoke, tmp_path, fmt):
    """`riskmap export out --kind enterprise --format F` exits 0, says how many it wrote, and the file reads back."""
    path = write_csv(tmp_path / "good.csv", ["source_id", "name", "industry", "lon", "lat"], GOOD_ROWS)
    assert invoke("import", path, "--kind", "enterprise").exit_code == 0
    out = tmp_path / f"enterprises.{fmt}"
    result = invoke("export", out, "--kind", "enterprise", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert f"wrote 3 enterprise features to {out}" in flat(result.output)
    frame = pyogrio.read_dataframe(out, read_geometry=False)
    assert sorted(frame["source_id"]) == ["E1", "E2", "E3"]


def test_export_into_a_missing_directory_exits_3(invoke, tmp_path):
    """Exporting into a directory that does not exist exits 3 naming the directory."""
    result = invoke("export", tmp_path / "nowhere" / "out.geojson", "--kind", "enterprise")
    assert result.exit_code == 3, result.output
    assert "does not exist" in flat(result.stderr)


def test_db_status_with_a_database_url_reports_reachable_and_schema_version(invoke, db_url):
    """`riskmap db status` with RISKMAP_DATABASE_URL says reachable and gives the schema version, password hidden."""
    result = invoke("db", "status")
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "reachable" in text
    assert f"schema version {max(m.version for m in store.migrations())}" in text
    password = db_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert password not in result.output


def test_db_status_with_an_unreachable_database_exits_4(runner, cluster):
    """`riskmap db status` against a server that refuses connections exits 4 (database unavailable)."""
    _, url = cluster
    bad = url.rsplit("/", 1)[0] + "/riskmap_no_such_database"
    result = runner.invoke(app, ["db", "status"], env={"RISKMAP_DATABASE_URL": bad})
    assert result.exit_code == 4, result.output
    assert "cannot connect" in flat(result.stderr)
