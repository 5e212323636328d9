"""Records on the command line, against this test's own PostGIS database: `riskmap import --kind` for records
(who is the OS user), `riskmap records set-status` along the allowed transitions only, `riskmap records show`."""

from __future__ import annotations

import csv
import getpass
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def invoke(db_url):
    runner = CliRunner()

    def _invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], env={"RISKMAP_DATABASE_URL": db_url})

    return _invoke


@pytest.fixture
def danger(invoke, tmp_path):
    """An enterprise E1 and one open hidden danger of it (HD-1, found 2026-03-01), imported with the CLI."""
    sites = write_csv(tmp_path / "e.csv", ["id", "name", "industry", "lon", "lat"],
                      [["E1", "唐山化工", "化工", 118.18, 39.63]])
    assert invoke("import", sites, "--kind", "enterprise").exit_code == 0
    dangers = write_csv(tmp_path / "隐患.csv", ["隐患编号", "对象类型", "企业编号", "隐患描述", "隐患等级", "发现日期"],
                        [["HD-1", "企业", "E1", "储罐区报警器失效", "重大", "2026-03-01"]])
    result = invoke("import", dangers, "--kind", "hidden_danger")
    assert result.exit_code == 0, result.output
    assert "1 hidden_danger records imported (1 new, 0 updated)" in flat(result.output)
    return 1


def test_status_changes_on_the_command_line_follow_the_rules_and_name_the_user(invoke, danger):
    """set-status rectified then verified succeed; verified → rectified is refused (exit 3) naming the allowed
    change; the history shows the import and both changes by cli:<the OS user>."""
    result = invoke("records", "set-status", danger, "rectified", "--on", "2026-03-09")
    assert result.exit_code == 0, result.output
    assert "is rectified since 2026-03-09" in flat(result.output)
    assert invoke("records", "set-status", danger, "verified", "--on", "2026-03-12").exit_code == 0
    result = invoke("records", "set-status", danger, "rectified", "--on", "2026-03-20")
    assert result.exit_code == 3
    assert "cannot become rectified; from verified it may become: reopened" in flat(result.output)
    result = invoke("records", "show", "hidden_danger", danger, "--history")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["status"] == "verified" and doc["verified_on"] == "2026-03-12"
    assert [(h["operation"], h["changed_by"]) for h in doc["history"]] == [
        ("insert", f"cli:{getpass.getuser()}"), ("update", f"cli:{getpass.getuser()}"),
        ("update", f"cli:{getpass.getuser()}")]


def test_a_bad_record_file_is_rejected_with_exit_3(invoke, danger, tmp_path):
    """A danger of an enterprise that does not exist: exit 3, the row named, nothing written."""
    bad = write_csv(tmp_path / "bad.csv", ["id", "site_kind", "site_source_id", "description", "grade", "found_on"],
                    [["HD-2", "enterprise", "E99", "粉尘", "一般", "2026-03-02"]])
    result = invoke("import", bad, "--kind", "hidden_danger")
    assert result.exit_code == 3
    assert "row 1, field 'site_source_id': site enterprise 'E99' does not exist" in flat(result.output)
    assert invoke("records", "show", "hidden_danger", 2).exit_code == 6  # not found


def level_of(db_url: str, source_id: str) -> str | None:
    from geo import store

    conn = store.connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT r.level FROM enterprise e JOIN feature_risk r ON r.kind = 'enterprise' "
                        "AND r.feature_id = e.id WHERE e.source_id = %s", (source_id,))
            row = cur.fetchone()
    finally:
        conn.close()
    return row[0] if row else None


def test_an_imported_major_danger_turns_its_site_red_and_verification_lowers_it(invoke, danger, db_url, tmp_path):
    """`riskmap import --kind hidden_danger` brings the scores up to date (an open major danger is direct red),
    and so does `riskmap records set-status`: once the danger is verified the site is no longer red."""
    assert level_of(db_url, "E1") == "red"
    assert invoke("records", "set-status", danger, "rectified", "--on", "2026-03-09").exit_code == 0
    result = invoke("records", "set-status", danger, "verified", "--on", "2026-03-12")
    assert result.exit_code == 0, result.output
    assert "scored (changes only" in result.output
    assert level_of(db_url, "E1") != "red"


def test_no_score_leaves_the_change_waiting_and_says_so(invoke, db_url, tmp_path):
    """With --no-score the import writes the rows, scores nothing and says how to bring the scores up to date;
    `riskmap score` then does."""
    sites = write_csv(tmp_path / "e.csv", ["id", "name", "industry", "lon", "lat"],
                      [["E1", "唐山化工", "化工", 118.18, 39.63]])
    result = invoke("import", sites, "--kind", "enterprise", "--no-score")
    assert result.exit_code == 0, result.output
    assert "`riskmap score` does it" in flat(result.output)
    assert level_of(db_url, "E1") is None
    assert invoke("score").exit_code == 0
    assert level_of(db_url, "E1") is not None


def test_a_change_to_a_danger_of_a_deleted_site_scores_nothing_and_does_not_fail(invoke, danger, db_url):
    """The site of a danger is deleted (its records stay); a later status change of that danger leaves a
    change record for a site that no longer exists: the run that takes it scores nothing, writes no history and
    succeeds (it used to fail keying an empty frame, and a full run of an empty store joining no frames)."""
    from geo import store

    conn = store.connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM enterprise WHERE source_id = 'E1'")
        conn.commit()
        assert invoke("score").exit_code == 0
        result = invoke("records", "set-status", danger, "rectified", "--on", "2026-03-09")
        assert result.exit_code == 0, result.output
        assert "score history +0 rows" in result.output
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM risk_record_changed")
            assert cur.fetchone()[0] == 0
        assert invoke("score", "--full").exit_code == 0  # a full run of a store with no site at all
    finally:
        conn.close()
