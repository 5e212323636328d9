"""Places for area scope found beside a full scoring run (geo/risk/placing.py, migration 0039): the same places the
run alone gives, no place kept for a site moved or deleted while it was placed, sites the second connection cannot
see placed by the run, a placer that cannot work leaving everything to the run, and the areas held by the run."""

from __future__ import annotations

import time

import psycopg2

from geo import store
from geo.risk.config import load_model
from geo.risk.placing import Placer
from geo.risk.scoring import score
from tests.conftest import DEMO_AS_OF


def _forget_places(conn) -> None:
    """Every place forgotten, as after a change of areas (migration 0019's reset)."""
    with conn.cursor() as cur:
        cur.execute("DELETE FROM scope_site; DELETE FROM scope_cell; UPDATE scope_state SET cells_placed = false")
    conn.commit()


def _places(conn) -> tuple[dict, dict]:
    with conn.cursor() as cur:
        cur.execute("SELECT kind, id, codes FROM scope_site")
        sites = {(k, i): tuple(c) for k, i, c in cur.fetchall()}
        cur.execute("SELECT cell, codes FROM scope_cell")
        cells = {k: tuple(c) for k, c in cur.fetchall()}
    conn.rollback()
    return sites, cells


def _placed_alone(conn) -> tuple[dict, dict]:
    """The places riskmap_scope_refresh() alone finds for what is stored now (the run's own way), rolled back."""
    with conn.cursor() as cur:
        cur.execute("DELETE FROM scope_site; DELETE FROM scope_cell; UPDATE scope_state SET cells_placed = false")
        cur.execute("SELECT riskmap_scope_refresh()")
    out = _places(conn)  # (rolls back)
    return out


def _codes_at(conn, lon: float, lat: float) -> tuple:
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(array_agg(admin_code ORDER BY admin_code), '{}') FROM area "
                    "WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))", (lon, lat))
        codes = tuple(cur.fetchone()[0])
    conn.rollback()
    return codes


def test_a_full_run_finds_every_place_beside_it_and_the_same_places_as_alone(demo_db):
    """On the scored demo with every place forgotten, a full run's sites and cells are all placed on the second
    connection (none left to the run's own statements), and the places equal riskmap_scope_refresh()'s."""
    _forget_places(demo_db)
    summary = score(demo_db, load_model(), DEMO_AS_OF, full=True)
    sites, cells = _places(demo_db)
    assert len(sites) > 8000 and len(cells) > 1000
    assert summary.placed_beside == len(sites) + len(cells)
    assert sum(1 for c in sites.values() if c) > 8000  # (the demo's sites lie in its counties)
    alone_sites, alone_cells = _placed_alone(demo_db)
    assert sites == alone_sites
    assert cells == alone_cells


def test_a_site_moved_or_deleted_while_it_is_placed_keeps_no_place(demo_db, demo_url):
    """An edit that commits while the placer is placing its class (after the placer read the site, before the
    placer commits: its own trigger cannot see the place yet) leaves no place behind: the moved site and the
    deleted one have none after the placer's commit, and the run's refresh then places the moved one where it is
    now.  The placer waits for the edit at the end of its class (the class's table, a moment's SHARE lock)."""
    with demo_db.cursor() as cur:
        cur.execute("SELECT e.id, s.codes FROM enterprise e JOIN scope_site s ON s.kind = 'enterprise' AND s.id = e.id "
                    "WHERE cardinality(s.codes) > 0 ORDER BY e.id LIMIT 2")
        (moved, before), (deleted, _) = cur.fetchall()
        cur.execute("SELECT admin_code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area "
                    "WHERE level = 'county' AND NOT (admin_code = ANY(%s)) ORDER BY admin_code LIMIT 1", (before,))
        county, lon, lat = cur.fetchone()
        cur.execute("DELETE FROM scope_site WHERE kind = 'enterprise'")
    demo_db.commit()
    other = store.connect(demo_url)
    with other.cursor() as cur:  # (another session's edits, made before the placer starts, committed while it works)
        cur.execute("UPDATE enterprise SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 4326) WHERE id = %s",
                    (lon, lat, moved))
        cur.execute("DELETE FROM enterprise WHERE id = %s", (deleted,))
    placer = Placer(demo_db)
    try:
        # the placer reads the enterprises as they were (the edits are not committed), places them, then waits for
        # the edits' transaction at its SHARE lock; the edits commit while it waits
        job = placer.place_sites("enterprise", "ST_PointOnSurface(f.geom)")
        with demo_db.cursor() as cur:
            for _ in range(200):  # (until the placer waits for the edits' lock)
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                            "'riskmap scoring: places' AND wait_event_type = 'Lock'")
                if cur.fetchone()[0]:
                    break
                demo_db.rollback()
                time.sleep(0.01)
            else:
                raise AssertionError("the placer never waited for the edits")
        demo_db.rollback()
        other.commit()
        kept = job.result()
    finally:
        placer.close()
        other.close()
    sites, _ = _places(demo_db)
    assert ("enterprise", moved) not in sites and ("enterprise", deleted) not in sites
    assert kept == sum(1 for k, _ in sites if k == "enterprise") > 2000
    with demo_db.cursor() as cur:
        cur.execute("SELECT riskmap_scope_refresh()")
    demo_db.commit()
    sites, _ = _places(demo_db)
    assert county in sites[("enterprise", moved)] and sites[("enterprise", moved)] == _codes_at(demo_db, lon, lat)
    assert sites[("enterprise", moved)] != tuple(before)
    assert ("enterprise", deleted) not in sites


