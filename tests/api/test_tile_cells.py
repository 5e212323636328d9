"""Site tiles below zoom 10 from the counts kept ready per zoom-14 tile (migration 0026, api/sql/tiles_sites_cells.sql;
issue 16): byte for byte the tiles that counting the sites at request time gives (api/sql/tiles_counted.sql), on the
scored demo and after sites are added, moved, reshaped, deleted and rescored through the API."""

from __future__ import annotations

import threading
import time

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.tiles import CELLS, EXTENT, SITES, tile_of
from api.settings import Settings
from geo.risk.framework import LEVELS

KEY = {"X-API-Key": "k-tile-cells-admin-93c1d7"}
KINDS = ["enterprise", "tailings_pond", "venue"]


@pytest.fixture(scope="module")
def api(demo_url):
    """An app with anonymous reads (a user of every area: tiles from the kept counts), an admin key whose edits wait
    for their scores, and a client."""
    with TestClient(create_app(Settings(anonymous_reads=True, database_url=demo_url, api_keys=KEY["X-API-Key"],
                                        rescore_wait_s=120))) as c:
        yield c


def rows(conn, query: str, params: dict | tuple = ()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


def counted_live(conn, kind: str, z: int, x: int, y: int) -> bytes:
    """The tile as counting every site of it at request time makes it (the query a user limited to areas gets,
    here run by the owner, who sees every site)."""
    params = {"z": z, "x": x, "y": y, "extent": EXTENT, "buffer": 64, "cells": CELLS, "layer": kind,
              "levels": list(LEVELS), "detail": False, **SITES[kind].params}
    with conn.cursor() as cur:
        cur.execute(SITES[kind].query(z, scoped=True), params)
        return bytes(cur.fetchone()[0])


def tiles_around(conn, kind: str) -> list[tuple[int, int, int]]:
    """Every tile of zooms 0 to 9 over the extent of the class's sites, with a ring of tiles around it."""
    w, s, e, n = rows(conn, f"SELECT ST_XMin(x), ST_YMin(x), ST_XMax(x), ST_YMax(x) FROM (SELECT ST_Extent(geom) x "  # noqa: S608
                            f"FROM {kind}) t")[0]
    tiles = []
    for z in range(10):
        _, x0, y0 = tile_of(w, n, z)
        _, x1, y1 = tile_of(e, s, z)
        tiles += [(z, x, y) for x in range(max(0, x0 - 1), min(2**z, x1 + 2))
                  for y in range(max(0, y0 - 1), min(2**z, y1 + 2))]
    return tiles


def assert_kept_tiles_equal_live(api, conn, kind: str) -> int:
    """Each tile of zooms 0 to 9 around the class's sites is, byte for byte, the tile counted live; the sites
    counted in them (zoom 9) add up to the table's."""
    counted = 0
    for z, x, y in tiles_around(conn, kind):
        r = api.get(f"/tiles/{kind}/{z}/{x}/{y}.mvt")
        assert r.status_code in (200, 204), r.text
        assert r.content == counted_live(conn, kind, z, x, y), (kind, z, x, y)
        if z == 9 and r.status_code == 200:
            counted += sum(f["properties"]["count"] for f in mapbox_vector_tile.decode(r.content)[kind]["features"])
    return counted


def low_zoom_count(api, kind: str, z: int, x: int, y: int) -> dict[str, int]:
    r = api.get(f"/tiles/{kind}/{z}/{x}/{y}.mvt")
    if r.status_code == 204:
        return {}
    cells = mapbox_vector_tile.decode(r.content)[kind]["features"]
    return {lv: sum(c["properties"][lv] for c in cells) for lv in ("count", "red", "orange", "yellow", "blue",
                                                                    "unscored")}


@pytest.mark.parametrize("kind", KINDS)
def test_kept_counts_give_the_tiles_counting_the_sites_gives(api, conn, kind):
    """On the scored demo, every tile of zooms 0 to 9 around the class's sites from the kept counts is the tile that
    counting its sites at request time makes, byte for byte; every site is in a kept cell or listed as spanning."""
    counted = assert_kept_tiles_equal_live(api, conn, kind)
    total = rows(conn, f"SELECT count(*) FROM {kind}")[0][0]  # noqa: S608 - fixed names
    assert counted >= total > 0  # (a site spanning zoom-9 tiles counts in each)
    kept, spanning = rows(conn, "SELECT (SELECT coalesce(sum(count), 0) FROM site_tile_cell WHERE kind = %(k)s), "
                                "(SELECT count(*) FROM site_tile_span WHERE kind = %(k)s)", {"k": kind})[0]
    assert kept + spanning == total


def test_edits_and_new_scores_move_the_kept_counts(api, conn):
    """Through the API: a venue moved 70 km leaves the zoom-9 tile it was counted in and enters another; a new
    enterprise is counted, a deleted one no longer; a tailings pond grown over several zoom-14 tiles is counted as
    spanning; a major hidden danger makes an enterprise red in its tile's counts.  After each, every low-zoom tile
    is still the tile counted live."""
    venue, lon, lat = rows(conn, "SELECT id, ST_X(geom), ST_Y(geom) FROM venue WHERE GeometryType(geom) = 'POINT' "
                                 "ORDER BY id LIMIT 1")[0]
    old, new = tile_of(lon, lat, 9), tile_of(lon + 0.8, lat, 9)
    assert old != new
    before = (low_zoom_count(api, "venue", *old), low_zoom_count(api, "venue", *new))
    r = api.patch(f"/features/venue/{venue}", headers=KEY,
                  json={"geometry": {"type": "Point", "coordinates": [lon + 0.8, lat]}, "properties": {}})
    assert r.status_code == 200, r.text
    after = (low_zoom_count(api, "venue", *old), low_zoom_count(api, "venue", *new))
    assert after[0].get("count", 0) == before[0]["count"] - 1
    assert after[1]["count"] == before[1].get("count", 0) + 1
    assert_kept_tiles_equal_live(api, conn, "venue")

    e_lon, e_lat = rows(conn, "SELECT ST_X(geom), ST_Y(geom) FROM enterprise ORDER BY id LIMIT 1")[0]
    tile = tile_of(e_lon, e_lat, 6)
    start = low_zoom_count(api, "enterprise", *tile)["count"]
    r = api.post("/features/enterprise", headers=KEY, json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [e_lon + 0.001, e_lat + 0.001]},
        "properties": {**rows(conn, "SELECT jsonb_build_object('name', '新增企业', 'industry', industry, "
                                    "'employees', employees) FROM enterprise ORDER BY id LIMIT 1")[0][0],
                       "source_id": "TILE-CELLS-NEW"}})
    assert r.status_code == 201, r.text
    added = r.json()["id"]
    assert low_zoom_count(api, "enterprise", *tile)["count"] == start + 1
    assert api.delete(f"/features/enterprise/{added}", headers=KEY).status_code == 200
    assert low_zoom_count(api, "enterprise", *tile)["count"] == start

    pond, p_lon, p_lat = rows(conn, "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                                    "FROM tailings_pond ORDER BY id LIMIT 1")[0]
    d = 0.03  # wider than a zoom-14 tile (0.022 degrees)
    ring = [[p_lon - d, p_lat - d], [p_lon + d, p_lat - d], [p_lon + d, p_lat + d], [p_lon - d, p_lat + d],
            [p_lon - d, p_lat - d]]
    r = api.patch(f"/features/tailings_pond/{pond}", headers=KEY,
                  json={"geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": {}})
    assert r.status_code == 200, r.text
    assert rows(conn, "SELECT count(*) FROM site_tile_span WHERE kind = 'tailings_pond' AND feature_id = %s",
                (pond,))[0][0] == 1
    assert_kept_tiles_equal_live(api, conn, "tailings_pond")

    site, s_lon, s_lat = rows(conn, "SELECT f.id, ST_X(f.geom), ST_Y(f.geom) FROM enterprise f JOIN feature_risk r "
                                    "ON r.kind = 'enterprise' AND r.feature_id = f.id WHERE r.level <> 'red' "
                                    "AND GeometryType(f.geom) = 'POINT' ORDER BY f.id LIMIT 1")[0]
    tile = tile_of(s_lon, s_lat, 8)
    reds = low_zoom_count(api, "enterprise", *tile)["red"]
    r = api.patch(f"/features/enterprise/{site}", json={"properties": {"major_hidden_danger": True}}, headers=KEY)
    assert r.status_code == 200, r.text
    assert low_zoom_count(api, "enterprise", *tile)["red"] == reds + 1
    assert_kept_tiles_equal_live(api, conn, "enterprise")


def test_a_user_limited_to_areas_cannot_read_the_kept_counts(conn):
    """The kept counts mix areas: as riskmap_scoped (a user limited to areas) the tables show no row."""
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SET LOCAL ROLE riskmap_scoped")
        cur.execute("SELECT (SELECT count(*) FROM site_tile_cell), (SELECT count(*) FROM site_tile_span)")
        seen = cur.fetchone()
        cur.execute("ROLLBACK")
    assert seen == (0, 0)
    assert rows(conn, "SELECT count(*) FROM site_tile_cell")[0][0] > 0


def test_two_transactions_adding_sites_to_one_cell_both_count(api, conn, demo_url):
    """Two transactions each add an enterprise in the same zoom-14 tile: the second one's count waits for the first
    to commit (no duplicate cell row), and both are counted; the tiles are still those counted live."""
    from geo import store

    lon, lat = rows(conn, "SELECT ST_X(geom), ST_Y(geom) FROM enterprise WHERE GeometryType(geom) = 'POINT' "
                          "ORDER BY id LIMIT 1")[0]
    tile = tile_of(lon, lat, 9)
    start = low_zoom_count(api, "enterprise", *tile)["count"]
    add = ("INSERT INTO enterprise (source_id, name, industry, geom) "
           "VALUES (%s, 'concurrent', 'machinery', ST_SetSRID(ST_MakePoint(%s, %s), 4326))")
    first, second = store.connect(demo_url), store.connect(demo_url)
    try:
        with first.cursor() as cur:
            cur.execute(add, ("TILE-CELLS-A", lon + 0.0001, lat))
        done = threading.Event()

        def other() -> None:
            with second.cursor() as cur:
                cur.execute(add, ("TILE-CELLS-B", lon - 0.0001, lat))
            second.commit()
            done.set()

        pid = second.get_backend_pid()
        worker = threading.Thread(target=other)
        worker.start()
        while rows(conn, "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))[0][0] != "Lock":
            assert worker.is_alive()  # (until the second waits for the first's lock)
            time.sleep(0.02)
        first.commit()
        worker.join(30)
        assert done.is_set()
    finally:
        first.close()
        second.close()
    assert low_zoom_count(api, "enterprise", *tile)["count"] == start + 2
    assert_kept_tiles_equal_live(api, conn, "enterprise")


def test_a_site_moved_by_a_user_limited_to_areas_is_counted_from_every_site(api, conn):
    """A change made as riskmap_scoped (the role a user limited to areas acts as; here 路北区's scope as
    api/dependencies.py sets it) moves one of its enterprises: the cells are counted again from every site, not only
    from the sites that user sees, and every low-zoom tile is still the tile counted live."""
    from api.dependencies import SCOPE

    site, lon, lat = rows(conn, "SELECT f.id, ST_X(f.geom), ST_Y(f.geom) FROM enterprise f JOIN area a "
                                "ON a.admin_code = '130203' AND ST_Intersects(a.geom, f.geom) "
                                "WHERE GeometryType(f.geom) = 'POINT' ORDER BY f.id LIMIT 1")[0]
    old = tile_of(lon, lat, 9)
    before = low_zoom_count(api, "enterprise", *old)["count"]
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute(SCOPE, {"areas": ["130203"]})
        cur.execute("UPDATE enterprise SET geom = ST_Translate(geom, 0.002, 0.0) WHERE id = %s", (site,))
        moved = cur.rowcount
        cur.execute("COMMIT")
        cur.execute("RESET ROLE; RESET riskmap.area_codes")
    assert moved == 1
    assert low_zoom_count(api, "enterprise", *old)["count"] == before  # (2 km within the zoom-9 tile)
    assert_kept_tiles_equal_live(api, conn, "enterprise")


def test_a_bulk_import_leaves_the_count_to_the_scoring_run_and_tiles_stay_exact(api, conn, demo_url, tmp_path,
                                                                                 monkeypatch):
    """A bulk import (a shadow table swapped in) does not count the class again in its own transaction: it marks the
    class's kept counts stale (migration 0031), and until a scoring run counts it whole every low-zoom tile is counted
    from the sites at request time, byte for byte the tile the counts would give; an edit meanwhile keeps no
    difference.  The scoring run that follows counts the class whole and takes it off the list."""
    import geopandas as gpd
    import numpy as np
    import shapely

    import geo.importer as importer
    from geo import store
    from geo.risk.config import load_model
    from geo.risk.scoring import score

    kept_count = "SELECT count(*) FROM site_tile_cell WHERE kind = 'enterprise'"
    stale = "SELECT count(*) FROM site_tile_stale WHERE kind = 'enterprise'"
    assert rows(conn, kept_count)[0][0] > 0 and rows(conn, stale)[0][0] == 0
    lon0, lat0 = rows(conn, "SELECT ST_X(ST_Centroid(ST_Extent(geom))), ST_Y(ST_Centroid(ST_Extent(geom))) "
                            "FROM enterprise")[0]
    rng = np.random.default_rng(16)
    n = 400
    path = tmp_path / "bulk.gpkg"
    gpd.GeoDataFrame({"source_id": [f"STALE-{i}" for i in range(n)], "name": [f"企业{i}" for i in range(n)],
                      "industry": ["化工"] * n},
                     geometry=shapely.points(lon0 + rng.uniform(-0.3, 0.3, n), lat0 + rng.uniform(-0.3, 0.3, n)),
                     crs="EPSG:4326").to_file(path, driver="GPKG", engine="pyogrio")
    monkeypatch.setattr(importer, "BULK_THRESHOLD", 100)  # (a million rows take this path; 400 do here)
    monkeypatch.setattr(importer, "BULK_SHARE", 0.1)
    c = store.connect(demo_url)
    try:
        report = importer.import_file(c, path, "enterprise", chunk_size=100)
    finally:
        c.close()
    assert report.inserted == n
    assert rows(conn, stale)[0][0] == 1 and rows(conn, kept_count)[0][0] == 0
    total = rows(conn, "SELECT count(*) FROM enterprise")[0][0]
    # the tiles served are counted live: they count the new sites too (kept counts would now be empty tiles)
    assert assert_kept_tiles_equal_live(api, conn, "enterprise") >= total

    # an edit of a stale class keeps no difference (there are no counts to change) and its tiles stay exact
    site, lon, lat = rows(conn, "SELECT id, ST_X(geom), ST_Y(geom) FROM enterprise WHERE source_id = 'STALE-0'")[0]
    with conn.cursor() as cur:
        cur.execute("UPDATE enterprise SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 4326) WHERE id = %s",
                    (lon + 0.5, lat, site))
    assert rows(conn, kept_count)[0][0] == 0
    assert_kept_tiles_equal_live(api, conn, "enterprise")

    # the scoring run that follows counts the class whole, from the sites and their new scores
    c = store.connect(demo_url)
    try:
        summary = score(c, load_model())
    finally:
        c.close()
    assert summary.scored.get("enterprise", 0) >= n
    assert rows(conn, stale)[0][0] == 0
    kept, spanning = rows(conn, "SELECT (SELECT coalesce(sum(count), 0) FROM site_tile_cell WHERE kind = %(k)s), "
                                "(SELECT count(*) FROM site_tile_span WHERE kind = %(k)s)", {"k": "enterprise"})[0]
    assert kept + spanning == total
    assert rows(conn, "SELECT count(*) FROM site_tile_cell WHERE kind = 'enterprise' AND unscored > 0")[0][0] == 0
    assert_kept_tiles_equal_live(api, conn, "enterprise")



def store_scores(url: str, kind: str, scores: dict[int, float], commit: bool = True):
    """Store new scores of the sites ``scores`` (id: score; the level banded from it) the way a scoring run does
    (geo/risk/store.py, an incremental run); returns the connection, committed or not."""
    import pyarrow as pa

    from geo import store
    from geo.risk.store import store_results

    ids = sorted(scores)
    values = [float(scores[i]) for i in ids]
    levels = ["red" if s >= 75 else "orange" if s >= 50 else "yellow" if s >= 25 else "blue" for s in values]
    n = len(ids)
    table = pa.table({"kind": [kind] * n, "feature_id": pa.array(ids, pa.int64()), "score": values, "level": levels,
                      "direct_red": pa.array([None] * n, pa.string()), "factors": ["[]"] * n, "details": ["{}"] * n,
                      "model_version": ["test-tile-cells"] * n})
    c = store.connect(url)
    store_results(c, kind, table, [], "test-tile-cells", replace_all=False)
    if commit:
        c.commit()
        c.close()
    return c


def top_sites(conn, kind: str) -> dict[int, tuple[int, float]]:
    """Each kept cell's highest score and a site holding it: {cell: (site, score)}."""
    return {c: (s, v) for c, s, v in rows(conn, f"""
        SELECT DISTINCT ON (c) c, f.id, r.score FROM (SELECT id, geom, riskmap_site_cell(geom) AS c FROM {kind}) f
        JOIN feature_risk r ON r.kind = %s AND r.feature_id = f.id WHERE c IS NOT NULL
        ORDER BY c, r.score DESC, f.id""", (kind,))}  # noqa: S608 - fixed names


@pytest.mark.parametrize("sites", [150, 900])
def test_a_rescore_of_many_sites_in_many_cells_keeps_the_tiles_counting_gives(api, conn, demo_url, sites):
    """A scoring run stores new scores of many enterprises in many zoom-14 cells (150: each site locked; 900: the
    class locked), each moving its site to another level: in cells where the site holding the highest score scored
    lower, the kept highest score falls to the next site's; elsewhere new scores above it raise it.  Every low-zoom
    tile is still the tile counted live."""
    top = top_sites(conn, "enterprise")
    scored = dict(rows(conn, "SELECT feature_id, score FROM feature_risk WHERE kind = 'enterprise' ORDER BY 1"))
    cells = sorted(top)[::2][: sites // 3]  # the top site of every other cell scores lower (by 40 points, or to 0)
    new = {top[c][0]: max(0.0, top[c][1] - 40) for c in cells}
    for site in list(scored)[:: max(1, len(scored) // (2 * (sites - len(new))))]:  # others, over the region
        if len(new) < sites and site not in new:
            new[site] = (scored[site] * 7 + 31) % 100
    assert len(new) == sites and len(cells) > 40
    store_scores(demo_url, "enterprise", new)
    after = top_sites(conn, "enterprise")
    fell = [c for c in cells if after[c][1] < top[c][1]]
    assert len(fell) > 10  # (cells whose highest score was counted again from their sites)
    kept = dict(rows(conn, "SELECT (cx << 14) | cy, score FROM site_tile_cell WHERE kind = 'enterprise'"))
    assert {c: kept[c] for c in after} == {c: v for c, (_, v) in after.items()}
    assert_kept_tiles_equal_live(api, conn, "enterprise")


@pytest.mark.parametrize("first", ["move", "rescore"])
def test_a_site_moved_and_rescored_in_two_transactions_at_once_is_counted_once(api, conn, demo_url, first):
    """One transaction moves an enterprise 70 km (to another zoom-9 tile) while another stores a new score for it
    (red): whichever writes first, the second's counts wait for it to commit and then read what it wrote, so the
    site is counted once, in its new cell at its new level, and every low-zoom tile is the tile counted live."""
    from geo import store

    site, lon, lat = rows(conn, "SELECT f.id, ST_X(f.geom), ST_Y(f.geom) FROM enterprise f JOIN feature_risk r "
                                "ON r.kind = 'enterprise' AND r.feature_id = f.id WHERE r.level = 'blue' "
                                "AND GeometryType(f.geom) = 'POINT' ORDER BY f.id LIMIT 1 OFFSET %s",
                          (0 if first == "move" else 1,))[0]
    old, new = tile_of(lon, lat, 9), tile_of(lon + 0.8, lat, 9)
    assert old != new
    before = (low_zoom_count(api, "enterprise", *old), low_zoom_count(api, "enterprise", *new))
    mover = store.connect(demo_url)
    rescorer = None
    try:
        def move() -> None:
            with mover.cursor() as cur:
                cur.execute("UPDATE enterprise SET geom = ST_Translate(geom, 0.8, 0) WHERE id = %s", (site,))

        if first == "move":
            move()
        else:
            rescorer = store_scores(demo_url, "enterprise", {site: 90.0}, commit=False)
        done = threading.Event()

        def second() -> None:
            if first == "move":
                store_scores(demo_url, "enterprise", {site: 90.0})
            else:
                move()
                mover.commit()
            done.set()

        worker = threading.Thread(target=second)
        worker.start()
        while not rows(conn, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'")[0][0]:
            assert worker.is_alive()  # (until the second waits for the first's lock on the site)
            time.sleep(0.02)
        (mover if first == "move" else rescorer).commit()
        worker.join(30)
        assert done.is_set()
    finally:
        mover.close()
        if rescorer is not None:
            rescorer.close()
    after = (low_zoom_count(api, "enterprise", *old), low_zoom_count(api, "enterprise", *new))
    assert (after[0]["count"], after[0]["blue"]) == (before[0]["count"] - 1, before[0]["blue"] - 1)
    assert (after[1]["count"], after[1]["red"]) == (before[1].get("count", 0) + 1, before[1].get("red", 0) + 1)
    assert_kept_tiles_equal_live(api, conn, "enterprise")
