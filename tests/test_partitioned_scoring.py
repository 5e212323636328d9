"""Partitioned scoring on a local Dask cluster (issue 18 item 3): the same answers as a whole run, on a real
PostGIS with the scored demo region, and a failed partition retried and never half-written."""

from __future__ import annotations

import datetime as dt
import json
import re

import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pyproj import Geod

from geo import store
from geo.errors import PartitionFailed
from geo.risk.area_groups import group_resolution
from geo.risk.config import load_model
from geo.risk.distributed import PARTITION_APPLICATION, dask_client, score_partitioned
from geo.risk.partitions import plan_partitions
from geo.risk.scoring import score
from geo.risk.store import query_frame
from tests.conftest import DEMO_AS_OF

# H3 cells of about 250 km² (edges of about 9 km): with the halo of 1.2 km, about a third of the demo's features
# (1,810 of 5,670) lie within the halo of an edge of their cell, and every pipeline crosses an edge (asserted below)
RESOLUTION = 5


@pytest.fixture(scope="module")
def client():
    """A local Dask cluster of two worker processes for the module."""
    with dask_client(workers=2) as c:
        yield c


def _features(db) -> pd.DataFrame:
    """Every feature_risk row (pipelines and segments too) keyed by stable ids (segments by pipeline and
    sequence: their row ids change when the pipelines are cut again)."""
    f = query_frame(db, """
        SELECT r.kind, coalesce(g.pipeline_id || ':' || g.seq, r.feature_id::text) AS key, r.score, r.level,
               r.direct_red, r.factors::text AS factors, r.details::text AS details, r.lon, r.lat, r.model_version
        FROM feature_risk r LEFT JOIN pipeline_segment g ON r.kind = 'pipeline_segment' AND g.id = r.feature_id
        ORDER BY 1, 2""")
    db.rollback()
    f["score"] = f["score"].round(9)
    return f.reset_index(drop=True)


def _areas(db) -> pd.DataFrame:
    a = query_frame(db, "SELECT area_type, resolution, area_id, score, level_max, level_banded, level, "
                        "counts::text AS counts, features, population_exposed, top::text AS top, "
                        "ST_AsText(geom) AS geom FROM area_risk ORDER BY 1, 2, 3")
    seg = query_frame(db, "SELECT id, pipeline_id || ':' || seq AS key FROM pipeline_segment")
    db.rollback()
    key = dict(zip(seg["id"], seg["key"], strict=True))
    # (the top lists name segments by id, and the ids change when the pipelines are cut again: by pipeline:seq)
    a["top"] = [None if t is None or t != t else json.dumps(
        {kind: [[s, key.get(f, f"cut away: {f}") if kind == "pipeline_segment" else f] for s, f in top]
         for kind, top in
         json.loads(t).items()}) for t in a["top"]]
    a["score"] = a["score"].round(6)
    a["population_exposed"] = a["population_exposed"].round(6)
    return a.reset_index(drop=True)


def _exposure(db) -> pd.DataFrame:
    e = query_frame(db, "SELECT cell, value, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM exposure_cell ORDER BY cell")
    db.rollback()
    return e.round({"value": 6, "lon": 9, "lat": 9}).reset_index(drop=True)


def _exposed(db) -> pd.DataFrame:
    e = query_frame(db, "SELECT settlement_id, people, ST_AsText(geom) AS geom FROM settlement_exposed "
                        "ORDER BY settlement_id")
    db.rollback()
    return e


def _beyond_their_parent(db, resolution: int) -> int:
    """How many (feature, H3 area) pairs have the feature's point outside the area's ancestor at ``resolution``
    (the area's group): the points a group reads past its parent's edge."""
    pts = query_frame(db, "SELECT lon, lat FROM feature_risk WHERE kind <> 'pipeline'")
    db.rollback()
    n = 0
    for lon, lat in zip(pts["lon"], pts["lat"], strict=True):
        own = h3.latlng_to_cell(lat, lon, resolution)
        n += sum(h3.cell_to_parent(h3.latlng_to_cell(lat, lon, r), resolution) != own
                 for r in load_model()["area"]["h3_resolutions"])
    return n


