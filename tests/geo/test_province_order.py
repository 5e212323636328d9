"""`riskmap db cluster` (geo/province_order.py, migration 0037): the feature tables rewritten province by province.

The region: three provinces side by side (11, 12, 13: 0.5° wide each, from 116 E, 39.5-40 N), each with two counties,
and an area whose code is not an admin code (ignored).  Sites are written in turn across the three provinces, so
that every page of every table holds rows of all three before the step; a few lie outside every area, one on the
border of 11 and 12, a pipeline crosses from 11 into 12 with its middle in 12.  The region is scored, then more
sites are added (with no place for area scope yet, placed by the step itself: a few of them point by point, 2,100
settlements area by area)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import psycopg2
import pytest
from typer.testing import CliRunner

from api.cli import app
from geo import store
from geo.errors import UnknownTable
from geo.province_order import TABLES, check_tables, rewrite_by_province
from geo.risk.config import load_model
from geo.risk.scoring import score

AS_OF = dt.date(2026, 11, 29)
WEST, SOUTH, NORTH = 116.0, 39.5, 40.0
PROVINCES = ("11", "12", "13")
OUTSIDE = (125.0, 45.0)  # in no area


def province_of(lon: float) -> str | None:
    """The province the region puts a point of longitude ``lon`` in (the smaller on a border)."""
    for i, p in enumerate(PROVINCES):
        if WEST + 0.5 * i <= lon <= WEST + 0.5 * (i + 1):
            return p
    return None


def _areas(cur) -> None:
    for i, p in enumerate(PROVINCES):
        x0 = WEST + 0.5 * i
        cur.execute("INSERT INTO area (source_id, name, admin_code, level, geom) VALUES (%s, %s, %s, 'province', "
                    "ST_MakeEnvelope(%s, %s, %s, %s, 4326))", (f"{p}0000", f"province {p}", f"{p}0000",
                                                               x0, SOUTH, x0 + 0.5, NORTH))
        for j in range(2):
            code = f"{p}010{j + 1}"
            cur.execute("INSERT INTO area (source_id, name, admin_code, level, parent_code, geom) VALUES "
                        "(%s, %s, %s, 'county', %s, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
                        (code, f"county {code}", code, f"{p}0000", x0 + 0.25 * j, SOUTH, x0 + 0.25 * (j + 1), NORTH))
    # not an admin code: no province from it (a point only in it is on no province)
    cur.execute("INSERT INTO area (source_id, name, admin_code, level, geom) VALUES ('zone', 'a zone', 'ZONE-A', "
                "'county', ST_MakeEnvelope(119.5, 29.5, 120.5, 30.5, 4326))")


def _sites(cur, kind: str, n: int, prefix: str, start: int = 0) -> None:
    """``n`` sites of ``kind`` written in turn across the three provinces (row i in province i % 3), spread over
    each province's box, of sizes from about 100 bytes to 600 (rows of one size would fill the pages in order
    however they were written; smaller rows may go back to an earlier page's free space)."""
    columns, values = {
        "enterprise": ("industry, status, employees, chemicals", "'machinery', 'operating', 40 + mod(g, 50), '[]'"),
        "tailings_pond": ("dam_height_m, capacity_10k_m3, safety_state, status, downstream_direction_deg",
                          "20, 50, 'normal', 'operating', 90"),
        "venue": ("venue_type, occupancy, exits, status", "'mall', 300, 2, 'operating'"),
        "settlement": ("population", "200 + mod(g, 300)"),
    }[kind]
    cur.execute(f"""
        INSERT INTO {kind} (source_id, name, {columns}, geom)
        SELECT %(prefix)s || g, %(prefix)s || g || repeat('.', mod(g * 37, 500)), {values},
               ST_SetSRID(ST_MakePoint({WEST} + 0.5 * mod(g, 3) + 0.02 + 0.46 * mod(g * 7919, 1000) / 1000.0,
                                       {SOUTH} + 0.02 + 0.46 * mod(g * 104729, 997) / 997.0), 4326)
        FROM generate_series(%(start)s, %(end)s) g""",  # noqa: S608 - fixed kinds
                {"prefix": prefix, "start": start, "end": start + n - 1})


def _one_enterprise(cur, source_id: str, lon: float, lat: float) -> None:
    cur.execute("INSERT INTO enterprise (source_id, name, industry, chemicals, geom) VALUES (%s, %s, 'machinery', "
                "'[]', ST_SetSRID(ST_MakePoint(%s, %s), 4326))", (source_id, source_id, lon, lat))


