"""GET /features (keyset pages) and GET /features/{kind}/{id} (full explanation) against the scored demo."""

from __future__ import annotations

import pytest

from tests.api.paging import walk as walk_pages


def ids_in_db(conn, sql: str, params=()) -> list[int]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return sorted(r[0] for r in cur.fetchall())


def walk(client, url: str, params: dict) -> tuple[list[int], int]:
    """The ids of every feature on every page, and the number of pages."""
    features, pages = walk_pages(client, url, params)
    return [f["properties"]["id"] for f in features], pages


def test_keyset_pagination_walks_every_feature_once(client, conn):
    """Following `next` visits every venue exactly once, in id order, a page of `limit` at a time."""
    seen, pages = walk(client, "/features", {"kind": "venue", "limit": 150})
    expected = ids_in_db(conn, "SELECT id FROM venue")
    assert seen == expected
    assert pages == -(-len(expected) // 150)


def test_page_is_geojson_with_scores(client):
    """A page is a GeoJSON FeatureCollection whose features carry id, source_id, kind, name, score and level."""
    r = client.get("/features", params={"kind": "enterprise", "limit": 3})
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 3 and body["next"]
    f = body["features"][0]
    assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
    assert set(f["properties"]) == {"id", "source_id", "kind", "name", "score", "level", "direct_red"}
    assert f["properties"]["kind"] == "enterprise" and f["properties"]["level"] in ("blue", "yellow", "orange", "red")


def test_default_limit_is_100(client):
    """Without `limit` a page holds 100 features."""
    assert len(client.get("/features", params={"kind": "enterprise"}).json()["features"]) == 100


def test_bbox_filter(client, conn):
    """`bbox` returns exactly the features intersecting the box, across pages."""
    box = (118.1, 39.6, 118.3, 39.7)
    seen, _ = walk(client, "/features", {"kind": "enterprise", "bbox": ",".join(map(str, box)), "limit": 40})
    expected = ids_in_db(conn, "SELECT id FROM enterprise WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, "
                               "4326))", box)
    assert seen == expected and len(expected) > 40


def test_level_filter(client, conn):
    """`level` (a comma list) keeps the features at those levels, pipelines by their rolled-up level."""
    seen, _ = walk(client, "/features", {"kind": "pipeline", "level": "red,orange", "limit": 5})
    expected = ids_in_db(conn, "SELECT feature_id FROM feature_risk WHERE kind = 'pipeline' "
                               "AND level IN ('red', 'orange')")
    assert seen == expected and expected


def test_detail_explains_every_factor(client, conn):
    """GET /features/{kind}/{id} gives every factor with value, points, assumed, title, source and unit."""
    with conn.cursor() as cur:
        cur.execute("SELECT feature_id, jsonb_array_length(factors), direct_red FROM feature_risk "
                    "WHERE kind = 'enterprise' ORDER BY direct_red IS NULL, feature_id LIMIT 1")
        fid, n_factors, direct_red = cur.fetchone()
    r = client.get(f"/features/enterprise/{fid}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    p = r.json()["properties"]
    assert p["id"] == fid and p["kind"] == "enterprise" and p["direct_red"] == direct_red
    assert len(p["factors"]) == n_factors
    for f in p["factors"]:
        assert set(f) == {"factor", "value", "points", "assumed", "title", "source", "unit"}
        assert f["title"] and f["source"] and f["unit"] is not None
    assert isinstance(p["details"], dict) and p["model_version"]
    assert p["attributes"]["industry"]


def test_pipeline_detail_uses_segment_factor_definitions(client):
    """A pipeline's factors (those of its worst segment) come with their titles; details name that segment."""
    p = client.get("/features/pipeline/1").json()["properties"]
    assert p["factors"] and all(f["title"] for f in p["factors"])
    assert {"worst_segment", "segments"} <= set(p["details"])


def test_every_pipelines_hca_grade_is_its_highest_segments(client, conn):
    """On the demo, each pipeline's details give the highest HCA grade of its segments and their count per grade,
    whatever segment scores highest (issue 13 item 8)."""
    with conn.cursor() as cur:
        cur.execute("SELECT g.pipeline_id, array_agg((r.details ->> 'hca_grade')::integer ORDER BY g.seq) "
                    "FROM pipeline_segment g JOIN feature_risk r ON r.kind = 'pipeline_segment' "
                    "AND r.feature_id = g.id GROUP BY g.pipeline_id")
        grades = dict(cur.fetchall())
    assert any(max(g) > 0 for g in grades.values())
    for pid, segment_grades in grades.items():
        d = client.get(f"/features/pipeline/{pid}").json()["properties"]["details"]
        assert d["hca_grade"] == max(segment_grades)
        assert {g["grade"]: g["segments"] for g in d["hca_by_grade"]} == {
            g: segment_grades.count(g) for g in (3, 2, 1, 0)}
        assert [s["seq"] for s in d["hca_segments"]] == [i for i, g in enumerate(segment_grades) if g > 0]


def test_unknown_id_is_404(client):
    """An id that does not exist is a 404 problem."""
    r = client.get("/features/venue/999999")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404 and "999999" in r.json()["detail"]


@pytest.mark.parametrize(("url", "field"), [
    ("/features/factory/1", "kind"),
    ("/features/settlement/1", "kind"),
    ("/features/venue/0", "id"),
    ("/features/venue/99999999999999999999", "id"),
    ("/features/venue/abc", "id"),
    ("/features?kind=factory", "kind"),
    ("/features", "kind"),
    ("/features?kind=venue&limit=0", "limit"),
    ("/features?kind=venue&limit=1001", "limit"),
    ("/features?kind=venue&after=-1", "after"),
    ("/features?kind=venue&level=purple", "level"),
    ("/features?kind=venue&bbox=1,2,3", "bbox"),
    ("/features?kind=venue&bbox=a,b,c,d", "bbox"),
    ("/features?kind=venue&bbox=1,2,3,4,5", "bbox"),
    ("/features?kind=venue&bbox=119,39,118,40", "bbox"),
    ("/features?kind=venue&bbox=118,40,119,39", "bbox"),
    ("/features?kind=venue&bbox=118,39,190,40", "bbox"),
    ("/features?kind=venue&bbox=118,-95,119,40", "bbox"),
    ("/features?kind=venue&bbox=nan,39,119,40", "bbox"),
    ("/features?kind=venue&bbox=", "bbox"),
])
def test_bad_parameters_are_422(client, url, field):
    """Each bad parameter gets a 422 problem+json naming the field (never a 500)."""
    r = client.get(url)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_a_name_written_as_a_template_is_shown_as_written_on_the_html_page(client, conn):
    """The feature page puts what the register holds into the HTML as text: a name or address written in the page
    template language ({{ ... }}, {% ... %}) is shown as it was written, never evaluated on the server."""
    name = "{{ 7 * 191 }}化工{% for x in range(3) %}{{ x }}{% endfor %}"
    with conn.cursor() as cur:
        cur.execute("UPDATE enterprise SET name = %s WHERE id = (SELECT min(id) FROM enterprise) RETURNING id",
                    (name,))
        fid = cur.fetchone()[0]
    try:
        page = client.get(f"/features/enterprise/{fid}", params={"format": "html"})
        assert page.status_code == 200
        assert "{{ 7 * 191 }}化工{% for x in range(3) %}{{ x }}{% endfor %}" in page.text
        assert "1337化工" not in page.text and "化工012" not in page.text
    finally:
        with conn.cursor() as cur:
            cur.execute("UPDATE enterprise SET name = %s WHERE id = %s", ("x", fid))
