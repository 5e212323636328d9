"""Scoring the feature store: spatial context in PostGIS, the pure rules in Python, results back via COPY.

``score(conn, model, as_of)`` recomputes what changed since the last run: the statement triggers of migration
0002 record the extent of every change in ``risk_dirty``; the features whose context reaches into those extents
(the longest reach of any rule: the 2 km GB 50251 unit plus its 200 m corridor, or the largest pipeline impact
radius) are re-scored, and the areas around them re-aggregated.  A first run, a new model version, a TRUNCATE
or ``full=True`` recompute everything.  Either way it is one transaction.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.risk.context import Neighbours
from geo.risk.framework import LEVELS, RuleResult, final_level
from geo.risk.store import execute, query_frame, results_table, sql_text, store_results
from geo.risk.worker import DatabaseWorker

Progress = Callable[[str, int, int], None]  # step name, steps done, steps in total

STEPS = ("segments", "enterprise", "tailings_pond", "pipeline_segment", "pipeline", "venue", "areas", "exposure")


@dataclass
class ScoreSummary:
    full: bool
    scored: dict[str, int] = field(default_factory=dict)
    levels: dict[str, dict[str, int]] = field(default_factory=dict)
    areas: int = 0
    seconds: float = 0.0


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


def reach_m(model: dict, max_impact_m: float) -> float:
    """How far a change can affect another feature's score: the longest context distance of any rule."""
    ctx = model["context"]
    return max(ctx["alpha_radius_m"], ctx["downstream_radius_m"], ctx["unit_length_m"] / 2 + ctx["corridor_m"],
               ctx["venue_hazard_radius_m"], max_impact_m, model["area"]["exposure_radius_m"])


def score(conn, model: dict, as_of: dt.date | None = None, *, full: bool = False,
          progress: Progress | None = None) -> ScoreSummary:
    """Re-score what changed (or everything) and commit; returns what was done."""
    t0 = time.perf_counter()
    as_of = as_of or dt.date.today()
    version = model["version"]
    rules = _rules()
    autocommit = conn.autocommit
    if autocommit:
        conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("LOCK TABLE feature_risk IN EXCLUSIVE MODE")  # one scorer at a time
            cur.execute("SELECT coalesce(max(id), 0), bool_or(extent IS NULL) FROM risk_dirty")
            last_dirty, unknown_extent = cur.fetchone()
            cur.execute("SELECT NOT EXISTS (SELECT 1 FROM feature_risk) "
                        "OR EXISTS (SELECT 1 FROM feature_risk WHERE model_version <> %s)", (version,))
            must_full = cur.fetchone()[0]
        full = bool(full or must_full or unknown_extent)
        summary = ScoreSummary(full=full)
        if not full and last_dirty == 0:
            conn.rollback()
            summary.seconds = time.perf_counter() - t0
            return summary
        step = _stepper(progress)
        worker = DatabaseWorker(conn)
        neighbours = Neighbours(conn, model, worker)
        try:
            _score_all(worker, neighbours, model, rules, full, last_dirty, as_of, summary, step)
        finally:
            worker.close()
            neighbours.close()

        execute(conn, "DELETE FROM risk_dirty WHERE id <= %s", (last_dirty,))
        summary.levels = _level_counts(conn)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        if autocommit:
            conn.autocommit = True
    summary.seconds = time.perf_counter() - t0
    return summary


