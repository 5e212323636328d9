"""Area risk after a few changes, by difference: the cost follows the change, not the size of the areas.

A full run aggregates every area from every feature (geo.risk.aggregate).  Re-aggregating a county the same way
after one edit would read every feature of the county, so an incremental run instead:

- for the large areas (admin areas, H3 cells of resolution ≤ ``LARGE_MAX_RES``) applies the difference: the
  changed features' old rows (score, level and the point where they were counted, kept in feature_risk) leave
  their areas' counts, the new rows enter them; each class's ``top_n`` highest scores are kept in
  ``area_risk.top``, so the class score (their mean) follows too, and only when a top score leaves an area
  with no known replacement are that area's features of that class read again (rare, and only that class);
- re-aggregates the small areas (finer H3 cells) that a changed feature leaves or enters from all their
  features, which are few;
- keeps the exposed settlements (within the exposure radius of an orange or red feature) in
  ``settlement_exposed``, re-examines only those near a change, and moves their people in and out of the
  areas' ``population_exposed`` in the same way.

The results equal a full run's (tests/geo/risk/test_scoring.py and bench/rescore compare them row by row).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from geo.risk import row_sets
from geo.risk.aggregate import (
    AREA_COLUMNS,
    SCORED_KINDS,
    _area_geometries,
    aggregate_partition,
    area_partitions,
    h3_assign,
    load_areas,
    write_area_rows,
)
from geo.risk.framework import LEVEL_RANK, LEVELS, level_from_score
from geo.risk.store import query_frame, sql_text

LARGE_MAX_RES = 6  # H3 cells up to this resolution (about 36 km² and larger) are updated by difference


def resolutions(model: dict) -> tuple[list[int], list[int]]:
    """The model's H3 resolutions split into (large, small)."""
    res = [int(r) for r in model["area"]["h3_resolutions"]]
    return [r for r in res if r <= LARGE_MAX_RES], [r for r in res if r > LARGE_MAX_RES]


def _long(points: pd.DataFrame, parts: list) -> pd.DataFrame:
    """One row per (point, area): the points' columns plus area_type, resolution, area_id."""
    frames = []
    for t, r, idx, ids in parts:
        if len(idx):
            f = points.iloc[idx].reset_index(drop=True)
            f["area_type"], f["resolution"], f["area_id"] = t, r, np.asarray(ids, dtype=object)
            frames.append(f)
    if not frames:
        return points.iloc[0:0].assign(area_type=pd.Series(dtype=object), resolution=pd.Series(dtype="int64"),
                                       area_id=pd.Series(dtype=object))
    return pd.concat(frames, ignore_index=True)


# ----- the top scores of the large areas (written by full runs, kept up to date by incremental ones) -----------

def top_lists(entries: pd.DataFrame, top_n: int) -> dict[tuple, dict[str, list]]:
    """{(area_type, resolution, area_id): {kind: [[score, feature_id], ...]}}: per area and class the ``top_n``
    highest scores, best first (ties by feature id).  ``entries``: area_type, resolution, area_id, kind, score,
    feature_id."""
    if entries.empty:
        return {}
    e = entries.sort_values(["area_type", "resolution", "area_id", "kind", "score", "feature_id"],
                            ascending=[True, True, True, True, False, True], kind="stable")
    e = e.groupby(["area_type", "resolution", "area_id", "kind"], sort=False).head(top_n)
    out: dict[tuple, dict[str, list]] = {}
    for t, r, a, k, s, f in zip(e["area_type"], e["resolution"], e["area_id"], e["kind"], e["score"],
                                e["feature_id"], strict=True):
        out.setdefault((t, int(r), a), {}).setdefault(k, []).append([float(s), int(f)])
    return out