@pytest.fixture
def region(db):
    """The region described above, scored, then with sites added after the scoring run (committed)."""
    with db.cursor() as cur:
        _areas(cur)
        _sites(cur, "enterprise", 600, "E-")
        _sites(cur, "tailings_pond", 90, "T-")
        _sites(cur, "venue", 300, "V-")
        _sites(cur, "settlement", 600, "S-")
        _one_enterprise(cur, "E-outside", *OUTSIDE)
        _one_enterprise(cur, "E-border", WEST + 0.5, 39.7)  # on the border of 11 and 12
        _one_enterprise(cur, "E-zone", 119.9, 30.1)  # only in the area whose code is no admin code
        cur.execute("""
            INSERT INTO pipeline (source_id, name, medium, diameter_mm, pressure_mpa, geom) VALUES
            ('P-cross', 'crossing', 'natural_gas', 600, 6,
             ST_SetSRID(ST_MakeLine(ARRAY[ST_MakePoint(116.3, 39.6), ST_MakePoint(116.7, 39.62),
                                          ST_MakePoint(116.8, 39.64)]), 4326)),
            ('P-13', 'in 13', 'crude_oil', 400, 4,
             ST_SetSRID(ST_MakeLine(ST_MakePoint(117.1, 39.8), ST_MakePoint(117.3, 39.85)), 4326)),
            ('P-11', 'in 11', 'natural_gas', 300, 2,
             ST_SetSRID(ST_MakeLine(ST_MakePoint(116.05, 39.7), ST_MakePoint(116.2, 39.75)), 4326))""")
    db.commit()
    score(db, load_model(), AS_OF, full=True)
    with db.cursor() as cur:  # added after the run: no place for area scope yet
        _sites(cur, "enterprise", 30, "E-late-", start=1000)
        _sites(cur, "settlement", 2100, "S-late-", start=1000)
    db.commit()
    return db


def app_connection(cluster, db) -> psycopg2.extensions.connection:
    """A connection to ``db``'s database as the application's role, which owns the tables (as the CLI's), and the
    database too, as in a cluster riskmap made (geo/store.py ``hand_over``; a test's database is a superuser's
    clone): it makes the schema of the shadow tables."""
    with db.cursor() as cur:
        cur.execute(f"ALTER DATABASE {db.info.dbname} OWNER TO riskmap_app")
    db.commit()
    return store.connect(cluster[0].app_url(db.info.dbname))


def snapshot(db) -> dict:
    """Everything the step must leave as it was: each table's rows but their province, by id; the scores, places,
    segments' pipelines, history, audit trail and change records; each table's triggers (and their states),
    indexes, constraints, policies and owner."""
    out = {}
    with db.cursor() as cur:
        for t in TABLES:
            cur.execute(f"SELECT id, (to_jsonb(t) - 'province')::text FROM {t} t ORDER BY id")  # noqa: S608
            out[t] = cur.fetchall()
            cur.execute("SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
                        "ORDER BY 1", (t,))
            out[f"{t} triggers"] = cur.fetchall()
            cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", (t,))
            out[f"{t} indexes"] = cur.fetchall()
            cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                        "ORDER BY 1", (t,))
            out[f"{t} constraints"] = cur.fetchall()
            cur.execute("SELECT polname, pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polrelid = %s::regclass "
                        "ORDER BY 1", (t,))
            out[f"{t} policies"] = cur.fetchall()
            cur.execute("SELECT relowner::regrole::text, relrowsecurity, relacl::text FROM pg_class "
                        "WHERE oid = %s::regclass", (t,))
            out[f"{t} owner"] = cur.fetchall()
        for query in ("SELECT kind, feature_id, score, level, factors::text FROM feature_risk ORDER BY 1, 2",
                      "SELECT kind, id, codes FROM scope_site ORDER BY 1, 2",
                      "SELECT count(*) FROM score_history", "SELECT count(*) FROM audit_event",
                      "SELECT count(*) FROM risk_dirty", "SELECT count(*) FROM risk_removed",
                      "SELECT * FROM site_tile_stale ORDER BY 1",
                      "SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
                      "WHERE confrelid = 'pipeline'::regclass"):
            cur.execute(query)
            out[query] = cur.fetchall()
    db.rollback()
    return out


def provinces_by_id(db, table: str) -> dict[int, str | None]:
    with db.cursor() as cur:
        cur.execute(f"SELECT id, province FROM {table}")  # noqa: S608 - a fixed table
        rows = dict(cur.fetchall())
    db.rollback()
    return rows