def _score_all(worker: DatabaseWorker, nb, model: dict, rules: dict, full: bool, last_dirty: int,
               as_of: dt.date, summary: ScoreSummary, step) -> None:
    """The scoring run proper.  Every database call goes through ``worker`` (in order, on its thread), so the
    results of one class are written while the next is computed; a full run loads every layer up front and
    aggregates the areas from the results in memory while they are being written."""
    from geo.risk.aggregate import (
        SCORED_KINDS,
        aggregate_areas,
        area_partitions,
        area_rows,
        exposed_settlements,
        exposure_points,
        exposure_rows,
        load_areas,
        people_partitions,
        write_areas,
        write_exposure,
    )

    version = model["version"]
    # 1. pipeline segments (re-cut only the pipelines that changed) and their impact distances
    changed_pipelines = None if full else worker.call(_ids_in_dirty, "pipeline", last_dirty, 0.0)
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
    ids = {k: None for k in SCORED_KINDS}
    if not full:
        reach = reach_m(model, impact.result())
        ids = {k: worker.call(_ids_in_dirty, k, last_dirty, reach) for k in SCORED_KINDS}

    # 2-6. the rules.  Two threads (numpy, shapely, pyproj and pyarrow release the GIL for their heavy work):
    # this one scores enterprises and then venues (which need the enterprises' major-hazard results), the other
    # tailings ponds and pipeline segments.  Each class's write is queued on the worker as soon as it is ready.
    def score_kind(kind: str, **extra):
        return _score_kind(worker, nb, model, kind, rules[kind], ids[kind], as_of, version, summary, **extra)

    scored = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskmap-score") as helper:
        ponds = helper.submit(score_kind, "tailings_pond")
        segments = helper.submit(score_kind, "pipeline_segment")
        scored["enterprise"] = score_kind("enterprise")
        if scored["enterprise"] is not None:
            frame, result, _ = scored["enterprise"]
            nb.major_hazard = pd.Series(result.extra["major_hazard"].astype("boolean").fillna(False).to_numpy(bool),
                                        index=frame["feature_id"].to_numpy())
        step("enterprise")
        scored["venue"] = score_kind("venue", max_impact_m=impact.result())
        scored["tailings_pond"] = ponds.result()
        step("tailings_pond")
        scored["pipeline_segment"] = segments.result()
        step("pipeline_segment")
    worker.submit(_roll_up_pipelines, version)  # after the segments' write, which is queued before it
    step("pipeline")
    step("venue")
    if not full:  # (a full run has replaced every class's rows already)
        worker.submit(_drop_stale)

    # 7-8. areas and the exposure surface
    if full:  # from the results in memory, while they are being written; the exposed people on the other thread
        points, hot = _scored_points(nb, scored)
        radius = float(model["area"]["exposure_radius_m"])
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskmap-score") as helper:
            people = helper.submit(lambda: people_partitions(exposed_settlements(nb, hot, radius), areas.result(),
                                                             model))
            resolutions = [int(r) for r in model["area"]["h3_resolutions"]]
            parts = area_partitions(points["lon"].to_numpy(dtype="float64"),
                                    points["lat"].to_numpy(dtype="float64"), areas.result(), resolutions)
            exposure = _exposure_from_memory(nb, model, points, scored.get("pipeline_segment"))
            result = area_rows(points, people.result(), areas.result(), model, parts=parts)
        worker.submit(write_areas, result, version, None)
        summary.areas = len(result)
        step("areas")
        worker.submit(write_exposure, exposure)
    else:
        region = worker.call(_dirty_region, last_dirty, reach)
        summary.areas = aggregate_areas(worker.conn, model, region, nb)
        step("areas")
        worker.submit(write_exposure, exposure_rows(worker.call(exposure_points, model), model))
    worker.drain()
    step("exposure")


def _exposure_from_memory(nb, model: dict, points: pd.DataFrame, segments) -> object:
    """The exposure_cell rows of a full run: its sites, and its segments sampled along their lines."""
    from geo.risk.aggregate import exposure_rows, points_along
    from geo.risk.context import layer_geometries

    along = None
    if segments is not None:
        seg_layer = nb._load("pipeline_segment", None)
        along = points_along(layer_geometries(seg_layer, "wkb").geoms,
                             seg_layer["segment_length_m"].to_numpy(dtype="float64"),
                             np.clip(segments[1].score.to_numpy(dtype="float64"), 0, 100),
                             float(model["exposure"]["cell_m"]))
    sites = points[points["kind"] != "pipeline_segment"][["kind", "score", "lon", "lat"]]
    return exposure_rows(pd.concat([sites, along], ignore_index=True), model)


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
        frame, result, level = item
        layer = nb._load(kind, None)
        if kind == "pipeline_segment":
            geoms = layer_geometries(layer, "wkb").geoms
            mid = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
            lon, lat = shapely.get_x(mid), shapely.get_y(mid)
        else:
            geoms = None
            lon, lat = layer["lon"].to_numpy(dtype="float64"), layer["lat"].to_numpy(dtype="float64")
        if not np.array_equal(layer["feature_id"].to_numpy(), frame["feature_id"].to_numpy()):
            raise AssertionError(f"{kind}: scored rows out of step with the loaded layer")
        level = np.asarray(level).astype(str)
        frames.append(pd.DataFrame({"kind": kind, "feature_id": frame["feature_id"].to_numpy(),
                                    "score": np.clip(result.score.to_numpy(dtype="float64"), 0, 100),
                                    "level": level, "lon": lon, "lat": lat}))
        is_hot = np.isin(level, ["red", "orange"])
        hot_geoms.append((geoms if geoms is not None else layer_geometries(layer).geoms)[is_hot])
    points = pd.concat(frames, ignore_index=True)
    return points, Layer(np.concatenate(hot_geoms) if hot_geoms else np.zeros(0, dtype=object))


def _stepper(progress: Progress | None):
    done = [0]

    def step(name: str) -> None:
        done[0] += 1
        if progress:
            progress(name, done[0], len(STEPS))

    return step


