"""`riskmap supervision`, `riskmap staffing` and `riskmap plan --look-back` on a small data set with records
written in SQL (a real PostGIS)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys

import pytest

from geo import store
from tests.conftest import throwaway_database
from tests.geo.supervision import records as r

D = dt.date
WEST = "100001"


@pytest.fixture(scope="module")
def data(cluster):
    """A county with a red enterprise overdue (last inspected 2026-04-01), a blue one whose suspension was lifted
    on 2026-05-20 (look-back), and a yellow venue on time."""
    with throwaway_database(cluster[1]) as url:
        conn = store.connect(url)
        conn.autocommit = True
        r.area(conn, WEST, "West county", (118.0, 39.0, 118.5, 39.5))
        ids = {"red": r.enterprise(conn, 118.1, 39.1, "red", last_inspection=D(2026, 4, 1)),
               "resumed": r.enterprise(conn, 118.2, 39.2, "blue", last_inspection=D(2026, 2, 1)),
               "venue": r.venue(conn, 118.3, 39.3, "yellow", last_fire_inspection=D(2026, 5, 1))}
        ids["lifted"] = r.action(conn, "enterprise", ids["resumed"], "suspension", D(2026, 3, 1),
                                 lifted_on=D(2026, 5, 20))[1]
        conn.close()
        yield url, ids


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "RISKMAP_DATABASE_URL": url, "CI": "true", "COLUMNS": "200"})


def test_supervision_as_json_csv_and_table(data, tmp_path):
    """JSON lists every site with its light and due date; the CSV file has the same rows; the table's title
    counts the lights, the overdue and the look-back sites."""
    url, ids = data
    got = run(url, "supervision", "--area", WEST, "--as-of", "2026-06-01", "--format", "json")
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    assert doc["count"] == 3 and doc["as_of"] == "2026-06-01"
    first = doc["items"][0]
    assert (first["id"], first["light"], first["next_due"], first["days_overdue"]) == (ids["red"], "red",
                                                                                       "2026-05-01", 31)
    resumed = next(i for i in doc["items"] if i["kind"] == "enterprise" and i["id"] == ids["resumed"])
    assert resumed["look_back"][0]["source_id"] == ids["lifted"]
    out = tmp_path / "supervision.csv"
    assert run(url, "supervision", "--as-of", "2026-06-01", "--format", "csv", "--out", str(out)).returncode == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(x["kind"], x["id"], x["light"]) for x in rows] == [(i["kind"], str(i["id"]), i["light"])
                                                                for i in doc["items"]]
    table = run(url, "supervision", "--as-of", "2026-06-01", "--overdue")
    assert table.returncode == 0, table.stderr
    assert re.search(r"red 1, yellow 0, green 0; 1 overdue, 0 look-back", table.stdout)


def test_staffing_and_bad_options(data):
    """riskmap staffing --format json gives each county's inspector-days (red monthly 12 x 3 h x 2, blue 3 h x 2,
    yellow venue 2 x 2.5 h x 2: 88 h, 11 days); a bad date or format is exit 2 naming the option."""
    url, _ = data
    got = run(url, "staffing", "--format", "json")
    assert got.returncode == 0, got.stderr
    (west,) = json.loads(got.stdout)["areas"]
    assert west["inspector_hours"] == pytest.approx(72 + 6 + 10) and west["inspector_days"] == pytest.approx(11)
    bad = run(url, "supervision", "--as-of", "1 June")
    assert bad.returncode == 2 and "--as-of" in bad.stderr
    assert run(url, "staffing", "--format", "pdf").returncode == 2


def test_plan_with_look_back_and_overdue(data, tmp_path):
    """riskmap plan --look-back --overdue on 2026-06-01: the resumed enterprise (a look-back) and the overdue red
    one are must-visit stops, and the CSV says why."""
    url, ids = data
    out = tmp_path / "plan.csv"
    got = run(url, "plan", "--teams", "1", "--days", "1", "--area", WEST, "--min-level", "red", "--look-back",
              "--overdue", "--first-day", "2026-06-01", "--base", "118.2,39.2", "--time-limit", "1",
              "--iterations", "200", "--out", str(out))
    assert got.returncode == 0, got.stderr
    rows = {(x["kind"], x["id"]): x for x in csv.DictReader(out.open(encoding="utf-8"))}
    assert rows[("enterprise", str(ids["red"]))]["must_visit"] == "overdue"
    resumed = rows[("enterprise", str(ids["resumed"]))]
    assert resumed["must_visit"] == "look_back"
    assert resumed["look_back"].startswith(f"enforcement_lifted 2026-05-20 enforcement_action {ids['lifted']}")
