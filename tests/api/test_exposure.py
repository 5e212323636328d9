"""GET /exposure: the exposure surface in a box, for the map's heatmap."""

from __future__ import annotations

import json
import math
import random

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


def test_a_cells_kept_point_follows_its_value(client, conn):
    """Each cell keeps its point as text (migration 0033), which the answer is written from: a cell whose value
    changes is answered with the new value at once."""
    with conn.cursor() as cur:
        cur.execute("SELECT resolution, cell, value, ST_X(geom), ST_Y(geom) FROM exposure_cell "
                    "WHERE geom && ST_MakeEnvelope(118.05, 39.55, 118.35, 39.75, 4326) ORDER BY value DESC LIMIT 1")
        resolution, cell, value, x, y = cur.fetchone()
        cur.execute("UPDATE exposure_cell SET value = %s WHERE resolution = %s AND cell = %s",
                    (value + 1234.5678, resolution, cell))
    try:
        body = client.get("/exposure", params={"bbox": BOX, "max_points": 50_000}).json()
        mine = [p for p in body["points"] if abs(p[0] - x) < 1e-5 and abs(p[1] - y) < 1e-5]
        assert len(mine) == 1 and mine[0][2] == pytest.approx(value + 1234.5678, abs=1.1e-3)
        assert body["max"] == pytest.approx(value + 1234.5678, abs=1.1e-3)
    finally:
        with conn.cursor() as cur:
            cur.execute("UPDATE exposure_cell SET value = %s WHERE resolution = %s AND cell = %s",
                        (value, resolution, cell))


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


def _points(body: dict) -> list[tuple[float, float, float]]:
    return sorted(tuple(p) for p in body["points"])


def _sql_answer(conn, box: tuple[float, float, float, float], grid: float) -> dict:
    """What exposure_points.sql, which groups every cell of the box at request time, answers for ``grid``."""
    from api.routes import sql_text

    with conn.cursor() as cur:
        cur.execute(sql_text("exposure_points"), dict(zip(("x0", "y0", "x1", "y1"), box, strict=True), grid=grid))
        return json.loads(cur.fetchone()[0])


def test_grouped_answer_from_the_kept_squares_equals_grouping_every_cell(client, conn):
    """For views from the whole region down to a street (random boxes, point budgets from 100 to 20,000), the
    grouped answer, read from the squares kept ready (exposure_grid), is exactly what grouping every cell of the
    box on the same grid gives: the same points, the same largest value; and a box holding no more cells than
    the budget gets every cell, ungrouped."""
    rng = random.Random(15)
    with conn.cursor() as cur:
        cur.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                    "(SELECT ST_Extent(geom) e FROM exposure_cell) x")
        ex0, ey0, ex1, ey1 = cur.fetchone()
    grouped = 0
    for _ in range(40):
        w = (ex1 - ex0) * rng.uniform(0.02, 1.2)
        h = (ey1 - ey0) * rng.uniform(0.02, 1.2)
        x0, y0 = rng.uniform(ex0 - w / 2, ex1 - w / 2), rng.uniform(ey0 - h / 2, ey1 - h / 2)
        box = (round(x0, 5), round(y0, 5), round(x0 + w, 5), round(y0 + h, 5))
        budget = rng.choice((100, 500, 2000, 11008, 20000))
        body = client.get("/exposure", params={"bbox": ",".join(map(str, box)), "max_points": budget}).json()
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM exposure_cell WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", box)
            cells = cur.fetchone()[0]
        if cells <= budget:
            assert body["grid_deg"] == 0
        else:
            grouped += 1
            size = body["grid_deg"]
            k = round(math.log2(14.0625 / size))
            assert size == 14.0625 / 2**k  # a size of the ladder
            # the smallest of the ladder that is at least the size leaving max_points squares in the box (or the
            # finest kept, for cells of 250 m)
            assert size >= math.sqrt(w * h / budget) * (1 - 1e-9) or k == 12
            assert size / 2 < math.sqrt(w * h / budget) or k == 0
        want = _sql_answer(conn, box, body["grid_deg"])
        assert _points(body) == _points(want)
        assert (body["max"], body["cell_m"]) == (want["max"], want["cell_m"])
    assert grouped >= 10


def test_kept_squares_follow_an_incremental_rescoring(cluster):
    """After sites are added, moved and deleted and re-scored incrementally (the exposure cells around them
    rewritten), and after cells are changed by plain SQL, the kept squares are exactly those built again from all
    the cells."""
    import datetime as dt

    from geo import store
    from geo.risk.config import load_model
    from geo.risk.scoring import score
    from tests.conftest import demo_template, throwaway_database

    with throwaway_database(cluster[1], template=demo_template(cluster[1])) as url:
        conn = store.connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO enterprise (source_id, name, industry, employees, geom) VALUES "
                            "('grid-1', '网格化工', 'hazardous_chemicals', 900, "
                            "ST_SetSRID(ST_MakePoint(118.31, 39.71), 4326))")
                cur.execute("UPDATE enterprise SET geom = ST_SetSRID(ST_MakePoint(118.02, 39.58), 4326) "
                            "WHERE id = (SELECT min(id) FROM enterprise)")
                cur.execute("DELETE FROM venue WHERE id = (SELECT max(id) FROM venue)")
            conn.commit()
            summary = score(conn, load_model(), dt.date(2026, 11, 29))
            assert not summary.full and sum(summary.scored.values()) > 0
            kept = "SELECT level, gx, gy, x, y, value, resolution, cells, point FROM exposure_grid ORDER BY 1, 2, 3"
            with conn.cursor() as cur:
                cur.execute(kept)
                incremental = cur.fetchall()
                cur.execute("SELECT riskmap_exposure_grid_refresh(NULL, NULL, NULL, NULL)")
                cur.execute(kept)
                rebuilt = cur.fetchall()
                # cells written by any statement (here plain SQL: one raised, one removed): the squares follow
                cur.execute("UPDATE exposure_cell SET value = value * 40 WHERE cell = (SELECT min(cell) FROM "
                            "exposure_cell)")
                cur.execute("DELETE FROM exposure_cell WHERE cell = (SELECT max(cell) FROM exposure_cell)")
                cur.execute(kept)
                followed = cur.fetchall()
                cur.execute("SELECT riskmap_exposure_grid_refresh(NULL, NULL, NULL, NULL)")
                cur.execute(kept)
                rebuilt_after_sql = cur.fetchall()
            conn.rollback()
        finally:
            conn.close()
    assert len(incremental) > 1000
    assert incremental == rebuilt
    assert followed != incremental and followed == rebuilt_after_sql
