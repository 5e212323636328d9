"""Scoring the feature store: spatial context in PostGIS, the pure rules in Python, results back via COPY.

``score(conn, model, as_of)`` recomputes what changed since the last run: the statement triggers of migrations
0002, 0005 and 0011 record the extent of every change in ``risk_dirty`` (and the ids of deleted features in
``risk_removed``); the features whose context reaches into those extents (per class: ``reaches``) are
re-scored, and the areas and exposure cells around them updated by difference (geo/risk/area_delta.py).  The
sites whose records changed (migration 0014: inspections, hidden dangers, enforcement actions) are re-scored
too, and, when the scoring date moved since the last run, those with a record date in between (a deadline
passed): the records are one more input of the rules (geo/risk/records.py, geo/risk/record_store.py).  A
first run, a new model version, a TRUNCATE, a changed admin boundary or ``full=True`` recompute everything, and
so does a change that reaches more than ``FULL_SHARE`` of the features: re-scoring them one by one would then
cost more than the full run, which reads every layer once.  Either way it is one transaction, and it takes
exactly the change records committed before it started.  Every run appends the features whose score or level
it changed to the score history (geo/risk/history.py), as of its date.

Time-continuous inputs (the age of the last inspection) change every day for every site: a run re-scores only
what changed, so they are brought up to date by full runs (``riskmap score --full``), as before.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from geo.risk import history, row_sets
from geo.risk.context import Neighbours
from geo.risk.framework import LEVELS, RuleResult, final_level
from geo.risk.memory import give_back
from geo.risk.placing import RunPlaces
from geo.risk.record_store import RULE_SITES, changed_sites, patrol_days, rule_frame_with_records, window_days
from geo.risk.store import execute, query_frame, result_chunks, results_table, sql_text, store_results
from geo.risk.worker import DatabaseWorker

Progress = Callable[[str, int, int], None]  # step name, steps done, steps in total

# Above this share of the features within reach of the changes, a full run is cheaper than an incremental one
# (bench/rescore at a million features: 1,000 scattered edits reached 3 % of the features, and re-scoring them
# by id, with their surroundings read box by box, took 0.6 to 1.4 times a full run, which reads each layer once
# in bulk; ten edits reach a few hundred features and take a twentieth of it).
FULL_SHARE = 0.01
FULL_MIN = 5_000  # (on small data sets a few thousand features re-score in moments either way)
# More change records than this go straight to a full run: finding what they reach costs an index probe each
# (bench/rescore: 11,531 records from 10,000 scattered edits took longer to look up than a full run takes), and
# 1,000 records (about 500 scattered edits) already reach more features than FULL_SHARE.
FULL_RECORDS = 1_000
# A scoring run's advisory lock: a partitioned run holds it alone (session-level, geo/risk/distributed.py), every
# single-process run shares it for its transaction, so neither starts while the other writes (the key spells
# "riskmap-partitioned")
SCORING_RUN_LOCK = 0x7269736B6D6170

STEPS = ("segments", "enterprise", "tailings_pond", "pipeline_segment", "pipeline", "venue", "areas", "exposure")


@dataclass
class ScoreSummary:
    full: bool
    changes: int = 0  # change records taken
    scored: dict[str, int] = field(default_factory=dict)
    # per class, how many features are at each level: all of them after a full run, those re-scored after an
    # incremental one (counting a million stored rows would cost more than re-scoring a few)
    levels: dict[str, dict[str, int]] = field(default_factory=dict)
    areas: int = 0
    seconds: float = 0.0
    history: int = 0  # rows appended to the score history (features whose score or level changed)
    history_seconds: float = 0.0  # what keeping the history cost (its comparison before and append after)
    # a partitioned run (geo/risk/distributed.py): how many partitions, the halo read around each (metres), and
    # how many boxes a rule asked for outside its partition's halo (read apart; none when the halo is right)
    partitions: int = 0
    partition_resolution: int | None = None
    halo_m: float = 0.0
    halo_misses: int = 0
    area_groups: int = 0  # the groups of areas aggregated on the workers (geo/risk/area_groups.py)
    phases: dict[str, float] = field(default_factory=dict)  # seconds of its parts: before, partitions, areas, after
    # places for area scope found beside a full run, on a connection of its own (geo/risk/placing.py), and used
    placed_beside: int = 0


def _rules():
    from geo.risk.enterprise import score_enterprise
    from geo.risk.pipeline import score_pipeline
    from geo.risk.tailings_pond import score_tailings_pond
    from geo.risk.venue import score_venue

    return {"enterprise": score_enterprise, "tailings_pond": score_tailings_pond,
            "pipeline_segment": score_pipeline, "venue": score_venue}


def _params(model: dict, kind: str) -> dict:
    return model["pipeline" if kind == "pipeline_segment" else kind]


def context_params(model: dict, ids: list[int] | None, **extra) -> dict:
    ctx = dict(model["context"])
    ctx.update(ids=ids, **extra)
    return ctx


def reaches(model: dict, kind: str, max_impact_m: float) -> dict[str, float]:
    """How far a change of each class reaches the scores of ``kind`` (metres; a class missing does not reach
    them at all): the context each rule reads (geo/risk/context.py), and the feature itself (0)."""
    c = model["context"]
    if kind == "enterprise":  # people within the α ring
        return {"enterprise": 0.0, "settlement": c["alpha_radius_m"]}
    if kind == "tailings_pond":  # people and facilities downstream
        return {"tailings_pond": 0.0, "settlement": c["downstream_radius_m"], "venue": c["downstream_radius_m"]}
    if kind == "pipeline_segment":  # households along the segment and its unit, sites in the impact distance
        return {"pipeline": 0.0, "settlement": c["unit_length_m"] / 2 + c["corridor_m"],
                "venue": max(max_impact_m, c["corridor_m"]), "enterprise": c["corridor_m"]}
    if kind == "venue":  # major hazards (whose grade reads the people around them) and pipelines nearby
        return {"venue": 0.0, "enterprise": c["venue_hazard_radius_m"],
                "settlement": c["venue_hazard_radius_m"] + c["alpha_radius_m"], "pipeline": max_impact_m}
    raise ValueError(f"no rule scores {kind!r}")


def score(conn, model: dict, as_of: dt.date | None = None, *, full: bool = False,
          progress: Progress | None = None, full_share: float = FULL_SHARE,
          full_min: int = FULL_MIN, full_records: int = FULL_RECORDS) -> ScoreSummary:
    """Re-score what changed (or everything) and commit; returns what was done.  The run is a full one when the
    features within reach of the changes are more than ``full_share`` of all features and more than
    ``full_min``, or when the change records are more than ``full_records``."""
    t0 = time.perf_counter()
    as_of = as_of or dt.date.today()
    version = model["version"]
    rules = _rules()
    autocommit = conn.autocommit
    if autocommit:
        conn.autocommit = False
    places = RunPlaces()
    try:
        with conn.cursor() as cur:
            # a partitioned run (geo/risk/distributed.py) writes the scores partition by partition from its workers'
            # sessions, and holds this lock from its first read to its commit: wait for it to end (taken before the
            # table, the order the partitioned run takes them in)
            cur.execute("SELECT pg_advisory_xact_lock_shared(%s)", (SCORING_RUN_LOCK,))
            cur.execute("LOCK TABLE feature_risk IN EXCLUSIVE MODE")  # one scorer at a time
            cur.execute(sql_text("take_changes"))
            # (an admin boundary that changed moves features between areas: a full run re-assigns them all)
            cur.execute("SELECT count(*), coalesce(bool_or(extent IS NULL OR kind = 'area'), false), "
                        "coalesce(bool_or(kind = 'pipeline'), false) FROM riskmap_run_dirty")
            changes, unknown_extent, pipeline_changed = cur.fetchone()
            cur.execute("SELECT count(*), count(*) FILTER (WHERE kind = 'pipeline') FROM riskmap_run_removed")
            removed, pipelines_removed = cur.fetchone()
            # (segments are deleted only with their pipeline, by a re-cut of a changed pipeline or by a full run)
            segments_may_go = bool(pipeline_changed or pipelines_removed)
            cur.execute("SELECT as_of FROM score_run ORDER BY id DESC LIMIT 1")
            previous = cur.fetchone()
        # the sites whose records changed, or whose record inputs changed with the date
        record_sites = changed_sites(conn, previous[0] if previous else None, as_of, window_days(model),
                                     patrol_days(model))
        records = sum(len(v) for v in record_sites.values())
        with conn.cursor() as cur:
            # everything is due on a first run or with another model; the last run's version says which model
            # the stored scores are of without reading them (any change of model makes that run a full one)
            # (no run recorded: the scores predate migration 0011 and lack what an incremental run reads)
            cur.execute("SELECT NOT EXISTS (SELECT 1 FROM feature_risk) OR coalesce("
                        "(SELECT model_version <> %(v)s FROM score_run ORDER BY id DESC LIMIT 1), true)",
                        {"v": version})
            must_full = cur.fetchone()[0]
        full = bool(full or must_full or unknown_extent or changes > full_records)
        summary = ScoreSummary(full=full, changes=int(changes + removed + records))
        if not full and changes == 0 and removed == 0 and records == 0:
            conn.rollback()
            summary.seconds = time.perf_counter() - t0
            return summary
        step = _stepper(progress)
        recorder = history.RunRecorder()
        worker = DatabaseWorker(conn)
        neighbours = Neighbours(conn, model, worker)
        try:
            _score_all(worker, neighbours, model, rules, as_of, summary, step, full_share, full_min, record_sites,
                       recorder, places, segments_may_go)
        finally:
            worker.close()
            neighbours.close()

        if summary.full:
            summary.levels = _level_counts(conn)
        summary.seconds = time.perf_counter() - t0
        with conn.cursor() as cur:
            cur.execute("INSERT INTO score_run (full_run, changes, scored, areas, seconds, model_version, as_of) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id, finished_at",
                        (summary.full, summary.changes, json.dumps(summary.scored), summary.areas, summary.seconds,
                         version, as_of))
            run, finished_at = cur.fetchone()
        summary.history = recorder.append(conn, run, finished_at, as_of)
        summary.history_seconds = recorder.seconds
        summary.placed_beside = places.finish()  # (before the refresh, which places whatever is left)
        places.close()
        with conn.cursor() as cur:
            _place_sites(cur, summary.full or changes > 0)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        places.close()
        if autocommit:
            conn.autocommit = True
    summary.seconds = time.perf_counter() - t0
    return summary


def _place_sites(cur, features_changed: bool) -> None:
    """What is new or moved gets its place, for users limited to areas (migration 0019): every class looked at
    when the run took a change of a feature (or is a full one), else accidents and cells only, the only things
    that may then lack a place (geo/risk/sql/scope_place_unmoved.sql says why)."""
    cur.execute("SELECT riskmap_scope_refresh()" if features_changed else sql_text("scope_place_unmoved"))


def _score_all(worker: DatabaseWorker, nb, model: dict, rules: dict, as_of: dt.date, summary: ScoreSummary,
               step, full_share: float, full_min: int, record_sites: dict[str, list[int]],
               recorder: history.RunRecorder, places: RunPlaces, segments_may_go: bool = True) -> None:
    """The scoring run proper.  Every database call goes through ``worker`` (in order, on its thread), so the
    results of one class are written while the next is computed; a full run loads every layer up front and
    aggregates the areas from the results in memory while they are being written.  ``segments_may_go``: the run
    took a change of a pipeline, so segments may have been deleted (else their results are not searched for
    ones whose segment has gone: none has, each run drops them).  A full run finds the places of its sites and
    cells for area scope beside it (``places``, geo/risk/placing.py)."""
    from geo.risk.aggregate import (
        SCORED_KINDS,
        area_partitions,
        area_rows,
        exposed_settlements,
        exposure_rows,
        grid_anchor,
        load_areas,
        people_partitions,
        write_areas,
        write_exposure,
    )

    version = model["version"]
    ids: dict[str, list[int] | None] = {k: None for k in SCORED_KINDS}
    if not summary.full:
        # which features the changes reach (with the impact distances as stored; checked again after the
        # re-cut below), and whether re-scoring them one by one is cheaper than a full run
        max_impact = worker.call(_max_impact)
        for kind in ("enterprise", "tailings_pond", "venue"):
            ids[kind] = worker.call(_ids_in_dirty, kind, reaches(model, kind, max_impact))
            if record_sites.get(kind):  # (ids of sites that no longer exist find no feature to score)
                ids[kind] = sorted(set(ids[kind]) | set(record_sites[kind]))
        reached = sum(len(v) for v in ids.values() if v is not None)
        if reached > full_min and reached > full_share * worker.call(_feature_total):
            summary.full = True
            ids = {k: None for k in SCORED_KINDS}
    full = summary.full
    if full:  # (every site is due a place on a first run: found on a connection of its own meanwhile)
        places.start(worker)

    # 1. pipeline segments (re-cut only the pipelines that changed) and their impact distances
    changed_pipelines = None if full else worker.call(_ids_in_dirty, "pipeline", {"pipeline": 0.0})
    if full:  # the layers the enterprises need first, so that their context starts while the rest loads
        nb.prefetch(["enterprise", "settlement"])
    if full or changed_pipelines:
        worker.submit(execute, sql_text("pipeline_segments"), context_params(model, changed_pipelines))
    if full:
        nb.prefetch(["tailings_pond", "venue"])
    impact = worker.submit(_set_impact_distances, model, changed_pipelines if not full else None)
    if full:
        nb.prefetch(["pipeline_segment"])
        areas = worker.submit(load_areas)
    step("segments")
    if not full:
        if impact.result() > max_impact:  # a changed pipeline reaches further than any before: look again
            max_impact = impact.result()
            ids["venue"] = worker.call(_ids_in_dirty, "venue", reaches(model, "venue", max_impact))
        # the segments near a change, and every segment of a re-cut pipeline (new ids all along it)
        near = worker.call(_ids_in_dirty, "pipeline_segment", reaches(model, "pipeline_segment", max_impact))
        recut = worker.call(_segments_of, changed_pipelines) if changed_pipelines else []
        # (and every segment of a pipeline whose records changed: they apply to the whole line)
        of_records = worker.call(_segments_of, record_sites["pipeline"]) if record_sites.get("pipeline") else []
        ids["pipeline_segment"] = sorted(set(near) | set(recut) | set(of_records))

    if not full:  # the rows the changes will replace or drop, for updating the areas by difference
        old_rows = worker.submit(_stored_rows, ids, True, segments_may_go)
    # (queued before any write of feature_risk: the scores the history compares with)
    worker.submit(recorder.read_before, ids)

    # 2-6. the rules.  Two threads (numpy, shapely, pyproj and pyarrow release the GIL for their heavy work):
    # this one scores enterprises and then venues (which need the enterprises' major-hazard results), the other
    # tailings ponds and pipeline segments.  Each class's write is queued on the worker as soon as it is ready.
    def score_kind(kind: str, **extra):
        return _score_kind(worker, nb, model, kind, rules[kind], ids[kind], as_of, version, summary, recorder,
                           **extra)

    # (of each class only its ids, scores and levels are kept, for the areas and the surface: its rule's input
    # and result are let go as soon as its write, which holds them until done, is queued)
    scored = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskmap-score") as helper:
        ponds = helper.submit(lambda: _kept(score_kind("tailings_pond")))
        segments = helper.submit(lambda: _kept(score_kind("pipeline_segment")))
        enterprises = score_kind("enterprise")
        if enterprises is not None:
            frame, result, _ = enterprises
            nb.major_hazard = pd.Series(result.extra["major_hazard"].astype("boolean").fillna(False).to_numpy(bool),
                                        index=frame["feature_id"].to_numpy())
            del frame, result
        scored["enterprise"] = _kept(enterprises)
        del enterprises
        step("enterprise")
        scored["venue"] = _kept(score_kind("venue", max_impact_m=impact.result()))
        scored["tailings_pond"] = ponds.result()
        step("tailings_pond")
        scored["pipeline_segment"] = segments.result()
        step("pipeline_segment")
    # after the segments' write, which is queued before it
    worker.submit(_roll_up_pipelines, version, ids["pipeline_segment"])
    step("pipeline")
    step("venue")
    if not full:  # (a full run has replaced every class's rows already)
        worker.submit(_drop_stale, segments_may_go)

    # 7-8. areas and the exposure surface
    if full:  # from the results in memory, while they are being written; the exposed people on the other thread
        from geo.risk.area_delta import large_area_tops, write_exposed_settlements

        # What is held from here on is let go as soon as it has been used (a national run holds millions of
        # rows of each): the rules' inputs and results once the scored points and the surface's points are taken
        # from them (each class's write keeps its own until done), the layers once the exposed settlements are
        # known, the areas' inputs once their rows are made, and those rows once written.
        points, hot = _scored_points(nb, scored)
        surface_points = _exposure_points_from_memory(nb, model, points, scored.get("pipeline_segment"))
        scored.clear()
        nb.release(keep=["settlement"])  # (the exposed settlements are found next)
        give_back()
        radius = float(model["area"]["exposure_radius_m"])
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskmap-score") as helper:
            exposed = helper.submit(exposed_settlements, nb, hot, radius)
            people = helper.submit(lambda: people_partitions(exposed.result(), areas.result(), model))
            resolutions = [int(r) for r in model["area"]["h3_resolutions"]]
            parts = area_partitions(points["lon"].to_numpy(dtype="float64"),
                                    points["lat"].to_numpy(dtype="float64"), areas.result(), resolutions)
            exposed.result()
            nb.release()
            give_back()
            tops = large_area_tops(points, areas.result(), model, parts=parts)
            result = area_rows(points, people.result(), areas.result(), model, parts=parts)
        del points, hot, parts, people
        result["top"] = [tops.get((t, int(r), a)) for t, r, a in
                         zip(result["area_type"], result["resolution"], result["area_id"], strict=True)]
        del tops
        places.cells(result["area_id"].to_numpy()[(result["area_type"] == "h3").to_numpy()], h3=True)
        worker.submit(write_areas, result, version, areas.result())
        worker.submit(write_exposed_settlements, exposed.result())
        worker.submit(give_back)  # (once the area rows are written)
        summary.areas = len(result)
        del result, exposed
        step("areas")
        # the exposure surface, computed while the areas are written
        anchor = grid_anchor(surface_points) if len(surface_points) else None
        cells = exposure_rows(surface_points, model, anchor=anchor)
        if cells is not None:
            places.cells(cells["cell"], h3=False, points=cells["geom"])
        worker.submit(write_exposure, cells, anchor)
        del cells
        del surface_points
        worker.submit(give_back)
    else:  # by difference: the changed features' rows before (read before the writes) and after
        from geo.risk.area_delta import refresh_exposed, update_areas

        changed_old, changed_new = _changed(old_rows.result(), worker.call(_stored_rows, ids, False))
        changed_at = worker.call(_changed_geometries, changed_new)  # (read once: the areas' and exposure's boxes)
        boxes = _grown_boxes(changed_at, float(model["area"]["exposure_radius_m"]))
        people_old, people_new = refresh_exposed(worker, nb, model, boxes)
        summary.areas = update_areas(worker, nb, model, changed_old, changed_new, people_old, people_new)
        step("areas")
        _update_exposure(worker, model, changed_at)
    worker.drain()
    step("exposure")


def _update_exposure(worker: DatabaseWorker, model: dict, changed_at: np.ndarray) -> None:
    """The exposure cells within reach of a change, recomputed from the points around them (the grid keeps its
    anchor, so the cells are those a full run would give); everything when no anchor is stored."""
    from geo.risk.aggregate import (
        exposure_points,
        exposure_points_in,
        exposure_rows,
        grid_anchor,
        stored_anchor,
        write_exposure,
    )
    from geo.risk.context import grown_box
    from geo.risk.proximity import Layer

    anchor = worker.call(stored_anchor)
    if anchor is None:
        points = worker.call(exposure_points, model)
        anchor = grid_anchor(points) if len(points) else None
        worker.submit(write_exposure, exposure_rows(points, model, anchor=anchor), anchor)
        return
    reach = max(model["exposure"]["bandwidth_m"].values()) + float(model["exposure"]["cell_m"])
    inner = _grown_boxes(changed_at, reach)
    if not inner:
        return
    outer = grown_box(Layer(shapely.box(*np.array(inner).T)), reach)
    points = worker.call(exposure_points_in, model, outer)
    worker.submit(write_exposure, exposure_rows(points, model, anchor=anchor, inside=inner), anchor, inner)


def _stored_rows(conn, ids: dict, with_removed: bool, segments_may_go: bool = True) -> pd.DataFrame:
    """The stored rows (kind, feature_id, score, level, lon, lat) of the features ``ids``; with
    ``with_removed``, also those of the features deleted and (``segments_may_go``) of the segments re-cut away
    (before their rows are dropped)."""
    kinds = [k for k, v in ids.items() for _ in (v or [])]
    flat = [i for v in ids.values() for i in (v or [])]
    q = ("SELECT r.kind, r.feature_id, r.score, r.level, r.lon, r.lat FROM feature_risk r "
         "JOIN unnest(%(kinds)s::text[], %(ids)s::bigint[]) w(kind, id) ON r.kind = w.kind AND r.feature_id = w.id")
    if with_removed:
        q += (" UNION SELECT r.kind, r.feature_id, r.score, r.level, r.lon, r.lat FROM feature_risk r "
              "JOIN riskmap_run_removed x ON r.kind = x.kind AND r.feature_id = x.feature_id "
              "WHERE r.kind <> 'pipeline'")
    if with_removed and segments_may_go:
        q += (" UNION SELECT r.kind, r.feature_id, r.score, r.level, r.lon, r.lat FROM feature_risk r "
              "WHERE r.kind = 'pipeline_segment' AND NOT EXISTS "
              "(SELECT 1 FROM pipeline_segment g WHERE g.id = r.feature_id)")
    return query_frame(conn, q, {"kinds": kinds, "ids": flat},
                       column_types={"kind": pa.string(), "level": pa.string(), "lon": pa.float64(),
                                     "lat": pa.float64(), "score": pa.float64(), "feature_id": pa.int64()})


def _changed(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows that differ between before and after (score, level or point), removed and added ones included."""
    key = ["kind", "feature_id", "score", "level", "lon", "lat"]
    if old.empty or new.empty:  # (an empty side may come with untyped columns, which a merge cannot key on)
        return old[key].reset_index(drop=True), new[key].reset_index(drop=True)
    few = row_sets.differences(old[key], new[key])  # (a few rows: by plain Python sets, the same answer)
    if few is not None:
        return few
    return _changed_merged(old, new)


