"""GET /exposure: the exposure surface in a box, for the map's heatmap."""

from __future__ import annotations

import math

import pytest

BOX = "118.05,39.55,118.35,39.75"


def test_points_are_the_cells_in_the_box(client, conn):
    """With room for every cell, the answer is each cell centre in the box with its value."""
    body = client.get("/exposure", params={"bbox": BOX, "max_points": 50_000}).json()
    with conn.cursor() as cur:
        cur.execute("SELECT ST_X(geom), ST_Y(geom), value, resolution FROM exposure_cell "
                    "WHERE geom && ST_MakeEnvelope(118.05, 39.55, 118.35, 39.75, 4326)")
        cells = cur.fetchall()
    assert body["grid_deg"] == 0 and len(body["points"]) == len(cells) > 100
    assert body["cell_m"] == max(c[3] for c in cells)
    got = sorted((round(x, 5), round(y, 5), round(v, 3)) for x, y, v in body["points"])
    want = sorted((round(x, 5), round(y, 5), round(v, 3)) for x, y, v, _ in cells)
    for g, w in zip(got, want, strict=True):  # (5 decimals for positions, 3 for values: rounding may differ by one)
        assert g[:2] == pytest.approx(w[:2], abs=1.1e-5) and g[2] == pytest.approx(w[2], abs=1.1e-3)
    assert body["max"] == pytest.approx(max(c[2] for c in cells), abs=1e-3)


def test_many_cells_are_grouped_on_a_grid(client):
    """Over max_points cells, the cells are grouped: fewer points, the largest value kept."""
    full = client.get("/exposure", params={"bbox": BOX, "max_points": 50_000}).json()
    thin = client.get("/exposure", params={"bbox": BOX, "max_points": 100}).json()
    assert thin["grid_deg"] > 0 and len(thin["points"]) < len(full["points"])
    assert len(thin["points"]) <= 200  # about max_points groups (a grid over the box)
    assert thin["max"] == full["max"]


@pytest.mark.parametrize(("params", "field"), [
    ({}, "bbox"), ({"bbox": "1,2,3"}, "bbox"), ({"bbox": "3,2,1,4"}, "bbox"),
    ({"bbox": BOX, "max_points": 10}, "max_points"), ({"bbox": BOX, "max_points": 10**9}, "max_points"),
])
def test_bad_parameters_are_422(client, params, field):
    """A missing or malformed box, or a point budget out of range, is a 422 naming the field."""
    r = client.get("/exposure", params=params)
    assert r.status_code == 422
    assert field in {e["field"] for e in r.json()["errors"]}


def test_grouped_points_are_each_groups_hottest_cell(client, conn):
    """Grouped on a grid, each point is a real cell at its own position with its own value (the hottest of its
    group), so a hot spot is drawn where it is at every zoom."""
    thin = client.get("/exposure", params={"bbox": BOX, "max_points": 100}).json()
    with conn.cursor() as cur:
        cur.execute("SELECT ST_X(geom), ST_Y(geom), value, round(ST_X(geom)::numeric, 5)::float8, "
                    "round(ST_Y(geom)::numeric, 5)::float8, round(value::numeric, 3)::float8 FROM exposure_cell "
                    "WHERE geom && ST_MakeEnvelope(118.05, 39.55, 118.35, 39.75, 4326)")
        cells = cur.fetchall()
    grid = thin["grid_deg"]
    hottest: dict[tuple[float, float], float] = {}
    for x, y, _, _, _, v in cells:  # grouped as the SQL groups them: floor(x / grid), floor(y / grid)
        key = (math.floor(x / grid), math.floor(y / grid))
        hottest[key] = max(hottest.get(key, 0.0), v)
    assert {tuple(p) for p in thin["points"]} <= {c[3:] for c in cells}
    assert sorted(v for _, _, v in thin["points"]) == sorted(hottest.values())


def test_scale_is_the_quantiles_of_the_whole_surface(client, conn):
    """/exposure/scale gives the exposure at the 50th, 75th, 90th and 97th percentiles of every cell in the
    region, ascending, whatever part of the map is on screen."""
    scale = client.get("/exposure/scale").json()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*), percentile_cont(ARRAY[0.5, 0.75, 0.9, 0.97]) WITHIN GROUP (ORDER BY value) "
                    "FROM exposure_cell")
        cells, breaks = cur.fetchone()
    assert scale["method"] == "quantile" and scale["quantiles"] == [0.5, 0.75, 0.9, 0.97]
    assert scale["cells"] == cells > 1000 and scale["sampled"] is False
    assert scale["breaks"] == pytest.approx(breaks, abs=1e-3)
    assert scale["breaks"] == sorted(scale["breaks"]) and scale["breaks"][0] < scale["breaks"][-1]
    # the skew the scale is there for: most cells lie far below the largest value
    box = client.get("/exposure", params={"bbox": "117,38,120,41", "max_points": 50_000}).json()
    assert scale["breaks"][-1] < box["max"] / 2


def test_scale_of_a_large_surface_comes_from_a_repeatable_sample(client, conn, monkeypatch):
    """Above SCALE_SAMPLE_CELLS cells the quantiles come from a page sample: the same answer on every request,
    close to the exact quantiles."""
    from api.routes import exposure

    with conn.cursor() as cur:
        cur.execute("ANALYZE exposure_cell")  # (the sample's size is set from the table's row estimate)
        cur.execute("SELECT count(*), percentile_cont(ARRAY[0.5, 0.75, 0.9, 0.97]) WITHIN GROUP (ORDER BY value) "
                    "FROM exposure_cell")
        cells, exact = cur.fetchone()
    monkeypatch.setattr(exposure, "SCALE_SAMPLE_CELLS", cells // 4)
    first, again = client.get("/exposure/scale").json(), client.get("/exposure/scale").json()
    assert first == again
    assert first["sampled"] is True and 0 < first["cells"] < cells
    assert first["breaks"] == pytest.approx(exact, rel=0.25)
