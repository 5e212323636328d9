"""`riskmap plan`: a plan of the demo from the command line, stored, summarised and written to a file."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys

from geo import store
from geo.planning import store as plan_store


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "plan", *args], capture_output=True, text=True,
                          env={**os.environ, "RISKMAP_DATABASE_URL": url, "CI": "true", "COLUMNS": "200"})


def test_plan_is_stored_summarised_and_written(demo_url, tmp_path):
    """The command reports the candidates, prints a row per team and the plan's id, stores the plan, and
    writes its stops to the CSV file asked for."""
    out = tmp_path / "plan.csv"
    r = run(demo_url, "--teams", "2", "--days", "1", "--area", "130203", "--min-level", "orange",
            "--time-limit", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert re.search(r"\d+ candidate sites, 2 teams x 1 days", r.stderr)
    plan_id = int(re.search(r"stored as plan (\d+)", r.stdout).group(1))
    conn = store.connect(demo_url)
    try:
        doc = plan_store.load(conn, plan_id)
    finally:
        conn.close()
    assert doc["request"]["teams"] == 2 and doc["request"]["area"] == "130203"
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) == doc["totals"]["visits"] > 0
    assert [(r["team"], r["day"], r["seq"]) for r in rows] == [
        (str(t["team"]), str(d["day"]), str(s["seq"])) for t in doc["teams"] for d in t["days"] for s in d["stops"]]


def test_html_output_is_the_printable_schedule(demo_url, tmp_path):
    out = tmp_path / "plan.html"
    r = run(demo_url, "--teams", "1", "--days", "1", "--area", "130203", "--min-level", "red", "--time-limit", "1",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    assert 'class="riskmap-plan-team"' in page and "<script src=" not in page  # scripts inlined


def test_bad_options_are_clear_errors(demo_url, tmp_path):
    """No teams, an unknown area, or an output file of an unknown type: exit 2 with a message naming it, and
    no plan stored."""
    for args, words in ((["--teams", "0", "--days", "1"], "teams"),
                        (["--teams", "1", "--days", "1", "--area", "999999"], "999999"),
                        (["--teams", "1", "--days", "1", "--out", str(tmp_path / "p.pdf")], ".pdf"),
                        (["--teams", "1", "--days", "1", "--window", "enterprise.1=9-10"], "window")):
        r = run(demo_url, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert words in r.stderr, (args, r.stderr)