def large_area_tops(points: pd.DataFrame, areas: pd.DataFrame, model: dict,
                    parts: list | None = None) -> dict[tuple, str]:
    """The ``top`` JSON of every large area, from all scored points (a full run).  ``parts``: the points'
    ``area_partitions`` if already computed (those of the large areas are used).  A partition at a time: its
    (point, area) rows are in memory, not every partition's at once."""
    large, _ = resolutions(model)
    if parts is None:
        parts = area_partitions(points["lon"].to_numpy(), points["lat"].to_numpy(), areas, large)
    top_n = int(model["area"]["top_n"])
    columns = points[["kind", "score", "feature_id"]]
    out: dict[tuple, str] = {}
    for part in parts:  # (each area is in one partition: the same lists as over all of them at once)
        if part[0] == "admin" or part[1] in large:
            out.update((key, json.dumps(v)) for key, v in top_lists(_long(columns, [part]), top_n).items())
    return out


# ----- exposed settlements ---------------------------------------------------------------------------------------

def write_exposed_settlements(conn, settlements: pd.DataFrame) -> None:
    """Replace settlement_exposed (a full run): feature_id, people, lon, lat."""
    with conn.cursor() as cur:
        cur.execute("DELETE FROM settlement_exposed")
        copy_exposed(cur, settlements)


def copy_exposed(cur, settlements: pd.DataFrame, table: str = "settlement_exposed") -> None:
    """COPY exposed settlements (feature_id, people, lon, lat) into ``table`` (settlement_exposed, or a table
    like it)."""
    if settlements.empty:
        return
    buf = io.StringIO()
    pd.DataFrame({"id": settlements["feature_id"].astype("int64"),
                  "people": settlements["people"].astype("float64"),
                  "geom": shapely.to_wkb(shapely.points(settlements["lon"].to_numpy(dtype="float64"),
                                                        settlements["lat"].to_numpy(dtype="float64")),
                                         hex=True)}).to_csv(buf, index=False, header=False)
    buf.seek(0)
    cur.copy_expert(f"COPY {table} (settlement_id, people, geom) FROM STDIN WITH (FORMAT csv)", buf)