def _changed_merged(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = ["kind", "feature_id", "score", "level", "lon", "lat"]
    merged = old[key].merge(new[key], how="outer", on=key, indicator=True)
    return (merged[merged["_merge"] == "left_only"][key].reset_index(drop=True),
            merged[merged["_merge"] == "right_only"][key].reset_index(drop=True))


def _changed_geometries(conn, changed_new: pd.DataFrame) -> np.ndarray:
    """Where settlements may have become, or ceased to be, exposed, and exposure cells changed: the changes this
    run took and the features whose rows changed (their envelopes, as shapely geometries)."""
    of: dict[str, list[int]] = {k: [] for k in ("enterprise", "tailings_pond", "venue", "pipeline_segment")}
    for kind, feature_id in zip(changed_new["kind"].tolist(), changed_new["feature_id"].tolist(), strict=True):
        if kind in of:
            of[kind].append(int(feature_id))
    frame = query_frame(conn, """
        SELECT encode(ST_AsBinary(g), 'hex') AS wkb FROM (
            SELECT ST_Envelope(extent) AS g FROM riskmap_run_dirty WHERE extent IS NOT NULL
            UNION ALL SELECT ST_Envelope(f.geom) FROM enterprise f WHERE f.id = ANY(%(e)s)
            UNION ALL SELECT ST_Envelope(f.geom) FROM tailings_pond f WHERE f.id = ANY(%(t)s)
            UNION ALL SELECT ST_Envelope(f.geom) FROM venue f WHERE f.id = ANY(%(v)s)
            UNION ALL SELECT ST_Envelope(f.geom) FROM pipeline_segment f WHERE f.id = ANY(%(s)s)) b""",
                        {"e": of["enterprise"], "t": of["tailings_pond"], "v": of["venue"],
                         "s": of["pipeline_segment"]}, column_types={"wkb": pa.string()})
    return shapely.from_wkb(frame["wkb"].to_numpy(dtype=object))


def _grown_boxes(geoms: np.ndarray, radius: float) -> list | None:
    """Boxes (lon/lat) around ``geoms`` grown by ``radius`` metres (None: no geometry)."""
    from geo.risk.context import grown_box
    from geo.risk.proximity import Layer

    if len(geoms) == 0:
        return None
    return grown_box(Layer(geoms), radius)


def _exposure_points_from_memory(nb, model: dict, points: pd.DataFrame, segments) -> pd.DataFrame:
    """The points of a full run's exposure surface (kind, score, lon, lat): its sites, and its segments sampled
    along their lines."""
    from geo.risk.aggregate import points_along
    from geo.risk.context import layer_geometries

    along = None
    if segments is not None:
        seg_layer = nb._load("pipeline_segment", None)
        along = points_along(layer_geometries(seg_layer, "wkb").geoms,
                             seg_layer["segment_length_m"].to_numpy(dtype="float64"),
                             np.clip(segments[1], 0, 100),
                             float(model["exposure"]["cell_m"]))
    sites = points[points["kind"] != "pipeline_segment"][["kind", "score", "lon", "lat"]]
    if along is not None:
        along = along.drop(columns="line")
    return pd.concat([sites, along], ignore_index=True)


def _kept(item) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """What a full run keeps of a class's (context frame, rule result, levels) for its areas and exposure
    surface: (feature ids, scores, levels), copies, so that the frame and the result can go."""
    if item is None:
        return None
    frame, result, level = item
    return (frame["feature_id"].to_numpy(dtype="int64", copy=True), result.score.to_numpy(dtype="float64", copy=True),
            np.array(level, copy=True))


def _scored_points(nb, scored: dict) -> tuple[pd.DataFrame, object]:
    """The features scored in this (full) run at their representative points (kind, feature_id, score, level,
    lon, lat: the point on surface, a segment's midpoint), and the orange and red ones as a proximity layer."""
    import shapely

    from geo.risk.context import layer_geometries
    from geo.risk.proximity import Layer

    frames, hot_geoms = [], []
    for kind, item in scored.items():
        if item is None:
            continue
        feature_id, score, level = item  # (``_kept``)
        layer = nb._load(kind, None)
        if kind == "pipeline_segment":
            geoms = layer_geometries(layer, "wkb").geoms
            mid = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
            lon, lat = shapely.get_x(mid), shapely.get_y(mid)
        else:
            geoms = None
            lon, lat = layer["lon"].to_numpy(dtype="float64"), layer["lat"].to_numpy(dtype="float64")
        if not np.array_equal(layer["feature_id"].to_numpy(), feature_id):
            raise AssertionError(f"{kind}: scored rows out of step with the loaded layer")
        level = np.asarray(level).astype(str)
        frames.append(pd.DataFrame({"kind": kind, "feature_id": feature_id,
                                    "score": np.clip(score, 0, 100),
                                    "level": level, "lon": lon, "lat": lat}))
        is_hot = np.isin(level, ["red", "orange"])
        hot_geoms.append((geoms if geoms is not None else layer_geometries(layer).geoms)[is_hot])
    points = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"kind": pd.Series(dtype=object), "feature_id": pd.Series(dtype="int64"), "score": pd.Series(dtype="float64"),
         "level": pd.Series(dtype=object), "lon": pd.Series(dtype="float64"), "lat": pd.Series(dtype="float64")})
    return points, Layer(np.concatenate(hot_geoms) if hot_geoms else np.zeros(0, dtype=object))


