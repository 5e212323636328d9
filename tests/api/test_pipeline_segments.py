"""GET /pipeline-segments: the pipelines' scored segments with their risk (the map colours pipelines by them)."""

from __future__ import annotations

from tests.api.paging import walk


def test_segments_in_a_box_with_their_risk(client, conn):
    """Every segment meeting the box comes back once, across pages, with its pipeline, score and level."""
    bbox = "118.2,39.4,118.5,39.7"
    features, pages = walk(client, "/pipeline-segments", {"bbox": bbox, "limit": 50})
    with conn.cursor() as cur:
        cur.execute("SELECT s.id, s.pipeline_id, s.seq, r.level FROM pipeline_segment s "
                    "LEFT JOIN feature_risk r ON r.kind = 'pipeline_segment' AND r.feature_id = s.id "
                    "WHERE ST_Intersects(s.geom, ST_MakeEnvelope(118.2, 39.4, 118.5, 39.7, 4326)) ORDER BY s.id")
        rows = cur.fetchall()
    got = [(f["properties"]["id"], f["properties"]["pipeline_id"], f["properties"]["seq"], f["properties"]["level"])
           for f in features]
    assert got == rows and len(rows) > 50 and pages > 1
    assert all(f["geometry"]["type"] == "LineString" for f in features)


def test_bad_box_is_422(client):
    """A malformed box is a 422 naming bbox."""
    r = client.get("/pipeline-segments", params={"bbox": "118.5,39.4,118.2"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "bbox"
