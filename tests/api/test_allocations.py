"""GET /allocations: teams shared among the demo's counties, as GeoJSON, CSV and an HTML map with its table."""

from __future__ import annotations

import csv
import io

import pytest

from geo.planning.allocation import allocate_teams, area_counts


def test_geojson_gives_every_county_its_teams(client, conn):
    """Every county with its outline, counts, weight and teams; the teams add up and equal allocate_teams over
    the stored counts with the given weights."""
    r = client.get("/allocations", params={"teams": 16, "weights": "red=10"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    doc = r.json()
    assert len(doc["features"]) == 14 and doc["weights"]["red"] == 10 and doc["weights"]["orange"] == 4
    expected = allocate_teams({code: c for code, _, c in area_counts(conn)}, 16, doc["weights"])
    got = {f["id"]: f["properties"]["teams"] for f in doc["features"]}
    assert got == expected and sum(got.values()) == 16
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in doc["features"])
    p = doc["features"][0]["properties"]
    assert p["weight"] == 10 * p["red"] + 4 * p["orange"] + 2 * p["yellow"] + p["blue"]


def test_csv_and_html(client):
    rows = list(csv.DictReader(io.StringIO(client.get("/allocations", params={"teams": 5, "format": "csv"}).text)))
    assert len(rows) == 14 and sum(int(r["teams"]) for r in rows) == 5
    page = client.get("/allocations", params={"teams": 5}, headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count('<tr data-area="') == 14 and page.text.count('riskmap-alloc-label') == 14


def test_csv_goes_through_the_formula_safe_writer(client, conn):
    """An area named like a formula is written as text in the CSV (a leading quote), as every riskmap CSV is;
    the file is UTF-8 with its byte-order mark, for Excel."""
    with conn.cursor() as cur:
        cur.execute("SELECT admin_code, name FROM area WHERE level = 'county' ORDER BY admin_code LIMIT 1")
        code, name = cur.fetchone()
        cur.execute("UPDATE area SET name = %s WHERE admin_code = %s", ('=HYPERLINK("http://x")', code))
    conn.commit()
    try:
        body = client.get("/allocations", params={"teams": 5, "format": "csv"}).content
        assert body.startswith(b"\xef\xbb\xbf")
        rows = {r["admin_code"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
        assert rows[code]["name"] == "'=HYPERLINK(\"http://x\")"
    finally:
        with conn.cursor() as cur:
            cur.execute("UPDATE area SET name = %s WHERE admin_code = %s", (name, code))
        conn.commit()


@pytest.mark.parametrize(("params", "words"), [
    ({"teams": 0}, "teams"), ({"teams": 3, "weights": "purple=2"}, "purple"),
    ({"teams": 3, "weights": "red=x"}, "weights.red"), ({"teams": 3, "level": "village"}, "level")])
def test_bad_parameters_are_422(client, params, words):
    r = client.get("/allocations", params=params)
    assert r.status_code == 422 and words in r.text
