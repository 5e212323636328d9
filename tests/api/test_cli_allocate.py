"""`riskmap allocate --teams N`: teams shared among the demo's counties by risk-weighted enterprises."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from geo import store
from geo.planning.allocation import allocate_teams, area_counts


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "allocate", *args], capture_output=True, text=True,
                          env={**os.environ, "RISKMAP_DATABASE_URL": url, "CI": "true", "COLUMNS": "200"})


def test_allocate_prints_every_county_with_its_teams(demo_url):
    """The table lists the 14 demo counties with their enterprises per level and teams that add up to N, the
    same as allocate_teams over the stored area counts."""
    r = run(demo_url, "--teams", "20")
    assert r.returncode == 0, r.stderr
    rows = re.findall(r"│ (\d{6}) │ \S+\s*│\s*(\d+) │\s*(\d+) │\s*(\d+) │\s*(\d+) │\s*[\d.]+ │\s*(\d+) │", r.stdout)
    assert len(rows) == 14
    conn = store.connect(demo_url)
    try:
        expected = allocate_teams({code: c for code, _, c in area_counts(conn)}, 20)
    finally:
        conn.close()
    assert {code: int(teams) for code, *_, teams in rows} == expected
    assert sum(expected.values()) == 20


def test_allocate_refuses_no_teams(demo_url):
    """Zero teams is an error that says so, with exit code 2."""
    r = run(demo_url, "--teams", "0")
    assert r.returncode == 2 and "teams" in r.stderr