def _stepper(progress: Progress | None):
    done = [0]

    def step(name: str) -> None:
        done[0] += 1
        if progress:
            progress(name, done[0], len(STEPS))

    return step


def _ids_in_dirty(conn, kind: str, reach: dict[str, float]) -> list[int]:
    """Ids of ``kind`` within reach of a change this run took: ``reach`` gives, per class changed, how far its
    changes reach (classes not named: not at all).  Each is a GiST index probe per change record.  (New and
    moved features are always among them: a change records where they are.)"""
    q = (f"SELECT DISTINCT f.id FROM riskmap_run_dirty d "
         f"JOIN unnest(%(kinds)s::text[], %(metres)s::float8[]) r(kind, m) ON r.kind = d.kind "
         f"JOIN {kind} f ON f.geom && riskmap_expand_m(d.extent, r.m) AND riskmap_near(f.geom, d.extent, r.m) "
         f"ORDER BY 1")  # (kind: one of the feature tables, never user input)
    frame = query_frame(conn, q, {"kinds": list(reach), "metres": [float(m) for m in reach.values()]})
    return [int(i) for i in frame.iloc[:, 0]] if len(frame) else []


def _segments_of(conn, pipeline_ids: list[int]) -> list[int]:
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM pipeline_segment WHERE pipeline_id = ANY(%s) ORDER BY id", (pipeline_ids,))
        return [int(r[0]) for r in cur.fetchall()]