def test_sites_the_second_connection_cannot_see_are_placed_by_the_run(demo_db):
    """An enterprise added in the run's own transaction (not committed: the placer cannot see it, and its class's
    lock times out behind the run's insert) gets its place from the run itself, the same as alone."""
    _forget_places(demo_db)
    with demo_db.cursor() as cur:
        cur.execute("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area "
                    "WHERE level = 'county' ORDER BY admin_code LIMIT 1")
        lon, lat = cur.fetchone()
        cur.execute("INSERT INTO enterprise (source_id, name, industry, geom) "
                    "SELECT 'placing-test', 'not yet committed', industry, ST_SetSRID(ST_MakePoint(%s, %s), 4326) "
                    "FROM enterprise ORDER BY id LIMIT 1 RETURNING id", (lon, lat))
        added = cur.fetchone()[0]
    summary = score(demo_db, load_model(), DEMO_AS_OF, full=True)  # (commits the enterprise with the run)
    sites, cells = _places(demo_db)
    assert sites[("enterprise", added)] == _codes_at(demo_db, lon, lat) != ()
    enterprises = sum(1 for k, _ in sites if k == "enterprise")
    assert summary.placed_beside == len(sites) - enterprises + len(cells)
    assert (sites, cells) == _placed_alone(demo_db)


def test_a_placer_that_cannot_work_leaves_every_place_to_the_run(demo_db, demo_url):
    """While another session is writing every class of sites (it holds their tables in ROW EXCLUSIVE mode), the
    placer cannot take its moment's SHARE lock of any class: each class's places are rolled back after its lock
    timeout, the run places every site itself, and the places are the same."""
    _forget_places(demo_db)
    holder = store.connect(demo_url)
    with holder.cursor() as cur:
        cur.execute("LOCK TABLE enterprise, tailings_pond, venue, settlement, accident, pipeline IN ROW EXCLUSIVE MODE")
    try:
        summary = score(demo_db, load_model(), DEMO_AS_OF, full=True)
    finally:
        holder.rollback()
        holder.close()
    sites, cells = _places(demo_db)
    assert summary.placed_beside == len(cells)  # (the cells still beside it; no site)
    assert (sites, cells) == _placed_alone(demo_db)


def test_a_full_run_holds_the_areas_until_it_commits(demo_db, demo_url):
    """During a full run an area edit cannot take the area table (the run holds it in SHARE mode), so no place
    found beside the run can outlive a change of areas before the run commits; after the run it can."""
    other = store.connect(demo_url)
    refused = []

    def try_edit(step: str, done: int, total: int) -> None:
        if step == "enterprise":
            with other.cursor() as cur:
                cur.execute("SET lock_timeout = '200ms'")
                try:
                    cur.execute("UPDATE area SET name = name WHERE admin_code = (SELECT min(admin_code) FROM area)")
                except psycopg2.errors.LockNotAvailable:
                    refused.append(step)
            other.rollback()

    try:
        score(demo_db, load_model(), DEMO_AS_OF, full=True, progress=try_edit)
        assert refused == ["enterprise"]
        with other.cursor() as cur:
            cur.execute("SET lock_timeout = '200ms'")
            cur.execute("UPDATE area SET name = name WHERE admin_code = (SELECT min(admin_code) FROM area)")
            assert cur.rowcount == 1
        other.rollback()
    finally:
        other.close()
