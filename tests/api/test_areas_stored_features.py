"""GET /areas serves H3 cells' Features as stored with their rows (area_risk.feature_json, migration 0023) and
skips the exact intersection test for areas whose bounding box lies inside the box: its answer must stay byte for
byte what the query that built every Feature per request (kept below) gave, on the scored demo, after an
incremental re-scoring that changes some areas, after a full one, and for rows scored before the migration."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import psycopg2
import pytest
from starlette.datastructures import URL

from api.routes import geojson_page
from api.routes.areas import page_params
from geo import store
from geo.risk.config import load_model
from geo.risk.scoring import score
from tests.api.conftest import AS_OF

# api/sql/areas_page.sql before migration 0023: every Feature built per request, every area tested exactly
OLD_AREAS_PAGE = """
SELECT json_build_object(
           'type', 'Feature',
           'id', r.area_type || ':' || r.area_id,
           'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW(r.geom), 7)::json,
           'properties', json_build_object(
               'area_id', r.area_id, 'area_type', r.area_type, 'resolution', r.resolution,
               'area_level', %(area_level)s::text, 'name', a.name,
               'score', round(r.score::numeric, 2), 'level', r.level, 'level_max', r.level_max,
               'level_banded', r.level_banded, 'counts', r.counts, 'features', r.features,
               'population_exposed', r.population_exposed, 'model_version', r.model_version))::text,
       r.area_id
FROM area_risk r
LEFT JOIN area a ON r.area_type = 'admin' AND a.admin_code = r.area_id
WHERE r.area_type = %(area_type)s AND r.resolution = %(resolution)s
  AND (%(after)s::text IS NULL OR r.area_id > %(after)s::text)
  AND (%(nobox)s OR (r.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                     AND ST_Intersects(r.geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))))
  AND (%(levels)s::text[] IS NULL OR r.level = ANY(%(levels)s::text[]))
ORDER BY r.area_id
LIMIT %(limit)s + 1
"""

BOXES = [None,
         "117.3,39.0,119.1,40.2",  # a zoom-8 view around 118.2, 39.6
         "118.1,39.55,118.25,39.65",  # a zoom-11 view: most cells cross its edges
         "119.0,38.8,120.5,40.6",  # the region's eastern edge and beyond
         "118.2,39.0,118.2005,40.2",  # a sliver: no cell inside, every one crossing it
         "100.0,20.0,101.0,21.0"]  # nothing there
LEVELS = ["province", "city", "county", "township", "h3:5", "h3:6", "h3:7", "h3:8", "h3:9"]


def old_answer(conn, url: str) -> bytes:
    """The body GET ``url`` gave with the query before migration 0023."""
    q = dict(parse_qsl(urlsplit(url).query))
    limit = int(q.get("limit", 1000))
    params = page_params(load_model(), q["level"], q.get("bbox"), q.get("risk_level"), limit, q.get("after"))
    with conn.cursor() as cur:
        cur.execute(OLD_AREAS_PAGE, params)
        rows = cur.fetchall()
    return geojson_page(SimpleNamespace(url=URL(url)), rows, limit).body


def assert_same_answers(client, conn, cases) -> int:
    """Every page of every case (query parameters of /areas) is byte for byte the old answer; returns the number of
    features seen."""
    seen = 0
    for params in cases:
        r = client.get("/areas", params=params)
        while True:
            assert r.status_code == 200, r.text
            assert r.content == old_answer(conn, str(r.request.url)), r.request.url
            body = r.json()
            seen += body["numberReturned"]
            if body["next"] is None:
                break
            r = client.get(body["next"])
    return seen


def every_case() -> list[dict]:
    return [{"level": level, **({"bbox": box} if box else {})} for level in LEVELS for box in BOXES]


def paged_cases() -> list[dict]:
    return [{"level": "h3:8", "bbox": BOXES[1], "limit": 97}, {"level": "h3:9", "limit": 500},
            {"level": "h3:7", "risk_level": "red,orange"}, {"level": "county", "limit": 5, "risk_level": "blue"},
            {"level": "h3:8", "bbox": BOXES[2], "risk_level": "yellow,blue", "limit": 10}]


def stored_features(conn) -> dict[tuple, str]:
    with conn.cursor() as cur:
        cur.execute("SELECT resolution, area_id, feature_json FROM area_risk WHERE area_type = 'h3'")
        return {(r, a): f for r, a, f in cur.fetchall()}


def test_the_scored_demo_answers_as_before(client, conn):
    """Every level, with and without boxes (inside, across the edges, outside the region), every page: the same
    bytes; H3 rows hold their Feature, admin rows none."""
    assert assert_same_answers(client, conn, every_case() + paged_cases()) > 10_000
    with conn.cursor() as cur:
        cur.execute("SELECT area_type, count(*), count(feature_json) FROM area_risk GROUP BY 1 ORDER BY 1")
        (_, admins, admin_texts), (_, cells, cell_texts) = cur.fetchall()
    assert admins == 14 and admin_texts == 0 and cells > 1000 and cell_texts == cells


@pytest.fixture
def writer(demo_url):
    """A connection writing in transactions, as the scorer's do."""
    c = store.connect(demo_url)
    yield c
    c.close()