def refresh_exposed(worker, nb, model: dict, boxes: list | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Re-examine the settlements in ``boxes`` (where a change can have moved, added or removed exposure),
    update settlement_exposed, and return (old, new): the rows (feature_id, people, lon, lat) that left and
    entered it (a settlement whose people changed does both)."""
    from geo.risk.context import layer_geometries

    empty = pd.DataFrame({"feature_id": pd.Series(dtype="int64"), "people": pd.Series(dtype="float64"),
                          "lon": pd.Series(dtype="float64"), "lat": pd.Series(dtype="float64")})
    if not boxes:
        return empty, empty
    radius = float(model["area"]["exposure_radius_m"])
    hot = worker.call(query_frame, sql_text("hot_features_in_boxes"), {**boxes_params(boxes), "radius": radius},
                      column_types={"wkb": pa.string()})
    settlements, points = nb.points("settlement", boxes)
    now = settlements.iloc[0:0]
    if len(hot) and len(settlements):  # (as geo.risk.aggregate.exposed_settlements, on these settlements)
        pairs = nb.search(layer_geometries(hot), points, radius)
        now = settlements.iloc[np.unique(pairs.ib[pairs.within(radius)])]
    now = now[["feature_id", "people", "lon", "lat"]].reset_index(drop=True)
    inside = _in_boxes(now["lon"].to_numpy(), now["lat"].to_numpy(), boxes)
    now = now[inside].reset_index(drop=True)
    stored = pd.concat([worker.call(query_frame, "SELECT settlement_id AS feature_id, people, ST_X(geom) AS lon, "
                                                 "ST_Y(geom) AS lat FROM settlement_exposed WHERE geom && "
                                                 "ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)",
                                    {"x0": b[0], "y0": b[1], "x1": b[2], "y1": b[3]}) for b in boxes]
                       + [empty], ignore_index=True).drop_duplicates("feature_id")
    # settlements deleted or moved out of the boxes: their stored rows are gone or outside; read them by id
    gone = worker.call(query_frame, "SELECT x.settlement_id AS feature_id, x.people, ST_X(x.geom) AS lon, "
                                    "ST_Y(x.geom) AS lat FROM settlement_exposed x JOIN riskmap_run_removed r "
                                    "ON r.kind = 'settlement' AND r.feature_id = x.settlement_id")
    # (&& compares float4 boxes, which also take points just outside: the same exact test as for `now`)
    stored = stored[_in_boxes(stored["lon"].to_numpy(dtype="float64"), stored["lat"].to_numpy(dtype="float64"),
                              boxes)]
    stored = pd.concat([stored, gone, empty], ignore_index=True).drop_duplicates("feature_id")
    key = ["feature_id", "people", "lon", "lat"]
    types = {"feature_id": "int64", "people": "float64", "lon": "float64", "lat": "float64"}
    few = row_sets.differences(stored[key].astype(types), now[key].astype(types))  # (a few: without a merge)
    if few is not None:
        left, entered = few
    else:
        merged = stored[key].astype(types).merge(now[key].astype(types), how="outer", on=key, indicator=True)
        left = merged[merged["_merge"] == "left_only"][key].reset_index(drop=True)
        entered = merged[merged["_merge"] == "right_only"][key].reset_index(drop=True)
    ids = sorted(set(left["feature_id"].astype("int64")) | set(entered["feature_id"].astype("int64")))
    if ids:
        def write(conn):
            with conn.cursor() as cur:
                cur.execute("DELETE FROM settlement_exposed WHERE settlement_id = ANY(%s)", (ids,))
                copy_exposed(cur, entered)
        worker.call(write)
    return left.astype({"feature_id": "int64"}), entered.astype({"feature_id": "int64"})


def _in_boxes(lon: np.ndarray, lat: np.ndarray, boxes: list) -> np.ndarray:
    inside = np.zeros(len(lon), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        inside |= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    return inside


# ----- the update ------------------------------------------------------------------------------------------------

def update_areas(worker, nb, model: dict, old: pd.DataFrame, new: pd.DataFrame, people_old: pd.DataFrame,
                 people_new: pd.DataFrame) -> int:
    """Bring area_risk up to date after a change.  ``old`` and ``new``: the changed features' rows (kind,
    feature_id, score, level, lon, lat) before and after (a removed feature is in ``old`` only, a new one in
    ``new`` only); ``people_old`` and ``people_new``: the exposed settlements that left and entered
    (feature_id, people, lon, lat).  Returns the area rows written."""
    if old.empty and new.empty and people_old.empty and people_new.empty:
        return 0  # (nothing entered or left an area: no row to write, and the areas need not be read)
    areas = worker.call(load_areas)
    large, small = resolutions(model)
    top_n = int(model["area"]["top_n"])
    version = model["version"]

    # large areas: by difference.  The rows that leave (-1) and enter (+1) each area, as plain tuples (area_type,
    # resolution, area_id, *columns, sign), old ones first, each area's in the order of the changed rows: after
    # one write a handful, where frames per area cost far more than the arithmetic.
    def rows_in_areas(frame: pd.DataFrame, sign: int, cols: list[str]) -> list[tuple]:
        if frame.empty:
            return []
        values = list(zip(*(frame[c].tolist() for c in cols), strict=True))
        return [(t, int(r), a if type(a) is str else str(a), *values[i], sign)
                for t, r, idx, ids in area_partitions(frame["lon"].to_numpy(), frame["lat"].to_numpy(), areas,
                                                      large, True)
                for i, a in zip(idx.tolist(), list(ids), strict=True)]

    f_groups: dict[tuple, list[tuple]] = {}  # area -> (kind, feature_id, score, level, sign) of its features
    for t, r, a, *row in (*rows_in_areas(old, -1, ["kind", "feature_id", "score", "level"]),
                          *rows_in_areas(new, 1, ["kind", "feature_id", "score", "level"])):
        f_groups.setdefault((t, r, a), []).append(tuple(row))
    p_groups: dict[tuple, list[tuple]] = {}  # area -> (feature_id, people, sign) of its exposed settlements
    for t, r, a, *row in (*rows_in_areas(people_old, -1, ["feature_id", "people"]),
                          *rows_in_areas(people_new, 1, ["feature_id", "people"])):
        p_groups.setdefault((t, r, a), []).append(tuple(row))
    keys = sorted(f_groups.keys() | p_groups.keys())
    stored = _stored_areas(worker, keys)
    requery: list[tuple[tuple, str]] = []
    states = {}
    for key in keys:
        st = stored.get(key)
        counts = {k: dict(v) for k, v in (st["counts"] if st else {}).items()}
        top = {k: [list(e) for e in v] for k, v in (st["top"] if st else {}).items()}
        features = int(st["features"]) if st else 0
        people = float(st["population_exposed"]) if st else 0.0
        g = f_groups.get(key)
        if g is not None:
            gone = {(kind, int(fid)) for kind, fid, _, _, sign in g if sign < 0}
            for kind, _, _, level, sign in g:
                c = counts.setdefault(kind, {})
                c[level] = c.get(level, 0) + int(sign)
                features += int(sign)
            for kind in {row[0] for row in g}:
                before = top.get(kind, [])
                # the features not in a full list all score at most its lowest score
                floor = min(e[0] for e in before) if len(before) >= top_n else -np.inf
                entries = [e for e in before if (kind, e[1]) not in gone]
                lost = len(before) - len(entries)
                entries += [[float(s), int(f)] for k, f, s, _, sign in g if k == kind and sign > 0]
                entries.sort(key=lambda e: (-e[0], e[1]))
                total = sum(counts.get(kind, {}).values())
                known = sum(1 for e in entries if e[0] >= floor)
                if lost and known < min(top_n, total):
                    requery.append((key, kind))  # a top score left and the next best is not known here
                top[kind] = entries[:top_n]
        pg = p_groups.get(key)
        if pg is not None:  # (summed as a Series sums: numpy's pairwise sum, missing people as none)
            people += float(np.nansum(np.array([p * sign for _, p, sign in pg], dtype="float64")))
        counts = {k: {lv: n for lv, n in v.items() if n} for k, v in counts.items()}
        counts = {k: v for k, v in counts.items() if v}
        top = {k: v for k, v in top.items() if k in counts}
        if features <= 0:  # the area's last feature left it: its row is deleted below
            continue
        states[key] = (counts, top, features, people)
    for key, kind in requery:
        states[key][1][kind] = _top_of(worker, areas, key, kind, top_n)
    rows = _large_rows(states, model)

    # small areas: recomputed from all their features (few)
    both = [f for f in (old, new, people_old, people_new) if len(f)]
    lon = np.concatenate([f["lon"].to_numpy(dtype="float64") for f in both]) if both else np.zeros(0)
    lat = np.concatenate([f["lat"].to_numpy(dtype="float64") for f in both]) if both else np.zeros(0)
    small_keys = set()
    if len(lon) and small:
        for r, cells in h3_assign(lon, lat, small).items():
            small_keys.update(("h3", int(r), c) for c in set(cells))
    small_rows = _small_rows(worker, areas, sorted(small_keys), model) if small_keys else \
        pd.DataFrame(columns=AREA_COLUMNS)

    result = pd.concat([pd.DataFrame(rows, columns=[*AREA_COLUMNS, "top"]), small_rows.assign(top=None)],
                       ignore_index=True)
    result["geom"] = _area_geometries(result, areas) if len(result) else []
    # every affected row is deleted, and those that still hold a feature written again
    worker.call(_write, result, keys + sorted(small_keys), version)
    return len(result)


def _stored_areas(worker, keys: list[tuple]) -> dict[tuple, dict]:
    if not keys:
        return {}
    frame = worker.call(query_frame, """
        SELECT a.area_type, a.resolution, a.area_id, a.counts::text AS counts, a.features, a.population_exposed,
               coalesce(a.top, '{}')::text AS top
        FROM area_risk a
        JOIN unnest(%(t)s::text[], %(r)s::int[], %(a)s::text[]) w(t, r, a)
          ON a.area_type = w.t AND a.resolution = w.r AND a.area_id = w.a""",
                        {"t": [k[0] for k in keys], "r": [k[1] for k in keys], "a": [str(k[2]) for k in keys]},
                        column_types={"area_id": pa.string(), "counts": pa.string(), "top": pa.string()})
    return {(t, int(r), a): {"counts": json.loads(c), "top": json.loads(tp), "features": f, "population_exposed": p}
            for t, r, a, c, f, p, tp in zip(frame["area_type"], frame["resolution"], frame["area_id"],
                                            frame["counts"], frame["features"], frame["population_exposed"],
                                            frame["top"], strict=True)}


def _area_box(areas: pd.DataFrame, key: tuple) -> list[float]:
    t, r, a = key
    if t == "admin":
        geom = areas.loc[areas["admin_code"] == a, "geometry"].iloc[0]
        return [float(v) for v in shapely.bounds(geom)]
    import h3

    b = np.array(h3.cell_to_boundary(a))  # (lat, lon)
    return [float(b[:, 1].min()), float(b[:, 0].min()), float(b[:, 1].max()), float(b[:, 0].max())]


def boxes_params(boxes: list) -> dict:
    """Query parameters of a list of boxes (lon/lat): arrays x0, y0, x1, y1."""
    b = np.asarray(boxes, dtype="float64").reshape(-1, 4)
    return {"x0": b[:, 0].tolist(), "y0": b[:, 1].tolist(), "x1": b[:, 2].tolist(), "y1": b[:, 3].tolist()}


def _points_in(worker, kinds: list[str], boxes: list[list[float]]) -> pd.DataFrame:
    """The scored features of ``kinds`` whose representative point lies in any of the boxes."""
    return worker.call(query_frame, sql_text("feature_points_in_boxes"), {"kinds": kinds, **boxes_params(boxes)},
                       column_types={"kind": pa.string(), "level": pa.string(), "score": pa.float64(),
                                     "lon": pa.float64(), "lat": pa.float64(), "feature_id": pa.int64()})


def _top_of(worker, areas: pd.DataFrame, key: tuple, kind: str, top_n: int) -> list:
    """The ``top_n`` highest scores of ``kind`` in one area, read again (a top score left it)."""
    t, r, a = key
    pts = _points_in(worker, [kind], [_area_box(areas, key)])
    if pts.empty:
        return []
    parts = area_partitions(pts["lon"].to_numpy(), pts["lat"].to_numpy(), areas, [] if t == "admin" else [r],
                            admin=t == "admin")
    entries = _long(pts[["kind", "score", "feature_id"]], [p for p in parts if p[0] == t and p[1] == r])
    entries = entries[entries["area_id"] == a]
    return top_lists(entries.assign(area_type=t, resolution=r), top_n).get(key, {}).get(kind, [])


def _large_rows(states: dict, model: dict) -> list[dict]:
    """The area_risk rows of large areas from their counts and top scores: the score as aggregate_partition
    computes it (fed the top scores, which are all the class means use: one call per area type and resolution),
    the levels from the counts."""
    by_partition: dict[tuple, list] = {}
    for key in states:
        by_partition.setdefault(key[:2], []).append(key)
    scores: dict[tuple, float] = {}
    for (t, r), keys in by_partition.items():
        entries = [(a, k, s) for _, _, a in keys for k, top in sorted(states[(t, r, a)][1].items()) for s, _ in top]
        if not entries:
            continue
        part = aggregate_partition(t, r, np.array([e[0] for e in entries], dtype=object),
                                   np.array([e[1] for e in entries], dtype=object),
                                   np.array(["blue"] * len(entries), dtype=object),
                                   np.array([e[2] for e in entries], dtype="float64"),
                                   np.zeros(0, dtype=object), np.zeros(0), model)
        scores.update({(t, r, a): float(v) for a, v in zip(part["area_id"], part["score"], strict=True)})
    rows = []
    for key, (counts, top, features, people) in states.items():
        t, r, a = key
        score = scores.get(key, 0.0)
        rank = max((LEVEL_RANK[lv] for v in counts.values() for lv in v), default=0)
        level_max = LEVELS[rank]
        level_banded = str(level_from_score(np.array([score]), model["levels"])[0])
        rows.append({"area_type": t, "resolution": r, "area_id": a, "score": score, "level_max": level_max,
                     "level_banded": level_banded,
                     "level": level_max if model["area"]["level_rule"] == "max" else level_banded,
                     "counts": json.dumps(counts), "features": features, "population_exposed": people,
                     "top": json.dumps(top)})
    return rows


def _small_rows(worker, areas: pd.DataFrame, keys: list[tuple], model: dict) -> pd.DataFrame:
    """The rows of the small areas ``keys``, from all their features and exposed settlements."""
    from geo.risk.context import box_cover

    bounds = np.array([_area_box(areas, k) for k in keys])
    boxes = box_cover(bounds, cell=float(np.max(bounds[:, 2:] - bounds[:, :2])))
    pts = _points_in(worker, list(SCORED_KINDS), boxes)
    # (a settlement on the edge shared by two boxes comes from both: once each)
    ppl = pd.concat([worker.call(query_frame, "SELECT settlement_id, people, ST_X(geom) AS lon, ST_Y(geom) AS lat "
                                              "FROM settlement_exposed WHERE geom && "
                                              "ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)",
                                 {"x0": b[0], "y0": b[1], "x1": b[2], "y1": b[3]}) for b in boxes],
                    ignore_index=True).drop_duplicates("settlement_id").reset_index(drop=True)
    by_res: dict[int, set] = {}
    for _, r, a in keys:
        by_res.setdefault(r, set()).add(a)
    out = []
    p_parts = {r: cells for r, cells in h3_assign(ppl["lon"].to_numpy(), ppl["lat"].to_numpy(),
                                                  sorted(by_res)).items()} if len(ppl) else {}
    for r, cells in h3_assign(pts["lon"].to_numpy(), pts["lat"].to_numpy(), sorted(by_res)).items():
        m = np.isin(cells, np.array(sorted(by_res[r]), dtype=object))
        if not m.any():
            continue
        pc = p_parts.get(r, np.zeros(0, dtype=object))
        pm = np.isin(pc, np.array(sorted(by_res[r]), dtype=object)) if len(pc) else np.zeros(0, bool)
        out.append(aggregate_partition("h3", r, cells[m], pts["kind"].to_numpy(dtype=object)[m],
                                       pts["level"].to_numpy(dtype=object)[m],
                                       pts["score"].to_numpy(dtype="float64")[m],
                                       pc[pm] if len(pc) else np.zeros(0, dtype=object),
                                       ppl["people"].to_numpy(dtype="float64")[pm] if len(pc) else np.zeros(0),
                                       model))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=AREA_COLUMNS)


def _write(conn, result: pd.DataFrame, keys: list[tuple], version: str) -> None:
    with conn.cursor() as cur:
        if keys:
            cur.execute("DELETE FROM area_risk a USING unnest(%s::text[], %s::int[], %s::text[]) AS w(t, r, id) "
                        "WHERE a.area_type = w.t AND a.resolution = w.r AND a.area_id = w.id",
                        ([k[0] for k in keys], [k[1] for k in keys], [str(k[2]) for k in keys]))
        if result.empty:
            return
        write_area_rows(cur, result, version)