def _is_superuser(conn) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return cur.fetchone()[0]


def _wipe_results(db) -> None:
    """No stored result left: whatever the partitioned run leaves, it wrote."""
    with db.cursor() as cur:
        cur.execute("DELETE FROM feature_risk; DELETE FROM area_risk; DELETE FROM exposure_cell; "
                    "DELETE FROM settlement_exposed")
    db.commit()


def _near_an_edge(db, halo: float) -> tuple[int, int]:
    """How many features have their point within ``halo`` metres of an edge of their partition (a point that far
    in one of 16 directions lies in another cell), and how many pipelines have segments in several partitions."""
    parts = plan_partitions(db, RESOLUTION)
    db.rollback()
    cell_of = {(kind, i): p.cell for p in parts for kind, ids in p.ids.items() for i in ids}
    pts = query_frame(db, "SELECT kind, feature_id, lon, lat FROM feature_risk WHERE kind <> 'pipeline'")
    seg = query_frame(db, "SELECT id, pipeline_id FROM pipeline_segment")
    db.rollback()
    geod = Geod(ellps="WGS84")
    near = np.zeros(len(pts), dtype=bool)
    for az in np.arange(0, 360, 22.5):
        lon, lat, _ = geod.fwd(pts["lon"].to_numpy(), pts["lat"].to_numpy(), np.full(len(pts), az),
                               np.full(len(pts), halo))
        near |= np.array([h3.latlng_to_cell(y, x, RESOLUTION) != cell_of[(k, int(i))]
                          for x, y, k, i in zip(lon, lat, pts["kind"], pts["feature_id"], strict=True)])
    seg["cell"] = [cell_of[("pipeline_segment", int(i))] for i in seg["id"]]
    crossing = int((seg.groupby("pipeline_id")["cell"].nunique() > 1).sum())
    return int(near.sum()), crossing


def test_partitioned_scoring_on_two_workers_equals_a_whole_run(cluster, demo_db, demo_url, client):
    """Partitioned scoring on a local cluster of two workers, connected as the application's role (as riskmap
    connects), gives every score, level, factor and area row (and the exposure surface) of the single-process
    run, including the features within the halo of a partition edge and the pipelines crossing edges; no rule
    read outside its partition's halo."""
    db = demo_db
    whole = _features(db), _areas(db), _exposure(db), _exposed(db)
    assert len(whole[0]) > 4000 and len(whole[1]) > 100 and len(whole[3]) > 100
    _wipe_results(db)
    app_url = cluster[0].app_url(demo_url.rsplit("/", 1)[1])
    app = store.connect(app_url)
    with app.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] != "postgres" and not _is_superuser(app)
    app.rollback()

    try:
        summary = score_partitioned(app, app_url, load_model(), client, DEMO_AS_OF, resolution=RESOLUTION)
    finally:
        app.close()

    assert summary.full and summary.partitions > 20 and summary.halo_misses == 0
    assert summary.partition_resolution == RESOLUTION
    assert summary.halo_m >= 1000.0  # (the venue radius plus the α ring of the enterprises it counts)
    near, crossing = _near_an_edge(db, summary.halo_m)
    assert near > 1500 and crossing >= 20
    pd.testing.assert_frame_equal(_features(db), whole[0])
    pd.testing.assert_frame_equal(_areas(db), whole[1])
    pd.testing.assert_frame_equal(_exposure(db), whole[2])
    pd.testing.assert_frame_equal(_exposed(db), whole[3])
    # the areas were aggregated in groups on the workers: admin areas by province, H3 cells under their ancestors
    # at resolution 4, with hundreds of points counted in a cell whose ancestor is not the cell they lie in
    assert summary.area_groups > 5 and summary.phases["areas"] > 0
    assert _beyond_their_parent(db, group_resolution(load_model(), RESOLUTION)) > 100
    # the run took the change records and recorded itself as a whole run does: nothing is left to re-score
    after = score(db, load_model(), DEMO_AS_OF)
    assert not after.full and sum(after.scored.values()) == 0