def _max_impact(conn) -> float:
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(impact_m), 0) FROM pipeline_segment")
        return float(cur.fetchone()[0])


def _feature_total(conn) -> int:
    """About how many features are scored: the planner's row estimates (no table is read), or a count of a
    table never analysed."""
    total = 0
    with conn.cursor() as cur:
        for table in ("enterprise", "tailings_pond", "venue", "pipeline_segment"):
            cur.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (table,))
            estimate = cur.fetchone()[0]
            if estimate is None or estimate < 0:
                cur.execute(f"SELECT count(*) FROM {table}")  # (a name of the list above)
                estimate = cur.fetchone()[0]
            total += int(estimate)
    return total


def _set_impact_distances(conn, model: dict, pipeline_ids: list[int] | None) -> float:
    """Each segment's impact distance from its line (gas PIR, oil 200 m); returns the largest."""
    from geo.risk.pipeline import impact_distance_m

    frame = query_frame(conn, "SELECT g.id, p.medium, p.diameter_mm, p.pressure_mpa FROM pipeline_segment g "
                              "JOIN pipeline p ON p.id = g.pipeline_id "
                              "WHERE %(ids)s::bigint[] IS NULL OR g.pipeline_id = ANY(%(ids)s)",
                        {"ids": pipeline_ids})
    if len(frame):
        impact = np.asarray(impact_distance_m(frame, model["pipeline"]), dtype="float64")
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE riskmap_impact (id bigint, impact_m double precision) ON COMMIT DROP")
            import io

            buf = io.StringIO("".join(f"{int(i)},{float(m)!r}\n" for i, m in zip(frame["id"], impact, strict=True)))
            cur.copy_expert("COPY riskmap_impact FROM STDIN WITH (FORMAT csv)", buf)
            cur.execute("UPDATE pipeline_segment g SET impact_m = i.impact_m FROM riskmap_impact i WHERE g.id = i.id")
            cur.execute("DROP TABLE riskmap_impact")
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(impact_m), 0) FROM pipeline_segment")
        return float(cur.fetchone()[0])