def test_an_incremental_rescoring_keeps_the_answers(client, conn, writer):
    """A moved pipeline and a deleted venue, re-scored incrementally: the changed cells' stored Features follow."""
    before = stored_features(conn)
    with writer.cursor() as cur:
        cur.execute("DELETE FROM venue WHERE id = (SELECT min(id) FROM venue)")
        cur.execute("UPDATE pipeline SET geom = ST_Translate(geom, 0.01, 0.0) "
                    "WHERE id = (SELECT min(id) FROM pipeline)")
    writer.commit()
    summary = score(writer, load_model(), AS_OF)
    writer.commit()
    assert not summary.full
    after = stored_features(conn)
    assert 0 < sum(before.get(k) != v for k, v in after.items()) < len(after) / 2
    assert assert_same_answers(client, conn, every_case() + paged_cases()) > 10_000


def test_a_full_rescoring_keeps_the_answers(client, conn, writer):
    """A full run (every area row deleted and copied in again) with a settlement's population changed."""
    with writer.cursor() as cur:
        cur.execute("UPDATE settlement SET population = population * 7 WHERE id = (SELECT min(id) FROM settlement "
                    "WHERE population IS NOT NULL)")
    writer.commit()
    assert score(writer, load_model(), AS_OF, full=True).full
    writer.commit()
    assert assert_same_answers(client, conn, every_case() + paged_cases()) > 10_000


def test_numbers_are_written_as_the_api_reads_them_whatever_the_writers_setting(client, conn, demo_url):
    """A row written by a session printing floats with fewer digits (extra_float_digits 0) still holds the text
    the old query gives in the API's sessions."""
    writer = psycopg2.connect(demo_url, options="-c extra_float_digits=0")
    try:
        with writer, writer.cursor() as cur:
            cur.execute("UPDATE area_risk SET population_exposed = population_exposed + 1.0 / 3, "
                        "score = score + 1.0 / 7 WHERE area_type = 'h3' AND resolution = 8")
    finally:
        writer.close()
    assert assert_same_answers(client, conn, [{"level": "h3:8"}, {"level": "h3:8", "bbox": BOXES[1]}]) > 1000


def test_the_migration_fills_the_rows_scored_before_it(client, conn):
    """Migration 0023 applied to a scored database builds every H3 row's Feature."""
    with conn.cursor() as cur:
        cur.execute("DROP TRIGGER area_risk_feature_json ON area_risk")
        cur.execute("DROP FUNCTION riskmap_area_feature_json()")
        cur.execute("ALTER TABLE area_risk DROP COLUMN feature_json")
        cur.execute("DELETE FROM riskmap_schema_migrations WHERE version = %s", (23,))
    conn.commit()
    assert [m.version for m in store.migrate(conn)] == [23]
    assert all(stored_features(conn).values())
    assert assert_same_answers(client, conn, every_case()) > 10_000