def _fail_inserts(db, table: str, condition: str, times: int | None) -> None:
    """A trigger that makes the inserts into ``table`` of the rows meeting ``condition`` (SQL on NEW) fail
    ``times`` times (None: always), as a worker losing its connection mid-write would."""
    with db.cursor() as cur:
        cur.execute("CREATE SEQUENCE riskmap_test_failures")
        cur.execute(f"""
            CREATE FUNCTION riskmap_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {condition}
                   AND nextval('riskmap_test_failures') <= {int(times) if times is not None else 1_000_000} THEN
                    RAISE EXCEPTION 'injected failure writing a row of %', TG_TABLE_NAME;
                END IF;
                RETURN NEW;
            END $$""")
        cur.execute(f"CREATE TRIGGER riskmap_test_fail BEFORE INSERT ON {table} FOR EACH ROW "
                    "EXECUTE FUNCTION riskmap_test_fail()")
    db.commit()


def _fail_inserts_of(db, feature_id: int, times: int | None) -> None:
    """The inserts of the enterprise ``feature_id``'s row fail (_fail_inserts)."""
    _fail_inserts(db, "feature_risk", f"NEW.kind = 'enterprise' AND NEW.feature_id = {int(feature_id)}", times)


def _failures(db) -> int:
    with db.cursor() as cur:
        cur.execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM riskmap_test_failures")
        n = cur.fetchone()[0]
    db.rollback()
    return n


def _a_large_partition(db) -> tuple:
    parts = plan_partitions(db, RESOLUTION)
    db.rollback()
    part = next(p for p in parts if len(p.ids.get("enterprise", ())) > 20)
    return part, part.ids["enterprise"][len(part.ids["enterprise"]) // 2]


def test_a_partition_that_fails_once_is_retried_and_the_run_equals_a_whole_run(demo_db, demo_url, client):
    """A partition whose write fails once is run again; the run completes with the answers of a whole run."""
    db = demo_db
    whole = _features(db)
    _wipe_results(db)
    _, victim = _a_large_partition(db)
    _fail_inserts_of(db, victim, times=1)

    summary = score_partitioned(db, demo_url, load_model(), client, DEMO_AS_OF, resolution=RESOLUTION)

    assert _failures(db) >= 2  # the failed insert and the one of the attempt that succeeded
    assert summary.scored["enterprise"] == 3000
    pd.testing.assert_frame_equal(_features(db), whole)


def test_each_worker_writes_its_partitions_on_one_kept_connection_which_the_run_closes(demo_db, demo_url, client):
    """A worker keeps its connection from one partition to the next (a connection per partition cost a server
    process and its warmed caches each time): the partitions' writes come from at most one server process per
    worker, named as a partition's, and none of those connections is left open after the run."""
    db = demo_db
    whole = _features(db)
    with db.cursor() as cur:
        cur.execute("CREATE TABLE riskmap_test_writers (pid int, app text)")
        cur.execute("""
            CREATE FUNCTION riskmap_test_writer() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO riskmap_test_writers VALUES (pg_backend_pid(), current_setting('application_name'));
                RETURN NULL;
            END $$""")
        cur.execute("CREATE TRIGGER riskmap_test_writer AFTER INSERT ON feature_risk FOR EACH STATEMENT "
                    "EXECUTE FUNCTION riskmap_test_writer()")
    db.commit()
    try:
        summary = score_partitioned(db, demo_url, load_model(), client, DEMO_AS_OF, resolution=RESOLUTION)
        with db.cursor() as cur:
            cur.execute("SELECT count(*) FILTER (WHERE app = %(app)s), "
                        "count(DISTINCT pid) FILTER (WHERE app = %(app)s), "
                        "count(*) FILTER (WHERE app <> %(app)s AND pid <> %(run)s) FROM riskmap_test_writers",
                        {"app": PARTITION_APPLICATION, "run": db.get_backend_pid()})
            writes, writers, others = cur.fetchone()
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                        (PARTITION_APPLICATION,))
            left_open = cur.fetchone()[0]
        db.rollback()
    finally:
        with db.cursor() as cur:
            cur.execute("DROP TRIGGER riskmap_test_writer ON feature_risk; DROP FUNCTION riskmap_test_writer(); "
                        "DROP TABLE riskmap_test_writers")
        db.commit()
    assert summary.partitions > 10 and writes >= summary.partitions  # (a COPY per class a partition holds)
    assert 1 <= writers <= 2, writers  # two workers: at most two connections wrote every partition
    assert others == 0  # (the run's own connection writes the pipelines' roll-up after the partitions)
    assert left_open == 0
    pd.testing.assert_frame_equal(_features(db), whole)