def _ids_in_dirty(conn, kind: str, last_dirty: int, reach: float) -> list[int]:
    """Ids of ``kind`` within ``reach`` metres of a change (any class).  For 'pipeline' with reach 0: the
    pipelines that changed themselves."""
    table = "pipeline_segment" if kind == "pipeline_segment" else kind
    if kind == "pipeline":
        q = ("SELECT DISTINCT p.id FROM pipeline p JOIN risk_dirty d ON d.kind = 'pipeline' AND d.id <= %(last)s "
             "AND p.geom && d.extent AND ST_Intersects(p.geom, d.extent)")
    else:
        q = (f"SELECT DISTINCT f.id FROM {table} f JOIN risk_dirty d ON d.id <= %(last)s "
             f"AND f.geom && riskmap_expand_m(d.extent, %(reach)s) AND riskmap_near(f.geom, d.extent, %(reach)s)")
    frame = query_frame(conn, q, {"last": last_dirty, "reach": reach})
    ids = [int(i) for i in frame.iloc[:, 0]] if len(frame) else []
    if kind != "pipeline":  # features never scored (e.g. new segments) are always due
        frame = query_frame(conn, f"SELECT f.id FROM {table} f LEFT JOIN feature_risk r ON r.kind = %(kind)s "
                                  f"AND r.feature_id = f.id WHERE r.feature_id IS NULL", {"kind": kind})
        ids = sorted(set(ids) | {int(i) for i in frame.iloc[:, 0]})
    return ids


def _dirty_region(conn, last_dirty: int, reach: float):
    """The changed extents grown by ``reach`` (WKB), for re-aggregating only the areas they touch."""
    with conn.cursor() as cur:
        cur.execute("SELECT ST_AsBinary(ST_Union(riskmap_expand_m(extent, %s))) FROM risk_dirty WHERE id <= %s",
                    (reach, last_dirty))
        wkb = cur.fetchone()[0]
    import shapely

    return shapely.from_wkb(bytes(wkb)) if wkb is not None else None


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
                version: str, summary: ScoreSummary, max_impact_m: float = 0.0):
    """Context and rule for the features ``ids`` of ``kind`` (all: None); the write is queued.  Returns
    (context frame, rule result, levels), or None when nothing was scored."""
    from geo.risk.context import context_frame

    if ids is not None and not ids:
        summary.scored[kind] = 0
        return None
    frame = context_frame(nb, kind, ids, max_impact_m)
    summary.scored[kind] = len(frame)
    if frame.empty:
        if ids is None:
            worker.submit(execute, "DELETE FROM feature_risk WHERE kind = %s", (kind,))
        return None
    frame.index = pd.RangeIndex(len(frame))
    result: RuleResult = rule(frame, _params(model, kind), as_of)
    level = final_level(result.score, result.direct_red, model["levels"])
    worker.submit(_store, kind, frame["feature_id"], result, level, version, ids is None)
    return frame, result, level


def _store(conn, kind: str, feature_ids: pd.Series, result: RuleResult, level, version: str, replace_all: bool):
    """(On the worker thread: the JSON of the factors is built column-wise by pyarrow, which releases the GIL.)"""
    store_results(conn, kind, results_table(kind, feature_ids, result, level, version),
                  [f.definition for f in result.factors], version, replace_all)


def _roll_up_pipelines(conn, version: str, segment_ids: list[int] | None = None) -> None:
    """A pipeline's risk is its worst segment's (highest level, then highest score), with the segment named, and
    its high-consequence areas counted over all its segments (geo/risk/pipeline_summary.py).  Only the pipelines
    of the segments ``segment_ids`` (all: None)."""
    from geo.risk.pipeline_summary import store_pipeline_summaries

    store_pipeline_summaries(conn, version, segment_ids)


def _drop_stale(conn) -> None:
    """Results of features that no longer exist (deleted, or segments re-cut)."""
    for kind in ("enterprise", "tailings_pond", "pipeline_segment", "pipeline", "venue"):
        execute(conn, f"DELETE FROM feature_risk r WHERE r.kind = %s AND NOT EXISTS "
                      f"(SELECT 1 FROM {kind} f WHERE f.id = r.feature_id)", (kind,))


def _level_counts(conn) -> dict[str, dict[str, int]]:
    frame = query_frame(conn, "SELECT kind, level, count(*) AS n FROM feature_risk GROUP BY 1, 2")
    out: dict[str, dict[str, int]] = {}
    for kind, level, n in frame.itertuples(index=False):
        out.setdefault(kind, {lv: 0 for lv in reversed(LEVELS)})[level] = int(n)
    return out