def expected_provinces(db, table: str) -> dict[int, str | None]:
    """Each row's province by the region's geometry: that of the longitude of its point on surface."""
    with db.cursor() as cur:
        cur.execute(f"SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM {table}")  # noqa: S608
        rows = {i: province_of(x) if SOUTH <= y <= NORTH else None for i, x, y in cur.fetchall()}
    db.rollback()
    return rows


def stored_order(db, table: str, provinces: dict[int, str | None] | None = None) -> list[tuple[int, str | None]]:
    """(page, province) of every row, in the order of their places in the table; the provinces stored, or those
    given by id."""
    with db.cursor() as cur:
        cur.execute(f"SELECT (ctid::text::point)[0]::bigint, id, province FROM {table} ORDER BY ctid")  # noqa: S608
        rows = [(page, provinces[i] if provinces is not None else p) for page, i, p in cur.fetchall()]
    db.rollback()
    return rows


def mixed_pages(order: list[tuple[int, str | None]]) -> int:
    pages: dict[int, set] = {}
    for page, p in order:
        pages.setdefault(page, set()).add(p)
    return sum(1 for v in pages.values() if len(v) > 1)


def test_each_table_is_stored_province_by_province_with_its_content_unchanged(region, cluster):
    db = region
    before = snapshot(db)
    for t in ("enterprise", "venue", "settlement"):  # every page holds rows of several provinces
        order = stored_order(db, t, expected_provinces(db, t))
        assert mixed_pages(order) == len({page for page, _ in order}), t
        assert all(p is None for p in provinces_by_id(db, t).values())  # set by the step only

    conn = app_connection(cluster, db)  # the tables' owner, not a superuser
    try:
        done = {r.table: r for r in rewrite_by_province(conn)}
    finally:
        conn.close()

    assert list(done) == list(TABLES)
    assert snapshot(db) == before  # same rows, ids, columns, scores, places, triggers, indexes, policies...
    for t in TABLES:
        stored = provinces_by_id(db, t)
        assert stored == expected_provinces(db, t), t
        order = stored_order(db, t)
        provinces = [p for _, p in order]
        assert provinces == sorted(provinces, key=lambda p: (p is None, p or "")), t  # by province, none last
        # each province's rows on pages of their own: a padding row ended each province's run, so the next began
        # a new page (the pipeline crossing from 11 into 12 is one row, stored on 12's page)
        assert mixed_pages(order) == 0, t
        assert done[t].mixed_pages == 0, t
        assert done[t].rows == len(stored) and done[t].provinces == len({p for p in provinces if p})
        assert done[t].no_province == provinces.count(None)
        assert done[t].pages >= max(page for page, _ in order) + 1
    e = provinces_by_id(db, "enterprise")
    with db.cursor() as cur:
        cur.execute("SELECT source_id, id FROM enterprise WHERE source_id IN ('E-outside', 'E-border', 'E-zone')")
        named = dict(cur.fetchall())
        cur.execute("SELECT id FROM pipeline WHERE source_id = 'P-cross'")
        crossing = cur.fetchone()[0]
    db.rollback()
    assert (e[named["E-outside"]], e[named["E-border"]], e[named["E-zone"]]) == (None, "11", None)
    assert provinces_by_id(db, "pipeline")[crossing] == "12"  # where its middle lies
    assert stored_order(db, "enterprise")[-1][1] is None  # the rows on no province last
    assert done["enterprise"].placed_here == 30 and done["settlement"].placed_here == 2100
    assert done["pipeline"].placed_here == 3  # (pipelines are always placed at their point here)
    assert done["enterprise"].no_province == 2


@pytest.mark.parametrize("given", [(0,), (0, -1)])
def test_a_row_given_an_id_below_the_padding_rows_usual_ids_is_kept(region, cluster, given):
    """The padding rows take ids below every row's: a row a database administrator gave id 0 (the lowest id), or 0
    and -1, stays."""
    db = region
    with db.cursor() as cur:
        for i, lon in zip(given, (116.1, 116.9), strict=False):
            cur.execute("INSERT INTO enterprise (id, source_id, name, industry, chemicals, geom) OVERRIDING SYSTEM "
                        "VALUE VALUES (%s, %s, 'given', 'machinery', '[]', ST_SetSRID(ST_MakePoint(%s, 39.7), 4326))",
                        (i, f"E-id{i}", lon))
    db.commit()
    before = snapshot(db)["enterprise"]
    conn = app_connection(cluster, db)
    try:
        done = rewrite_by_province(conn, ["enterprise"])[0]
    finally:
        conn.close()
    assert snapshot(db)["enterprise"] == before
    assert [provinces_by_id(db, "enterprise")[i] for i in given] == ["11", "12"][:len(given)]
    assert done.mixed_pages == 0 and mixed_pages(stored_order(db, "enterprise")) == 0


