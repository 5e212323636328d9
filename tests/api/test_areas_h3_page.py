"""GET /areas at an H3 resolution reads the cells' stored Features alone (api/sql/areas_page_h3.sql): the same rows
as areas_page.sql (which builds admin areas' Features) gives, and area_risk is never scanned by parallel workers
(migration 0028).  (The answers' bytes are checked against the query before migration 0023 in
test_areas_stored_features.py.)"""

from __future__ import annotations

import json

import pytest

from api.routes import sql_text
from api.routes.areas import page_params
from geo.risk.config import load_model
from tests.api.test_areas_stored_features import BOXES, paged_cases

H3_LEVELS = ["h3:5", "h3:6", "h3:7", "h3:8", "h3:9"]


def cases() -> list[dict]:
    return ([{"level": level, **({"bbox": box} if box else {})} for level in H3_LEVELS for box in BOXES]
            + [c for c in paged_cases() if c["level"].startswith("h3:")])


def params_of(case: dict) -> dict:
    return page_params(load_model(), case["level"], case.get("bbox"), case.get("risk_level"),
                       int(case.get("limit", 1000)), case.get("after"))


def plan(conn, query: str, params: dict) -> str:
    with conn.cursor() as cur:
        cur.execute("EXPLAIN (FORMAT JSON) " + query, params)
        return json.dumps(cur.fetchone()[0])


@pytest.fixture
def eager_planner(conn):
    """The planner told that parallel workers cost nothing, on a table of any size: where it may plan one, it does."""
    with conn.cursor() as cur:
        cur.execute("SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
                    "SET min_parallel_index_scan_size = 0; SET max_parallel_workers_per_gather = 2")
    yield conn
    with conn.cursor() as cur:
        cur.execute("RESET ALL")


def test_h3_rows_are_the_rows_areas_page_gives(conn):
    """Every H3 level, with and without boxes, with level filters and pages: the same rows, in the same order."""
    seen = 0
    with conn.cursor() as cur:
        for case in cases():
            p = params_of(case)
            cur.execute(sql_text("areas_page_h3"), p)
            new = cur.fetchall()
            cur.execute(sql_text("areas_page"), p)
            assert new == cur.fetchall(), case
            seen += len(new)
    assert seen > 5_000


def parallel_scans(plan_json: str) -> list[str]:
    """The relations a plan scans with a parallel-aware node."""
    found = []

    def walk(node: dict) -> None:
        if node.get("Parallel Aware") and "Relation Name" in node:
            found.append(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(json.loads(plan_json)[0]["Plan"])
    return found


def test_no_parallel_scan_of_area_risk_however_cheap_the_planner_thinks_one_is(eager_planner):
    """Both area queries, for a zoom-8 view and the whole of every level: area_risk is never scanned by parallel
    workers (parallel_workers 0, migration 0028); without it the eager planner scans it in parallel."""
    for level in ["county", *H3_LEVELS]:
        for box in (BOXES[1], None):
            p = params_of({"level": level, **({"bbox": box} if box else {})})
            for name in ("areas_page_h3", "areas_page") if level.startswith("h3:") else ("areas_page",):
                assert "area_risk" not in parallel_scans(plan(eager_planner, sql_text(name), p)), (level, box, name)