def test_a_worker_keeps_one_connection_per_run_and_starts_a_new_run_on_a_new_one(demo_url):
    """Within one run a worker's partitions share a connection; a partition of another run (after a run whose
    driver died before it closed them) gets a new one and the old one is closed; closing one URL's connections
    leaves those to another URL open."""
    from geo.risk.distributed import _worker_connection, close_worker_connections

    first = _worker_connection(demo_url, "run-1")
    assert _worker_connection(demo_url, "run-1") is first
    second = _worker_connection(demo_url, "run-2")
    assert second is not first and first.closed and not second.closed
    other_url = demo_url + ("&" if "?" in demo_url else "?") + "connect_timeout=11"  # (another key, the same server)
    other = _worker_connection(other_url, "run-2")
    assert close_worker_connections(demo_url) == 1
    assert second.closed and not other.closed
    assert close_worker_connections(other_url) == 1 and other.closed


def test_a_partition_that_always_fails_leaves_its_rows_as_they_were(demo_db, demo_url, client):
    """A partition that fails on every attempt stops the run with an error naming it; its features' rows are
    exactly those before the run (not half-written), other partitions did write, no staging table is left, and
    the next run is a full one."""
    db = demo_db
    before = _features(db).set_index(["kind", "key"])
    part, victim = _a_large_partition(db)
    _fail_inserts_of(db, victim, times=None)
    later = DEMO_AS_OF + dt.timedelta(days=900)  # (inspections age: most scores change)

    with pytest.raises(PartitionFailed, match=part.cell):
        score_partitioned(db, demo_url, load_model(), client, later, resolution=RESOLUTION, retries=1)

    assert _failures(db) == 2  # two attempts
    with db.cursor() as cur:  # the failed attempts' connections dropped, the others closed by the run
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (PARTITION_APPLICATION,))
        assert cur.fetchone()[0] == 0
    db.rollback()
    after = _features(db).set_index(["kind", "key"])
    mine = [("enterprise", str(i)) for i in part.ids["enterprise"]] + [("venue", str(i))
                                                                      for i in part.ids.get("venue", ())]
    pd.testing.assert_frame_equal(after.loc[mine], before.loc[mine])
    sites = [k for k in before.index if k[0] in ("enterprise", "venue", "tailings_pond")]
    changed = (after.loc[sites, "score"] != before.loc[sites, "score"]).sum()
    assert changed > 100  # the partitions that succeeded wrote their rows
    with db.cursor() as cur:
        cur.execute("DROP TRIGGER riskmap_test_fail ON feature_risk")
    db.commit()
    assert score(db, load_model(), later).full


def test_riskmap_score_with_workers_scores_in_partitions_with_the_answers_of_a_whole_run(demo_db, demo_url):
    """`riskmap score --workers 2` starts a local cluster, scores every feature in partitions and says so; the
    rows are those of the single-process run."""
    from typer.testing import CliRunner

    from api.cli import app

    whole = _features(demo_db)
    _wipe_results(demo_db)
    result = CliRunner().invoke(app, ["score", "--workers", "2", "--partition-resolution", "4", "--as-of",
                                      DEMO_AS_OF.isoformat()], env={"RISKMAP_DATABASE_URL": demo_url})
    assert result.exit_code == 0, result.output
    assert "full recompute in " in result.output and " partitions (H3 resolution 4), halo " in result.output
    assert re.search(r"halo [\d,]+ m, areas in \d+ groups, ", result.output), result.output
    pd.testing.assert_frame_equal(_features(demo_db), whole)