def _score_kind(worker: DatabaseWorker, nb, model: dict, kind: str, rule, ids: list[int] | None, as_of: dt.date,
                version: str, summary: ScoreSummary, recorder: history.RunRecorder, max_impact_m: float = 0.0):
    """Context and rule for the features ``ids`` of ``kind`` (all: None); the write is queued.  Returns
    (context frame, rule result, levels), or None when nothing was scored."""
    from geo.risk.context import context_frame

    if ids is not None and not ids:
        summary.scored[kind] = 0
        return None
    frame = context_frame(nb, kind, ids, max_impact_m)
    if kind in RULE_SITES:  # what the records say about these sites as of the date (one more input)
        frame = worker.call(rule_frame_with_records, kind, frame, ids is None, as_of, window_days(model))
    summary.scored[kind] = len(frame)
    if frame.empty:
        if ids is None:
            worker.submit(execute, "DELETE FROM feature_risk WHERE kind = %s", (kind,))
        return None
    frame.index = pd.RangeIndex(len(frame))
    result: RuleResult = rule(frame, _params(model, kind), as_of)
    level = final_level(result.score, result.direct_red, model["levels"])
    if ids is not None:
        found, n = np.unique(np.asarray(level).astype(str), return_counts=True)
        summary.levels[kind] = {lv: int(dict(zip(found, n, strict=True)).get(lv, 0)) for lv in reversed(LEVELS)}
    worker.submit(_store, kind, frame["feature_id"], result, level, version, ids is None,
                  frame["lon"].to_numpy(dtype="float64"), frame["lat"].to_numpy(dtype="float64"), recorder)
    return frame, result, level