def test_the_pages_holding_two_provinces_are_counted_when_a_padding_row_falls_short(region, cluster, monkeypatch):
    """With padding rows far shorter than a page (as a province whose smallest row is too long to pad would have),
    a province's run may begin on the page where the previous one's ended: the step counts those pages, and says
    so, rather than claim none."""
    import geo.province_order as province_order

    monkeypatch.setattr(province_order, "PADDING_ROW_BYTES", 300)
    db = region
    conn = app_connection(cluster, db)
    try:
        done = rewrite_by_province(conn, ["settlement"])[0]
    finally:
        conn.close()
    counted = mixed_pages(stored_order(db, "settlement"))
    assert counted > 0 and done.mixed_pages == counted
    assert f"{counted} page{'s' if counted != 1 else ''} holding two provinces" in done.describe()


def test_rows_added_or_moved_after_the_step_get_their_province_at_the_next(region, cluster):
    db = region
    conn = app_connection(cluster, db)
    try:
        rewrite_by_province(conn, ["enterprise"])
        with db.cursor() as cur:
            cur.execute("SELECT max(id) FROM enterprise")
            last_id = cur.fetchone()[0]
            cur.execute("SELECT id FROM enterprise WHERE province = '11' ORDER BY id LIMIT 1")
            moved = cur.fetchone()[0]
            cur.execute("UPDATE enterprise SET geom = ST_SetSRID(ST_MakePoint(117.3, 39.9), 4326) WHERE id = %s",
                        (moved,))
            _sites(cur, "enterprise", 60, "E-new-", start=5000)  # in turn across the provinces, at the table's end
        db.commit()
        stored = provinces_by_id(db, "enterprise")
        assert sorted(stored)[-60:] == list(range(last_id + 1, last_id + 61))  # ids go on from the old table's
        assert sum(1 for p in stored.values() if p is None) == 2 + 60  # new rows: none yet
        assert stored[moved] == "11"  # kept from the last step until the next
        # written at the table's end, or in the room left on its pages (the free space map), not in province order
        order = [p for _, p in stored_order(db, "enterprise")]
        assert order != sorted(order, key=lambda p: (p is None, p or ""))

        again = rewrite_by_province(conn, ["enterprise"])[0]
    finally:
        conn.close()
    # the sites added since the scoring run, the new rows and the moved one: no place for area scope until scored
    assert again.placed_here == 30 + 60 + 1
    stored = provinces_by_id(db, "enterprise")
    assert stored == expected_provinces(db, "enterprise")
    assert stored[moved] == "13"
    provinces = [p for _, p in stored_order(db, "enterprise")]
    assert provinces == sorted(provinces, key=lambda p: (p is None, p or ""))


def test_readers_read_on_while_a_table_is_rewritten_and_writers_wait(region, cluster):
    """The step locks writers out for the rewrite (an insert with a lock timeout gives up), and readers only for the
    swap: kept from it by a long read, it tries in short attempts, and later readers get through meanwhile."""
    db = region
    url = cluster[0].admin_url(db.info.dbname)
    long_read, other, writer, watcher = (store.connect(url) for _ in range(4))
    watcher.autocommit = True
    with long_read.cursor() as cur:
        cur.execute("SELECT count(*) FROM enterprise")  # its transaction stays open
        rows = cur.fetchone()[0]
    conn = app_connection(cluster, db)
    done: list = []
    step = threading.Thread(target=lambda: done.append(rewrite_by_province(conn, ["enterprise"])))
    step.start()
    try:
        for _ in range(3000):  # until the step is seen waiting to swap in its table
            with watcher.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_locks WHERE relation = 'enterprise'::regclass "
                            "AND mode = 'AccessExclusiveLock' AND NOT granted")
                if cur.fetchone()[0]:
                    break
            time.sleep(0.01)
        else:
            pytest.fail("the step was never seen waiting to swap in its table")
        with other.cursor() as cur:
            cur.execute("SET lock_timeout = '2s'")
            cur.execute("SELECT count(*) FROM enterprise")
            assert cur.fetchone()[0] == rows
        other.rollback()
        with writer.cursor() as cur, pytest.raises(psycopg2.errors.LockNotAvailable):
            cur.execute("SET lock_timeout = '200ms'")
            _one_enterprise(cur, "E-meanwhile", 116.1, 39.7)
        writer.rollback()
    finally:
        long_read.rollback()
        step.join(60)
        for c in (long_read, other, writer, watcher, conn):
            c.close()
    assert done and done[0][0].rows == rows
    assert provinces_by_id(db, "enterprise") == expected_provinces(db, "enterprise")