def test_riskmap_score_refuses_workers_with_a_scheduler_and_names_an_unreachable_scheduler(db_url):
    """--workers with --scheduler is bad usage (exit 2); a scheduler nobody listens at exits 4 naming it."""
    import socket

    from typer.testing import CliRunner

    from api.cli import app

    env = {"RISKMAP_DATABASE_URL": db_url}
    both = CliRunner().invoke(app, ["score", "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], env=env)
    assert both.exit_code == 2 and "not both" in both.output
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = CliRunner().invoke(app, ["score", "--scheduler", f"tcp://127.0.0.1:{port}"], env=env)
    assert gone.exit_code == 4 and f"tcp://127.0.0.1:{port}" in gone.output


def test_a_second_partitioned_run_at_the_same_time_is_refused(demo_db, demo_url, client):
    """While a partitioned run holds the database, another is refused with a conflict and writes nothing."""
    from geo.errors import Conflict
    from geo.risk.distributed import RUN_LOCK

    before = _features(demo_db)
    other = store.connect(demo_url)
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (RUN_LOCK,))
        with pytest.raises(Conflict, match="another scoring run is under way"):
            score_partitioned(demo_db, demo_url, load_model(), client, DEMO_AS_OF + dt.timedelta(days=900),
                              resolution=RESOLUTION)
    finally:
        other.close()
    pd.testing.assert_frame_equal(_features(demo_db), before)


def test_a_single_process_run_waits_for_a_partitioned_run_to_end(demo_db, demo_url):
    """A single-process run (``riskmap score``, the API's re-scoring after a write) started while a partitioned run
    holds the database waits for it before it takes the changes or writes a score, then runs: the partitioned run
    writes from its workers' sessions partition by partition, and a run between two partitions would see half of
    them.  And while a single-process run is under way, a partitioned run is refused."""
    import threading

    from geo.errors import Conflict
    from geo.risk.distributed import RUN_LOCK

    with demo_db.cursor() as cur:  # a change waiting to be scored
        cur.execute("UPDATE enterprise SET violations_12m = coalesce(violations_12m, 0) + 1 "
                    "WHERE id = (SELECT min(id) FROM enterprise)")
    demo_db.commit()
    partitioned = store.connect(demo_url)  # stands for a partitioned run: its session holds the lock alone
    partitioned.autocommit = True
    with partitioned.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (RUN_LOCK,))
    outcome: dict = {}

    def single_process_run():
        conn = store.connect(demo_url)
        try:
            outcome["summary"] = score(conn, load_model(), DEMO_AS_OF)
        except Exception as e:  # noqa: BLE001 - reported below
            outcome["error"] = e
        finally:
            conn.close()

    runner = threading.Thread(target=single_process_run)
    runner.start()
    try:
        waiting = False
        for _ in range(600):  # until its backend waits for the advisory lock (at most a minute)
            with partitioned.cursor() as cur:
                cur.execute("SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                            "AND ((classid::bigint << 32) | objid::bigint) = %s)", (RUN_LOCK,))
                waiting = cur.fetchone()[0]
            if waiting or not runner.is_alive():
                break
            runner.join(0.1)
        assert waiting and runner.is_alive(), outcome
        with partitioned.cursor() as cur:  # it has taken nothing yet: the change still waits
            cur.execute("SELECT count(*) FROM risk_dirty")
            assert cur.fetchone()[0] >= 1
    finally:
        with partitioned.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (RUN_LOCK,))
        partitioned.close()
    runner.join(120)
    assert not runner.is_alive() and "error" not in outcome, outcome
    assert outcome["summary"].changes >= 1

    # the other way round: a partitioned run asked for while a single-process run holds its share is refused
    holder = store.connect(demo_url)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock_shared(%s)", (RUN_LOCK,))  # as score() does, in its transaction
        with pytest.raises(Conflict, match="another scoring run is under way"):
            score_partitioned(demo_db, demo_url, load_model(), None, DEMO_AS_OF, resolution=RESOLUTION)
    finally:
        holder.rollback()
        holder.close()