def _store(conn, kind: str, feature_ids: pd.Series, result: RuleResult, level, version: str, replace_all: bool,
           lon: np.ndarray, lat: np.ndarray, recorder: history.RunRecorder):
    """(On the worker thread: the JSON of the factors is built column-wise by pyarrow, which releases the GIL.)
    A full run's rows are made and written a chunk at a time (``result_chunks``: a national class's factors as
    JSON text took gigabytes when made at once)."""
    defs = [f.definition for f in result.factors]
    if not replace_all:
        table = results_table(kind, feature_ids, result, level, version, lon, lat)
        store_results(conn, kind, table, defs, version, replace_all)
        if kind in history.HISTORY_KINDS:  # what the history compares with the scores before
            recorder.note_written(table)
        return

    def noted(chunks):
        for table in chunks:
            if kind in history.HISTORY_KINDS:  # (only the columns the history compares are kept)
                recorder.note_written(table)
            yield table

    store_results(conn, kind, noted(result_chunks(kind, feature_ids, result, level, version, lon, lat)), defs,
                  version, replace_all)


def _roll_up_pipelines(conn, version: str, segment_ids: list[int] | None = None) -> None:
    """A pipeline's risk is its worst segment's (highest level, then highest score), with the segment named, and
    its high-consequence areas counted over all its segments (geo/risk/pipeline_summary.py).  Only the pipelines
    of the segments ``segment_ids`` (all: None)."""
    from geo.risk.pipeline_summary import store_pipeline_summaries

    store_pipeline_summaries(conn, version, segment_ids)


def _drop_stale(conn, segments_may_go: bool = True) -> None:
    """Results of features that no longer exist: those deleted (by id, recorded by the change triggers) and the
    segments of re-cut or deleted pipelines (the few thousand segments are compared with their table; only when
    the run took a change of a pipeline: ``segments_may_go``)."""
    execute(conn, "DELETE FROM feature_risk r USING riskmap_run_removed x "
                  "WHERE r.kind = x.kind AND r.feature_id = x.feature_id")
    if segments_may_go:
        execute(conn, "DELETE FROM feature_risk r WHERE r.kind = 'pipeline_segment' AND NOT EXISTS "
                      "(SELECT 1 FROM pipeline_segment g WHERE g.id = r.feature_id)")


def _level_counts(conn) -> dict[str, dict[str, int]]:
    frame = query_frame(conn, "SELECT kind, level, count(*) AS n FROM feature_risk GROUP BY 1, 2")
    out: dict[str, dict[str, int]] = {}
    for kind, level, n in frame.itertuples(index=False):
        out.setdefault(kind, {lv: 0 for lv in reversed(LEVELS)})[level] = int(n)
    return out