def test_rewriting_the_pipelines_keeps_their_segments_foreign_key(region, cluster):
    db = region
    conn = app_connection(cluster, db)
    try:
        rewrite_by_province(conn, ["pipeline", "pipeline_segment"])
    finally:
        conn.close()
    with db.cursor() as cur:
        cur.execute("SELECT id FROM pipeline WHERE source_id = 'P-cross'")
        crossing = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM pipeline_segment WHERE pipeline_id = %s", (crossing,))
        assert cur.fetchone()[0] > 0
        cur.execute("DELETE FROM pipeline WHERE id = %s", (crossing,))
        cur.execute("SELECT count(*) FROM pipeline_segment WHERE pipeline_id = %s", (crossing,))
        assert cur.fetchone()[0] == 0  # ON DELETE CASCADE, as before
        with pytest.raises(psycopg2.errors.ForeignKeyViolation):
            cur.execute("INSERT INTO pipeline_segment (pipeline_id, seq, length_m, geom, unit_geom) "
                        "SELECT -1, 0, 1, geom, unit_geom FROM pipeline_segment LIMIT 1")
    db.rollback()


def test_an_unknown_table_is_refused_before_anything_is_done(db):
    with pytest.raises(UnknownTable, match=r"unknown table 'area'; expected one of: enterprise, tailings_pond, "
                                           r"venue, settlement, pipeline, pipeline_segment"):
        rewrite_by_province(db, ["enterprise", "area"])
    with pytest.raises(UnknownTable, match="'Enterprise'"):
        check_tables(["Enterprise"])
    assert check_tables(None) == check_tables([]) == list(TABLES)
    assert check_tables(["venue", "enterprise", "venue"]) == ["venue", "enterprise"]
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'riskmap_import'")
        before = cur.fetchone()[0]
    db.rollback()
    with db.cursor() as cur, pytest.raises(psycopg2.errors.InvalidParameterValue,
                                           match="'area' is not a table riskmap stores by province"):
        cur.execute("SELECT riskmap_province_rows('area')")
    db.rollback()
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'riskmap_import'")
        assert cur.fetchone()[0] == before
    db.rollback()


def test_a_table_a_rewrite_cannot_swap_is_refused_naming_why(db):
    with db.cursor() as cur:
        cur.execute("CREATE VIEW my_venues AS SELECT id, name FROM venue")
        _sites(cur, "venue", 9, "V-")
    db.commit()
    from geo.errors import Conflict

    with pytest.raises(Conflict, match=r"venue cannot be rewritten in province order \(a new table swapped in "
                                       r"for it\): .*view my_venues.*; nothing was changed"):
        rewrite_by_province(db, ["venue"])
    assert all(p is None for p in provinces_by_id(db, "venue").values())


def test_the_command_line(db_url, db):
    runner = CliRunner()
    bad = runner.invoke(app, ["db", "cluster", "--table", "venues"], env={"RISKMAP_DATABASE_URL": db_url})
    assert bad.exit_code == 2
    assert "unknown table 'venues'; expected one of: enterprise, tailings_pond, venue" in bad.output
    with db.cursor() as cur:
        _areas(cur)
        _sites(cur, "venue", 30, "V-")
    db.commit()
    good = runner.invoke(app, ["db", "cluster", "--table", "venue", "--table", "tailings_pond"],
                         env={"RISKMAP_DATABASE_URL": db_url})
    assert good.exit_code == 0, good.output
    lines = good.output.strip().splitlines()
    # a page of rows per province, and the page left empty after each of the first two (VACUUM cut off the last's)
    assert lines[0].startswith("venue: 30 rows in 3 provinces, 5 pages, ") and lines[0].endswith(" s")
    assert lines[1].startswith("tailings_pond: 0 rows in 0 provinces, ")
    assert set(provinces_by_id(db, "venue").values()) == set(PROVINCES)