def test_riskmap_score_with_a_scheduler_uses_the_running_cluster(demo_db, demo_url, client):
    """`riskmap score --scheduler ADDR` scores in partitions on the Dask cluster already running at ADDR (here
    the module's local cluster, reached by its address as a remote one would be), with the whole run's rows."""
    from typer.testing import CliRunner

    from api.cli import app

    whole = _features(demo_db)
    _wipe_results(demo_db)
    result = CliRunner().invoke(app, ["score", "--scheduler", client.scheduler.address, "--partition-resolution",
                                      str(RESOLUTION), "--as-of", DEMO_AS_OF.isoformat()],
                                env={"RISKMAP_DATABASE_URL": demo_url})
    assert result.exit_code == 0, result.output
    assert f" partitions (H3 resolution {RESOLUTION}), halo 1,200 m" in result.output
    pd.testing.assert_frame_equal(_features(demo_db), whole)


def test_the_automatic_resolution_is_the_finest_with_partitions_of_a_few_thousand_features():
    """With no resolution given, partitions are the finest H3 cells holding on average at least the target
    number of features: the next finer resolution would hold fewer; few points give the coarsest."""
    from geo.risk.aggregate import h3_assign
    from geo.risk.partitions import choose_resolution

    rng = np.random.default_rng(18)
    lon, lat = rng.uniform(117.5, 119.5, 60_000), rng.uniform(39.0, 40.5, 60_000)  # about 170 × 170 km
    r = choose_resolution(lon, lat, target=2_000)
    cells = h3_assign(lon, lat, [r, r + 1])
    assert len(lon) / len(set(cells[r])) >= 2_000 > len(lon) / len(set(cells[r + 1]))
    assert choose_resolution(lon[:100], lat[:100], target=2_000) == 1


def _stale_area_rows(db) -> list[tuple[str, int, str]]:
    """Area rows no area holds any more, written as if left from an earlier run: an H3 cell of the region with no
    feature in it (its group deletes it), a cell far from every feature (no group owns it), a cell at a resolution
    the model does not have, and an admin area no longer in the area table."""
    cells = set(query_frame(db, "SELECT area_id FROM area_risk WHERE area_type = 'h3' AND resolution = 9")["area_id"])
    db.rollback()
    empty = next(c for held in sorted(cells) for c in sorted(h3.grid_ring(held, 2)) if c not in cells)
    far = h3.latlng_to_cell(43.8, 87.6, 7)  # (Ürümqi: no feature within 2,000 km)
    coarse = h3.latlng_to_cell(*h3.cell_to_latlng(empty), 4)
    stale = [("h3", 9, empty), ("h3", 7, far), ("h3", 4, coarse), ("admin", 3, "999999")]
    with db.cursor() as cur:
        for t, r, a in stale:
            ring = ", ".join(f"{lon} {lat}" for lat, lon in [*h3.cell_to_boundary(empty if t == "admin" else a),
                                                            h3.cell_to_boundary(empty if t == "admin" else a)[0]])
            cur.execute("INSERT INTO area_risk (area_type, resolution, area_id, score, level_max, level_banded, "
                        "level, counts, features, population_exposed, model_version, geom) VALUES "
                        "(%s, %s, %s, 50, 'yellow', 'yellow', 'yellow', '{\"venue\": {\"yellow\": 1}}', 1, 0, 'old', "
                        "ST_GeomFromText(%s, 4326))", (t, r, a, f"POLYGON(({ring}))"))
        cur.execute("INSERT INTO settlement_exposed (settlement_id, people, geom) "
                    "SELECT s.id, 1, ST_PointOnSurface(s.geom) FROM settlement s "
                    "WHERE NOT EXISTS (SELECT 1 FROM settlement_exposed x WHERE x.settlement_id = s.id) LIMIT 1")
    db.commit()
    return stale


