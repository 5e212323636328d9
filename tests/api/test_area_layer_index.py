"""A query of one layer of area_risk reads that layer's index entries in its box only (migration 0035: the GiST
index leads with the area type and resolution), however many rows the other layers, or the same layer outside the
box, hold.  Before it, at a million national features, the county zoning of a view fetched the ~50,000 H3 cells in
its box to keep its ~100 counties (bench/scale/growth.py: 102 ms, against 25 ms at 100,000 features), and an H3
view the whole layer or every layer's cells in its box (the cases below, which the demo is given a country's
proportions for)."""

from __future__ import annotations

import pytest

from api.routes import sql_text
from api.routes.areas import page_params
from geo.risk.config import load_model


def index_rows(plan: dict) -> int:
    """Entries every index scan of a plan fetched, in all: the rows it passed on and those its filter threw away."""
    own = ((plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
            + plan.get("Rows Removed by Index Recheck", 0)) * plan.get("Actual Loops", 1)
           if "Index Name" in plan else 0)
    return own + sum(index_rows(child) for child in plan.get("Plans", []))


def _box(conn, level: str, share: float) -> str:
    """A box around the middle of the stored layer, ``share`` of its width and height."""
    area_type, resolution = ("h3", int(level[3:])) if level.startswith("h3:") else ("admin", 3)
    with conn.cursor() as cur:
        cur.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e "
                    "FROM area_risk WHERE area_type = %s AND resolution = %s AND area_id NOT LIKE 'far-%%') x",
                    (area_type, resolution))
        x0, y0, x1, y1 = cur.fetchone()
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * share / 2, (y1 - y0) * share / 2
    return f"{cx - hw:.5f},{cy - hh:.5f},{cx + hw:.5f},{cy + hh:.5f}"


@pytest.fixture
def national_proportions(conn):
    """The demo's area_risk in a transaction (rolled back after) given a country's proportions: 3,000 more counties
    outside the region (the national set has 2,814) and 60,000 more H3 cells of resolution 10 over the region (a
    million national features give ~650,000 cells), copies of stored rows moved and renamed; the statistics read
    again."""
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute("""
            INSERT INTO area_risk (area_type, area_id, resolution, score, level_max, level_banded, level, counts,
                                   features, population_exposed, model_version, geom)
            SELECT 'admin', 'far-' || n, 3, r.score, r.level_max, r.level_banded, r.level, r.counts, r.features,
                   r.population_exposed, r.model_version, ST_Translate(r.geom, -60 - (n % 60), -30 + n / 60 * 0.01)
            FROM generate_series(1, 3000) n
            JOIN LATERAL (SELECT * FROM area_risk WHERE area_type = 'admin' AND resolution = 3
                          ORDER BY area_id LIMIT 1) r ON true""")
        cur.execute("""
            INSERT INTO area_risk (area_type, area_id, resolution, score, level_max, level_banded, level, counts,
                                   features, population_exposed, model_version, geom)
            SELECT 'h3', r.area_id || '-' || n, 10, r.score, r.level_max, r.level_banded, r.level, r.counts,
                   r.features, r.population_exposed, r.model_version, r.geom
            FROM (SELECT * FROM area_risk WHERE area_type = 'h3' AND resolution = 9 ORDER BY area_id LIMIT 6000) r,
                 generate_series(1, 10) n""")
        cur.execute("ANALYZE area_risk")
    yield conn
    conn.rollback()
    conn.autocommit = True


@pytest.mark.parametrize("query, level, share", [("areas_page_h3", "h3:9", 0.05), ("areas_page", "h3:8", 0.1)])
def test_a_layer_of_a_view_reads_only_its_own_entries(national_proportions, query, level, share):
    """As GET /areas runs it: the index scans fetch no more entries than the page has rows (each at most once per
    branch of the box test), while the box holds far more rows of other layers and the layer far more
    rows outside the box."""
    conn = national_proportions
    params = page_params(load_model(), level, _box(conn, level, share), None, 2000, None)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FILTER (WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326) "
                    "AND (area_type, resolution) <> (%(area_type)s, %(resolution)s)), "
                    "count(*) FILTER (WHERE (area_type, resolution) = (%(area_type)s, %(resolution)s)) "
                    "FROM area_risk", params)
        others_in_box, layer = cur.fetchone()
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql_text(query), params)  # as GET /areas runs it
        plan = cur.fetchone()[0][0]["Plan"]
        cur.execute(sql_text(query), params)
        rows = len(cur.fetchall())
    assert rows >= 5 and others_in_box > 10 * rows and layer > 10 * rows, (rows, others_in_box, layer)
    assert index_rows(plan) <= 2 * (rows + 1), (index_rows(plan), rows)
