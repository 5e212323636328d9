"""Places for area scope found beside a full scoring run (geo/risk/placing.py, migration 0039): the same places the
run alone gives, a site moved meanwhile placed where it now is, sites the second connection cannot see placed by the
run, and a placer that cannot work leaving everything to the run."""

from __future__ import annotations

import psycopg2

from geo import store
from geo.risk.config import load_model
from geo.risk.placing import Placer, take_staged
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
    with demo_db.cursor() as cur:
        cur.execute("SELECT count(*) FROM scope_site_staged")
        assert cur.fetchone()[0] == 0  # (the staging is emptied by the run that took it)
    demo_db.rollback()


def test_a_site_moved_after_its_place_was_staged_is_placed_where_it_now_is(demo_db, demo_url):
    """A place staged for a site whose row has changed since (moved into another county, or deleted) is not
    taken: the run places the moved site at its new point, and the deleted one not at all."""
    with demo_db.cursor() as cur:
        cur.execute("SELECT e.id, s.codes FROM enterprise e JOIN scope_site s ON s.kind = 'enterprise' AND s.id = e.id "
                    "WHERE cardinality(s.codes) > 0 ORDER BY e.id LIMIT 2")
        (moved, before), (deleted, _) = cur.fetchall()
        cur.execute("SELECT admin_code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM area "
                    "WHERE level = 'county' AND NOT (admin_code = ANY(%s)) ORDER BY admin_code LIMIT 1", (before,))
        county, lon, lat = cur.fetchone()
        cur.execute("DELETE FROM scope_site WHERE kind = 'enterprise' AND id IN (%s, %s)", (moved, deleted))
    demo_db.commit()
    placer = Placer(demo_db)
    try:
        staged = placer.stage_sites()
        assert Placer.settled(staged) and staged.result() == 2
    finally:
        placer.close()
    other = store.connect(demo_url)
    with other.cursor() as cur:  # (another session's edits, committed between the staging and the take)
        cur.execute("UPDATE enterprise SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 4326) WHERE id = %s",
                    (lon, lat, moved))
        cur.execute("DELETE FROM enterprise WHERE id = %s", (deleted,))
    other.commit()
    other.close()
    assert take_staged(demo_db) == 0
    with demo_db.cursor() as cur:
        cur.execute("SELECT riskmap_scope_refresh()")
    demo_db.commit()
    sites, _ = _places(demo_db)
    assert county in sites[("enterprise", moved)] and sites[("enterprise", moved)] == _codes_at(demo_db, lon, lat)
    assert sites[("enterprise", moved)] != tuple(before)
    assert ("enterprise", deleted) not in sites


def test_sites_the_second_connection_cannot_see_are_placed_by_the_run(demo_db):
    """An enterprise added in the run's own transaction (not committed: the placer cannot see it) gets its place
    from the run itself; the others come from beside it."""
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
    assert summary.placed_beside == len(sites) - 1 + len(cells)


def test_a_placer_that_cannot_work_leaves_every_place_to_the_run(demo_db, demo_url):
    """While another session holds the staging table, the placer's lock times out: the run places every site
    itself, and the places are the same."""
    _forget_places(demo_db)
    holder = store.connect(demo_url)
    with holder.cursor() as cur:
        cur.execute("LOCK TABLE scope_site_staged IN ACCESS SHARE MODE")
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
