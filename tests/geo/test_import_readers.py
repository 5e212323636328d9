"""Imports while others read (issue 13): a bulk import never locks readers out, they see the old rows until it
commits and the new ones after; a failed bulk import leaves the table, its indexes and triggers as they were;
the change triggers still record what a bulk import changed; and the importer reads at most
``MAX_CHUNKS_IN_FLIGHT`` chunks ahead of what the database has written.

The imports run in a thread and are held at a known point (the progress callback, or a lock held by the test)
while another connection reads with a short ``lock_timeout``; nothing here depends on timing.  Files are small:
``BULK_THRESHOLD`` is lowered so that they take the bulk path (a shadow table) the way a million rows would.
"""

from __future__ import annotations

import threading

import geopandas as gpd
import numpy as np
import psycopg2
import pytest
import shapely

import geo.importer as importer
from geo import store
from geo.errors import ImportRejected
from geo.importer import import_file

TANGSHAN = (118.18, 39.63)
BAODING = (115.46, 38.87)
WAIT_S = 120  # how long a test waits for the import to reach a point before it fails (not a timing assertion)


def write_enterprises(path, ids, lon, lat, industry="化工"):
    """A GeoPackage of enterprise points (its feature count is known, as for any large file)."""
    n = len(ids)
    frame = gpd.GeoDataFrame(
        {"source_id": list(ids), "name": [f"企业{i}" for i in ids],
         "industry": industry if isinstance(industry, list) else [industry] * n},
        geometry=shapely.points(np.asarray(lon, dtype=float) * np.ones(n), np.asarray(lat, dtype=float) * np.ones(n)),
        crs="EPSG:4326")
    frame.to_file(path, driver="GPKG", engine="pyogrio")
    return path


def scattered(n, centre, seed):
    rng = np.random.default_rng(seed)
    return centre[0] + rng.uniform(-0.2, 0.2, n), centre[1] + rng.uniform(-0.2, 0.2, n)


@pytest.fixture
def bulk(monkeypatch):
    """Loads of 100 rows or more take the bulk path (a shadow table swapped in at the commit)."""
    monkeypatch.setattr(importer, "BULK_THRESHOLD", 100)


@pytest.fixture
def seeded(db, tmp_path):
    """The database with 10 enterprises around Tangshan (OLD-0 ... OLD-9)."""
    lon, lat = scattered(10, TANGSHAN, 1)
    import_file(db, write_enterprises(tmp_path / "old.gpkg", [f"OLD-{i}" for i in range(10)], lon, lat),
                "enterprise")
    return db