def test_a_partitioned_run_leaves_no_area_row_that_no_feature_holds(demo_db, demo_url, client):
    """Rows left from before the run where no feature is any more (a cell of the region now empty, a cell far
    from every feature, a resolution the model lacks, an admin area gone) and a settlement no longer exposed are
    gone after a partitioned run, whose areas and exposed settlements are then exactly a whole run's."""
    db = demo_db
    whole = _areas(db), _exposed(db)
    stale = _stale_area_rows(db)
    assert len(_areas(db)) == len(whole[0]) + len(stale) and len(_exposed(db)) == len(whole[1]) + 1

    score_partitioned(db, demo_url, load_model(), client, DEMO_AS_OF, resolution=RESOLUTION)

    pd.testing.assert_frame_equal(_areas(db), whole[0])
    pd.testing.assert_frame_equal(_exposed(db), whole[1])


def _fail_area_inserts_of(db, area_id: str, times: int | None) -> None:
    """The inserts of the area_risk row of ``area_id`` (digits) fail (_fail_inserts)."""
    assert area_id.isdigit()
    _fail_inserts(db, "area_risk", f"NEW.area_id = '{area_id}'", times)


def _admin_rows(db) -> pd.DataFrame:
    a = query_frame(db, "SELECT area_id, resolution, score, level, counts::text AS counts, features, "
                        "population_exposed, top::text AS top, model_version, ST_AsText(geom) AS geom "
                        "FROM area_risk WHERE area_type = 'admin' ORDER BY 1")
    db.rollback()
    return a


def _a_county(db) -> str:
    a = query_frame(db, "SELECT area_id FROM area_risk WHERE area_type = 'admin' AND resolution = 3 "
                        "ORDER BY features DESC LIMIT 1", column_types={"area_id": pa.string()})
    db.rollback()
    return str(a["area_id"].iloc[0])


def test_an_area_group_that_fails_once_is_retried_and_the_areas_equal_a_whole_runs(demo_db, demo_url, client):
    """A group of areas whose write fails once is run again; every area row is then a whole run's."""
    db = demo_db
    whole = _areas(db)
    county = _a_county(db)
    _wipe_results(db)
    _fail_area_inserts_of(db, county, times=1)

    score_partitioned(db, demo_url, load_model(), client, DEMO_AS_OF, resolution=RESOLUTION)

    assert _failures(db) >= 2
    pd.testing.assert_frame_equal(_areas(db), whole)


def test_an_area_group_that_always_fails_leaves_its_areas_as_they_were(demo_db, demo_url, client):
    """A group of areas that fails on every attempt stops the run with an error naming it; the rows of its areas
    are exactly those before the run (its deletion rolled back with its write), the other groups wrote theirs,
    and the next run is a full one."""
    db = demo_db
    county = _a_county(db)
    before = _areas(db).set_index(["area_type", "resolution", "area_id"])
    admin_before = _admin_rows(db)
    _fail_area_inserts_of(db, county, times=None)
    later = DEMO_AS_OF + dt.timedelta(days=900)  # (inspections age: most scores change)

    with pytest.raises(PartitionFailed, match=f"area group admin areas {county[:2]}"):
        score_partitioned(db, demo_url, load_model(), client, later, resolution=RESOLUTION, retries=1)

    assert _failures(db) == 2  # two attempts
    after = _areas(db).set_index(["area_type", "resolution", "area_id"])
    pd.testing.assert_frame_equal(_admin_rows(db), admin_before)  # (as stored: their top lists' segment ids too)
    cells = [k for k in before.index if k[0] == "h3"]
    assert (after.loc[cells, "score"] != before.loc[cells, "score"]).sum() > 100  # the H3 groups wrote theirs
    with db.cursor() as cur:
        cur.execute("DROP TRIGGER riskmap_test_fail ON area_risk")
    db.commit()
    assert score(db, load_model(), later).full