def reader(db_url):
    """Another connection, reading the way the API does (autocommit), that gives up after 2 s waiting for a
    lock: a reader the import locks out fails instead of waiting for the import to end."""
    conn = store.connect(db_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET lock_timeout = '2s'")
        cur.execute("SET statement_timeout = '20s'")
        cur.execute("PREPARE nearest(float8, float8) AS SELECT source_id FROM enterprise "
                    "ORDER BY geom <-> ST_SetSRID(ST_MakePoint($1, $2), 4326) LIMIT 3")
    return conn


def one(conn, query, params=()):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


def table_state(conn):
    """Everything a failed import must leave as it was: rows, indexes, constraints, triggers, the relation
    itself, the identity sequence, the change records and the shadows' schema."""
    state = {
        "rows": one(conn, "SELECT id, source_id, name, industry, ST_AsText(geom), created_at, updated_at "
                          "FROM enterprise ORDER BY id"),
        "indexes": one(conn, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'enterprise' ORDER BY 1"),
        "constraints": one(conn, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                 "WHERE conrelid = 'enterprise'::regclass ORDER BY 1"),
        "triggers": one(conn, "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                              "WHERE tgrelid = 'enterprise'::regclass AND NOT tgisinternal ORDER BY 1"),
        "relation": one(conn, "SELECT oid, relfilenode FROM pg_class WHERE oid = 'enterprise'::regclass"),
        "sequence": one(conn, "SELECT last_value FROM enterprise_id_seq"),
        "changes": one(conn, "SELECT count(*) FROM risk_dirty"),
        "shadows": one(conn, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "WHERE n.nspname = 'riskmap_import'"),
    }
    conn.rollback()
    return state


class Held:
    """Runs an import in a thread and holds it in its progress callback once ``rows`` rows are read."""

    def __init__(self, conn, path, rows, wait=True, **kwargs):
        self.reached, self.go_on = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.report = None

        def progress(done, total):
            if done >= rows and not self.reached.is_set():
                self.reached.set()
                self.go_on.wait(WAIT_S)

        def run():
            try:
                self.report = import_file(conn, path, "enterprise", progress=progress, **kwargs)
            except BaseException as e:
                self.error = e

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        if wait:
            assert self.reached.wait(WAIT_S), "the import never reached the hold point"

    def finish(self):
        self.go_on.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive()
        return self.report


def test_readers_see_the_old_rows_during_a_bulk_import_and_the_new_ones_after(bulk, seeded, db_url, tmp_path):
    """Mid-way through a bulk import a reader (2 s lock_timeout) gets the old rows at once, after it the new ones."""
    # counted, and asked by the spatial index through a prepared statement, before and after the commit
    lon, lat = scattered(1_000, BAODING, 2)
    path = write_enterprises(tmp_path / "new.gpkg", [f"NEW-{i}" for i in range(1_000)], lon, lat)
    other = reader(db_url)
    # 4 chunks of 100 read: with at most 3 in flight the first has been written
    held = Held(seeded, path, rows=400, chunk_size=100)
    try:
        assert one(other, "SELECT count(*) FROM enterprise") == [(10,)]
        assert all(r[0].startswith("OLD-") for r in one(other, "EXECUTE nearest(%s, %s)", BAODING))
        assert one(other, "SELECT count(*) FROM enterprise WHERE geom && ST_MakeEnvelope(115, 38, 116, 39, 4326)"
                   ) == [(0,)]
    finally:
        report = held.finish()
    assert held.error is None and (report.inserted, report.updated) == (1_000, 0)
    assert one(other, "SELECT count(*) FROM enterprise") == [(1_010,)]
    assert all(r[0].startswith("NEW-") for r in one(other, "EXECUTE nearest(%s, %s)", BAODING))
    assert all(r[0].startswith("OLD-") for r in one(other, "EXECUTE nearest(%s, %s)", TANGSHAN))
    other.close()


def test_a_failed_bulk_import_leaves_the_table_and_its_indexes_as_they_were(bulk, seeded, db_url, tmp_path):
    """A bulk import rejected at its last row leaves rows, indexes, triggers, table and sequence as they were."""
    # most rows were loaded into the shadow before the bad one; a reader was never locked out meanwhile
    before = table_state(seeded)
    lon, lat = scattered(1_000, BAODING, 3)
    industries = ["化工"] * 999 + ["not-an-industry"]
    path = write_enterprises(tmp_path / "bad.gpkg", [f"NEW-{i}" for i in range(1_000)], lon, lat, industries)
    other = reader(db_url)
    held = Held(seeded, path, rows=800, chunk_size=100)
    try:
        assert one(other, "SELECT count(*) FROM enterprise") == [(10,)]
    finally:
        held.finish()
    assert isinstance(held.error, ImportRejected)
    assert [e.row for e in held.error.report.errors] == [1_000]
    assert table_state(seeded) == before
    other.close()


def test_an_import_waiting_to_swap_in_its_table_lets_readers_through(bulk, seeded, db_url, tmp_path):
    """An import kept from its swap by a long read tries in short attempts, so later readers get through."""
    # a plain LOCK would queue every later reader behind the import, itself waiting for the long transaction
    lon, lat = scattered(500, BAODING, 4)
    path = write_enterprises(tmp_path / "new.gpkg", [f"NEW-{i}" for i in range(500)], lon, lat)
    long_read = store.connect(db_url)
    assert one(long_read, "SELECT count(*) FROM enterprise") == [(10,)]  # its transaction stays open
    held = Held(seeded, path, rows=0, wait=False, chunk_size=100)
    held.go_on.set()
    watcher = store.connect(db_url)
    watcher.autocommit = True
    waiting = ("SELECT count(*) FROM pg_locks WHERE relation = 'enterprise'::regclass "
               "AND mode = 'AccessExclusiveLock' AND NOT granted")
    other = reader(db_url)
    try:
        for _ in range(WAIT_S * 100):  # until the import is seen waiting for the table
            if one(watcher, waiting)[0][0]:
                break
            threading.Event().wait(0.01)
        else:
            pytest.fail("the import was never seen waiting to swap in its table")
        assert one(other, "SELECT count(*) FROM enterprise") == [(10,)]
    finally:
        long_read.rollback()
        report = held.finish()
    assert held.error is None and report.inserted == 500
    assert one(other, "SELECT count(*) FROM enterprise") == [(510,)]
    for c in (long_read, watcher, other):
        c.close()


def test_a_small_import_during_a_bulk_import_waits_for_it_without_blocking_it(bulk, seeded, db_url, tmp_path,
                                                                              monkeypatch):
    """An import started during a bulk import of the same kind waits for it without keeping it from its swap."""
    # it must hold no lock on the table while it waits (a read lock would deadlock with the swap)
    from geo import shadow_table

    monkeypatch.setattr(shadow_table, "SWAP_WAIT_S", 20.0)  # a bulk import kept from its swap fails, not hangs
    lon, lat = scattered(1_000, BAODING, 7)
    big = write_enterprises(tmp_path / "big.gpkg", [f"NEW-{i}" for i in range(1_000)], lon, lat)
    small = write_enterprises(tmp_path / "small.gpkg", [f"S-{i}" for i in range(10)], *scattered(10, TANGSHAN, 8))
    monkeypatch.setattr(importer, "BULK_THRESHOLD", 100)
    second = store.connect(db_url)
    done: list = []
    held = Held(seeded, big, rows=400, chunk_size=100)
    watcher = store.connect(db_url)
    watcher.autocommit = True
    try:
        thread = threading.Thread(target=lambda: done.append(import_file(second, small, "enterprise")))
        thread.start()
        for _ in range(WAIT_S * 100):  # until the small import is seen waiting (for its turn: geo/write_queue.py)
            if one(watcher, "SELECT cardinality(pg_blocking_pids(%s)) > 0", (second.info.backend_pid,))[0][0]:
                break
            threading.Event().wait(0.01)
        else:
            pytest.fail("the small import never waited for the bulk import")
    finally:
        report = held.finish()
        thread.join(WAIT_S)
    assert held.error is None and report.inserted == 1_000
    assert done and done[0].inserted == 10
    assert one(watcher, "SELECT count(*) FROM enterprise") == [(1_020,)]
    second.close()
    watcher.close()


def test_a_bulk_import_still_records_what_it_changed_for_incremental_scoring(bulk, seeded, tmp_path):
    """A bulk import's change records cover every new feature and the old and new places of every moved one."""
    # the shadow carries the live triggers under the live name, so they fire as on the live table
    old = dict(one(seeded, "SELECT source_id, ST_AsText(geom) FROM enterprise WHERE source_id IN "
                           "('OLD-0', 'OLD-1')"))
    seeded.rollback()
    last_change = one(seeded, "SELECT coalesce(max(id), 0) FROM risk_dirty")[0][0]
    seeded.rollback()
    lon, lat = scattered(300, BAODING, 5)
    ids = ["OLD-0", "OLD-1"] + [f"NEW-{i}" for i in range(298)]
    report = import_file(seeded, write_enterprises(tmp_path / "more.gpkg", ids, lon, lat), "enterprise",
                         chunk_size=100)
    assert (report.inserted, report.updated) == (298, 2)
    uncovered = one(seeded, """
        WITH changes AS (SELECT extent FROM risk_dirty WHERE id > %(last)s AND kind = 'enterprise'),
             places AS (SELECT geom FROM enterprise WHERE source_id <> ALL(%(untouched)s)
                        UNION ALL SELECT ST_GeomFromText(unnest(%(old)s), 4326))
        SELECT count(*) FROM places p
        WHERE NOT EXISTS (SELECT 1 FROM changes c WHERE c.extent IS NULL OR ST_Covers(c.extent, p.geom))""",
                    {"last": last_change, "untouched": [f"OLD-{i}" for i in range(2, 10)], "old": list(old.values())})
    assert uncovered == [(0,)]
    assert one(seeded, "SELECT count(*) FROM enterprise") == [(308,)]


def test_a_bulk_import_of_pipelines_keeps_the_segments_foreign_key(bulk, db, tmp_path):
    """A bulk import of pipelines carries pipeline_segment's foreign key over to the new table."""
    # the code before failed here: it truncated the pipeline table, which the foreign key forbids
    lines = [shapely.LineString([(118.0 + 0.001 * i, 39.5), (118.0 + 0.001 * i, 39.51)]) for i in range(200)]
    frame = gpd.GeoDataFrame({"source_id": [f"P{i}" for i in range(200)], "name": [f"管线{i}" for i in range(200)],
                              "medium": ["natural_gas"] * 200}, geometry=lines, crs="EPSG:4326")
    frame.to_file(tmp_path / "pipes.gpkg", driver="GPKG", engine="pyogrio")
    fk = ("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'pipeline_segment'::regclass "
          "AND contype = 'f'")
    before = one(db, fk)
    db.rollback()
    report = import_file(db, tmp_path / "pipes.gpkg", "pipeline")
    assert report.inserted == 200
    assert one(db, fk) == before
    assert one(db, "SELECT confrelid = 'pipeline'::regclass FROM pg_constraint "
                   "WHERE conrelid = 'pipeline_segment'::regclass AND contype = 'f'") == [(True,)]
    db.rollback()


def test_the_reader_stays_at_most_three_chunks_ahead_of_the_database(db, db_url, tmp_path, monkeypatch):
    """With the database holding up the writes, the importer never has more than 3 chunks read and not written."""
    # counted on the real pipeline's reads and COPYs; an uncommitted row with the file's first id holds the COPY
    reads, writes, ahead = [0], [0], []
    reader_waits = threading.Event()
    real_read_chunks, real_copy = importer.read_chunks, importer._copy

    def counted_read_chunks(*args, **kwargs):
        for chunk in real_read_chunks(*args, **kwargs):
            reads[0] += 1
            ahead.append(reads[0] - writes[0])
            yield chunk

    def counted_copy(*args, **kwargs):
        real_copy(*args, **kwargs)
        writes[0] += 1

    class Watched(importer.ChunksInFlight):
        def waiting(self):
            reader_waits.set()

    monkeypatch.setattr(importer, "read_chunks", counted_read_chunks)
    monkeypatch.setattr(importer, "_copy", counted_copy)
    monkeypatch.setattr(importer, "ChunksInFlight", Watched)
    lon, lat = scattered(2_000, TANGSHAN, 6)
    path = write_enterprises(tmp_path / "many.gpkg", [f"E{i}" for i in range(2_000)], lon, lat)
    blocker = psycopg2.connect(db_url)
    with blocker.cursor() as cur:  # the import's first COPY waits for this transaction to decide on E0
        cur.execute("INSERT INTO enterprise (source_id, name, industry, geom) "
                    "VALUES ('E0', 'x', 'other', ST_SetSRID(ST_MakePoint(118, 39), 4326))")
    done: list = []
    thread = threading.Thread(target=lambda: done.append(import_file(db, path, "enterprise", chunk_size=100)))
    thread.start()
    try:
        assert reader_waits.wait(WAIT_S), "the importer never waited for the database"
        assert (reads[0], writes[0]) == (importer.MAX_CHUNKS_IN_FLIGHT, 0)
    finally:
        blocker.rollback()
        thread.join(WAIT_S)
    blocker.close()
    assert done and done[0].inserted == 2_000 and writes[0] == 20
    assert max(ahead) == importer.MAX_CHUNKS_IN_FLIGHT


def test_incremental_scoring_after_a_bulk_import_equals_a_full_recompute(db, tmp_path, monkeypatch):
    """After a bulk import moving and adding enterprises, an incremental score run equals a full recompute."""
    # the bulk path's change records are what incremental scoring reads: venues near a moved chemical site must
    # be re-scored, and so must everything around the new ones
    import datetime as dt

    import pandas as pd

    from data.loader import load_demo
    from geo.risk.config import load_model
    from geo.risk.scoring import score
    from geo.risk.store import query_frame

    as_of = dt.date(2026, 11, 29)
    load_demo(db)
    score(db, load_model(), as_of, full=True)
    monkeypatch.setattr(importer, "BULK_THRESHOLD", 100)
    monkeypatch.setattr(importer, "BULK_SHARE", 0.01)
    moved = query_frame(db, "SELECT source_id, name, industry, ST_X(geom) + 0.004 AS lon, ST_Y(geom) AS lat "
                            "FROM enterprise WHERE industry = 'hazardous_chemicals' ORDER BY id LIMIT 20")
    lon, lat = scattered(100, TANGSHAN, 9)
    frame = gpd.GeoDataFrame(
        {"source_id": list(moved["source_id"]) + [f"NEW-{i}" for i in range(100)],
         "name": list(moved["name"]) + [f"新化工{i}" for i in range(100)],
         "industry": list(moved["industry"]) + ["hazardous_chemicals"] * 100},
        geometry=shapely.points(np.concatenate([moved["lon"], lon]), np.concatenate([moved["lat"], lat])),
        crs="EPSG:4326")
    frame.to_file(tmp_path / "chem.gpkg", driver="GPKG", engine="pyogrio")
    relation = one(db, "SELECT 'enterprise'::regclass::oid")
    db.rollback()
    report = import_file(db, tmp_path / "chem.gpkg", "enterprise")
    assert (report.inserted, report.updated) == (100, 20)
    assert one(db, "SELECT 'enterprise'::regclass::oid") != relation  # the bulk path: a new table swapped in
    db.rollback()

    def features():
        f = query_frame(db, "SELECT kind, feature_id, round(score::numeric, 9) AS score, level, factors::text "
                            "FROM feature_risk WHERE kind <> 'pipeline_segment' ORDER BY 1, 2")
        return f.reset_index(drop=True)

    summary = score(db, load_model(), as_of)
    assert not summary.full and summary.scored["enterprise"] >= 120
    incremental = features()
    assert score(db, load_model(), as_of, full=True).full
    pd.testing.assert_frame_equal(incremental, features())


KEPT_COUNTS = """
    SELECT coalesce(array_agg(ROW(cx, cy, count, unscored)::text ORDER BY cx, cy), '{}')
    FROM site_tile_cell WHERE kind = 'enterprise'"""
COUNTED = """
    SELECT coalesce(array_agg(ROW(cell >> 14, cell & 16383, n, n)::text ORDER BY cell >> 14, cell & 16383), '{}')
    FROM (SELECT riskmap_site_cell(geom) AS cell, count(*) AS n FROM enterprise GROUP BY 1) c
    WHERE cell IS NOT NULL"""


def test_a_bulk_import_leaves_the_tile_counts_to_the_scoring_run(bulk, seeded, tmp_path):
    """The kept tile counts (migrations 0026/0029/0031) after a bulk import: the shadow loads without the counting
    triggers (each COPY of a chunk would follow them), the table swapped in gets them back, and the class's counts
    are marked stale instead of counted in the import's transaction; an insert after it keeps no difference; the
    scoring run's call that follows (riskmap_site_cells_rescored) counts the class whole and takes it off the list."""
    lon, lat = scattered(300, BAODING, 7)
    report = import_file(seeded, write_enterprises(tmp_path / "bulk.gpkg", [f"BULK-{i}" for i in range(300)], lon,
                                                   lat), "enterprise", chunk_size=100)
    assert report.inserted == 300
    stale = "SELECT count(*) FROM site_tile_stale WHERE kind = 'enterprise'"
    assert one(seeded, stale)[0][0] == 1 and one(seeded, KEPT_COUNTS)[0][0] == []
    triggers = one(seeded, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.enterprise'::regclass "
                           "AND tgname LIKE '%%\\_tile\\_cells\\_%%'")[0][0]
    assert triggers == 4
    with seeded.cursor() as cur:
        cur.execute("INSERT INTO enterprise (source_id, name, industry, geom) VALUES ('ONE-MORE', 'x', "
                    "'hazardous_chemicals', ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING id",
                    (BAODING[0], BAODING[1]))
        added = cur.fetchone()[0]
    assert one(seeded, KEPT_COUNTS)[0][0] == []
    with seeded.cursor() as cur:  # as geo/risk/store.py calls it after storing the new site's score
        cur.execute("SELECT riskmap_site_cells_rescored('enterprise', %s::bigint[], '{}'::bigint[], '{}'::text[], "
                    "'{}'::double precision[])", ([added],))
    kept, counted = one(seeded, KEPT_COUNTS)[0][0], one(seeded, COUNTED)[0][0]
    assert sum(int(c.strip("()").split(",")[2]) for c in kept) == 311 and kept == counted
    assert one(seeded, stale)[0][0] == 0
    seeded.rollback()
