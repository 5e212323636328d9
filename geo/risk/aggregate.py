"""Area risk (admin areas and H3 cells) and the exposure surface for heatmaps (domain.md §2 and §6).

The aggregation itself is pure (``aggregate_frame``): features with their area assignments in, one row per area
out.  The database glue loads the scored features' representative points, assigns them to admin areas (shapely
STRtree, vectorised) and to H3 cells (h3), and writes ``area_risk``.  After a few changes, geo/risk/area_delta.py
updates the areas by difference instead.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geo.risk.exposure_tiles import cells_at_or_above
from geo.risk.framework import LEVEL_RANK, LEVELS, level_from_score
from geo.risk.proximity import local_transformer
from geo.risk.store import COPY_CHUNK_ROWS, copy_rows, query_frame, sql_text

SCORED_KINDS = ("enterprise", "tailings_pond", "venue", "pipeline_segment")
ADMIN_LEVEL_RES = {"province": 1, "city": 2, "county": 3, "township": 4}

# ----- pure aggregation -----------------------------------------------------------------------------------------

def complement_geometric_mean(values: np.ndarray) -> float:
    """100 − (Π(100 − xᵢ))^(1/n) on a 0–100 scale: one severe value dominates (INFORM hazard, domain.md §6)."""
    v = np.clip(np.asarray(values, dtype="float64"), 0, 100)
    if len(v) == 0:
        return 0.0
    return float(100.0 - np.exp(np.mean(np.log(np.maximum(100.0 - v, 1e-9)))))


AREA_COLUMNS = ["area_type", "resolution", "area_id", "score", "level_max", "level_banded", "level", "counts",
                "features", "population_exposed"]


def aggregate_frame(assigned: pd.DataFrame, people: pd.DataFrame, model: dict) -> pd.DataFrame:
    """One row per area from features assigned to areas.

    ``assigned``: area_type, resolution, area_id, kind, level, score (one row per feature and area).
    ``people``: area_type, resolution, area_id, people (exposed residents, one row per settlement and area).
    """
    parts = []
    for (area_type, resolution), part in assigned.groupby(["area_type", "resolution"], sort=True):
        p = people[(people["area_type"] == area_type) & (people["resolution"] == resolution)] \
            if len(people) else people
        parts.append(aggregate_partition(
            area_type, int(resolution), part["area_id"].to_numpy(dtype=object), part["kind"].to_numpy(dtype=object),
            part["level"].to_numpy(dtype=object), part["score"].to_numpy(dtype="float64"),
            p["area_id"].to_numpy(dtype=object) if len(p) else np.zeros(0, dtype=object),
            p["people"].to_numpy(dtype="float64") if len(p) else np.zeros(0), model))
    if not parts:
        return pd.DataFrame(columns=AREA_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def aggregate_partition(area_type: str, resolution: int, area_id: np.ndarray, kind: np.ndarray, level: np.ndarray,
                        score: np.ndarray, people_area_id: np.ndarray, people: np.ndarray,
                        model: dict) -> pd.DataFrame:
    """The areas of one type and resolution (one row per area holding a feature), with numpy group sums.

    Score: per class the mean of its ``top_n`` highest scores, then the complement geometric mean over the
    classes present (domain.md §6); level_max: the highest level inside (就高); counts per class and level;
    people exposed: the sum over the area's exposed settlements."""
    few = len(area_id) + len(people_area_id) <= FEW_ROWS and _few_partition(area_id, kind, level, people_area_id)
    if few:
        codes, ids, k_codes, kinds, rank, people_at = few
    else:
        codes, ids = pd.factorize(pd.Series(area_id, dtype=object), sort=True)
        k_codes, kinds = pd.factorize(pd.Series(kind, dtype=object), sort=True)
        rank = pd.Series(level, dtype=object).map(LEVEL_RANK).to_numpy(dtype=np.int64)
    top_n = int(model["area"]["top_n"])
    n, nk, nl = len(ids), len(kinds), len(LEVELS)
    score = np.asarray(score, dtype="float64")
    # the top_n scores of each (area, class): sort by group then score (highest first), keep the first top_n
    group = codes * nk + k_codes
    order = np.lexsort((-score, group))
    g = group[order]
    first = np.r_[True, g[1:] != g[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(g)), 0))
    keep = (np.arange(len(g)) - start) < top_n
    sums = np.bincount(g[keep], weights=score[order][keep], minlength=n * nk)
    taken = np.bincount(g[keep], minlength=n * nk)
    present = (taken > 0).reshape(n, nk)
    class_score = (sums / np.maximum(taken, 1)).reshape(n, nk)
    log_rest = np.where(present, np.log(np.maximum(100.0 - np.clip(class_score, 0, 100), 1e-9)), 0.0)
    area_score = 100.0 - np.exp(log_rest.sum(axis=1) / present.sum(axis=1))
    level_max = np.full(n, -1, dtype=np.int64)
    np.maximum.at(level_max, codes, rank)
    counts = np.bincount((codes * nk + k_codes) * nl + rank, minlength=n * nk * nl).reshape(n, nk, nl)
    if few:  # (the same sums; the frame made at once, the JSON by Python: pandas' and pyarrow's fixed costs spared)
        exposed = np.zeros(n)
        ok = people_at >= 0
        if len(people_at):
            exposed = np.bincount(people_at[ok], weights=np.nan_to_num(np.asarray(people, dtype="float64")[ok]),
                                  minlength=n)
        level_max_names = np.asarray(LEVELS, dtype=object)[level_max]
        level_banded = level_from_score(area_score, model["levels"])
        return pd.DataFrame({
            "area_type": area_type, "resolution": resolution, "area_id": np.asarray(ids, dtype=object),
            "score": area_score, "level_max": level_max_names, "level_banded": level_banded,
            "level": level_max_names if model["area"]["level_rule"] == "max" else level_banded,
            "counts": np.array(_counts_text(counts, kinds, LEVELS), dtype=object),
            "features": np.bincount(codes, minlength=n), "population_exposed": exposed}, columns=AREA_COLUMNS)
    out = pd.DataFrame({
        "area_type": area_type, "resolution": resolution, "area_id": np.asarray(ids, dtype=object),
        "score": area_score, "level_max": np.asarray(LEVELS, dtype=object)[level_max],
    })
    out["level_banded"] = level_from_score(area_score, model["levels"])
    out["level"] = out["level_max"] if model["area"]["level_rule"] == "max" else out["level_banded"]
    out["counts"] = counts_json(counts, list(kinds), list(LEVELS))
    out["features"] = np.bincount(codes, minlength=n)
    exposed = np.zeros(n)
    if len(people_area_id):
        at = pd.Index(ids).get_indexer(pd.Series(people_area_id, dtype=object))
        ok = at >= 0
        exposed = np.bincount(at[ok], weights=np.nan_to_num(np.asarray(people, dtype="float64")[ok]), minlength=n)
    out["population_exposed"] = exposed
    return out[AREA_COLUMNS]


# Up to this many features and settlements, a partition is factorised and its counts written in plain Python:
# an incremental run after one write aggregates a handful of rows per partition, where pandas' and pyarrow's
# fixed costs (about 6 ms a partition) were most of the work.  Same results (tests/geo/risk/test_few_rows.py).
FEW_ROWS = 64


def _few_partition(area_id: np.ndarray, kind: np.ndarray, level: np.ndarray, people_area_id: np.ndarray):
    """pd.factorize's codes (sorted) of the area ids and classes, the level ranks and the people's area codes
    (-1: not among the areas), for a few rows of text; None when a value is not text or not a level, which the
    general path handles (or refuses) as it always has."""
    ids_in, kinds_in, levels_in = list(area_id), list(kind), list(level)
    people_in = list(people_area_id)
    if not all(isinstance(v, str) for v in (*ids_in, *kinds_in, *people_in)) or \
            not all(isinstance(v, str) and v in LEVEL_RANK for v in levels_in):
        return None
    ids, kinds = sorted(set(ids_in)), sorted(set(kinds_in))
    id_at, kind_at = {a: i for i, a in enumerate(ids)}, {k: i for i, k in enumerate(kinds)}
    return (np.array([id_at[a] for a in ids_in], dtype=np.intp), ids,
            np.array([kind_at[k] for k in kinds_in], dtype=np.intp), kinds,
            np.array([LEVEL_RANK[v] for v in levels_in], dtype=np.int64),
            np.array([id_at.get(a, -1) for a in people_in], dtype=np.intp))


def _counts_text(counts: np.ndarray, kinds: list[str], levels) -> list[str]:
    """``counts_json`` in plain Python (a few areas)."""
    out = []
    for per_area in counts.tolist():
        entries = []
        for kind, per_level in zip(kinds, per_area, strict=True):
            inner = ", ".join(f'"{lv}": {n}' for lv, n in zip(levels, per_level, strict=True) if n > 0)
            if inner:
                entries.append(f'"{kind}": {{{inner}}}')
        out.append("{" + ", ".join(entries) + "}")
    return out


def counts_json(counts: np.ndarray, kinds: list[str], levels: list[str]) -> np.ndarray:
    """{"kind": {"level": n}} per area as JSON text from an (areas, kinds, levels) array of counts; zero counts
    and classes are left out.  Built column-wise with pyarrow string joins: no Python per area."""
    m = counts.shape[0]
    kind_parts = []
    for k, kind in enumerate(kinds):
        pieces = []
        for j, level in enumerate(levels):
            n = counts[:, k, j]
            pieces.append(pa.array(np.where(n > 0, np.char.add(np.char.add(f'"{level}": ', n.astype(str)), ", "),
                                            "")))
        inner = pc.utf8_rtrim(pc.binary_join_element_wise(*pieces, ""), characters=", ")
        entry = pc.binary_join_element_wise(_repeat(f'"{kind}": {{', m), inner, _repeat("}, ", m), "")
        kind_parts.append(pc.if_else(pa.array(counts[:, k, :].sum(axis=1) > 0), entry, _repeat("", m)))
    if not kind_parts:
        return np.full(m, "{}", dtype=object)
    body = pc.utf8_rtrim(pc.binary_join_element_wise(*kind_parts, ""), characters=", ")
    text = pc.binary_join_element_wise(_repeat("{", m), body, _repeat("}", m), "")
    return text.to_numpy(zero_copy_only=False)


def _repeat(text: str, n: int) -> pa.Array:
    return pa.array(np.full(n, text, dtype=object), pa.string())


# ----- assignment -------------------------------------------------------------------------------------------------

def h3_assign(lon: np.ndarray, lat: np.ndarray, resolutions: list[int]) -> dict[int, np.ndarray]:
    """The H3 cell (hex string) each point falls in, at each resolution (h3ronpy, vectorised).  Computed per
    resolution: H3 cells do not nest exactly, so a coarse cell is not always the parent of the fine cell holding
    the same point."""
    from concurrent.futures import ThreadPoolExecutor

    from h3ronpy import cells_to_string
    from h3ronpy.vector import coordinates_to_cells

    lat = np.ascontiguousarray(lat, dtype="float64")
    lon = np.ascontiguousarray(lon, dtype="float64")

    def cells_at(r: int) -> np.ndarray:
        if len(lon) == 0:
            return np.zeros(0, dtype=object)
        return pa.array(cells_to_string(coordinates_to_cells(lat, lon, r))).to_numpy(zero_copy_only=False)

    with ThreadPoolExecutor(max_workers=2) as pool:  # h3ronpy releases the GIL: two resolutions at a time
        return dict(zip(resolutions, pool.map(cells_at, resolutions), strict=True))


def h3_polygons_wkb(cells: np.ndarray) -> np.ndarray:
    """The hexagon (or pentagon) of each H3 cell (hex strings) as WKB (h3ronpy, vectorised)."""
    from h3ronpy import cells_parse
    from h3ronpy.vector import cells_to_wkb_polygons

    if len(cells) == 0:
        return np.zeros(0, dtype=object)
    wkb = pa.array(cells_to_wkb_polygons(cells_parse(pa.array(list(cells), pa.string()))))
    return wkb.to_numpy(zero_copy_only=False)


# The areas' outlines are tested by one thread at a time: a full run places its scored points and its exposed
# settlements in areas on two threads, and GEOS prepares an outline (and builds its point index on first use)
# inside the shared geometry object, which two threads doing so at once corrupted (the process aborted).
_AREAS_IN_USE = threading.Lock()


def admin_assign(lon: np.ndarray, lat: np.ndarray, areas: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (point index, area row) of points inside admin areas (or on their boundary): per area, the points in
    its bounding box (a slice of the points sorted by longitude, so thousands of counties stay cheap), then an
    exact vectorised test against the (prepared) polygon."""
    if len(areas) == 0 or len(lon) == 0:
        return np.zeros(0, int), np.zeros(0, int)
    with _AREAS_IN_USE:  # (see _AREAS_IN_USE)
        lon, lat = np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
        geoms = areas["geometry"].to_numpy()
        shapely.prepare(geoms)
        by_lon = np.argsort(lon, kind="stable")
        sorted_lon = lon[by_lon]
        pts, idx = [], []
        for row, (g, (x0, y0, x1, y1)) in enumerate(zip(geoms, shapely.bounds(geoms), strict=True)):
            near = by_lon[np.searchsorted(sorted_lon, x0, "left"):np.searchsorted(sorted_lon, x1, "right")]
            near = near[(lat[near] >= y0) & (lat[near] <= y1)]
            hit = near[shapely.intersects_xy(g, lon[near], lat[near])]
            pts.append(hit)
            idx.append(np.full(len(hit), row))
        p, i = np.concatenate(pts), np.concatenate(idx)
        order = np.lexsort((i, p))
        return p[order], i[order]


def area_partitions(lon: np.ndarray, lat: np.ndarray, areas: pd.DataFrame, resolutions: list[int],
                    admin: bool = True) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    """Which areas hold each point: (area_type, resolution, point indices, area ids) per admin level (unless
    ``admin`` is false) and H3 resolution."""
    lon, lat = np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
    out = []
    p_idx, a_idx = admin_assign(lon, lat, areas) if admin else (np.zeros(0, int), np.zeros(0, int))
    if len(p_idx):
        res = areas["resolution"].to_numpy()[a_idx]
        codes = areas["admin_code"].to_numpy(dtype=object)[a_idx]
        for r in np.unique(res):
            m = res == r
            out.append(("admin", int(r), p_idx[m], codes[m]))
    for r, cells in h3_assign(lon, lat, resolutions).items():
        out.append(("h3", int(r), np.arange(len(lon)), cells))
    return out


# ----- database glue ----------------------------------------------------------------------------------------------

def _box(bbox: list[float] | None) -> dict:
    """Query parameters of an optional bounding box (minx, miny, maxx, maxy)."""
    if bbox is None:
        return {"nobox": True, "x0": None, "y0": None, "x1": None, "y1": None}
    return {"nobox": False, "x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3]}


def load_areas(conn, codes: list[str] | None = None) -> pd.DataFrame:
    """The admin areas (admin_code, level, resolution, geometry): all, or those of ``codes``."""
    frame = query_frame(conn, "SELECT admin_code, level, ST_AsBinary(geom) AS wkb FROM area"
                              + ("" if codes is None else " WHERE admin_code = ANY(%(codes)s::text[])"),
                        None if codes is None else {"codes": codes})
    if frame.empty:
        return pd.DataFrame(columns=["admin_code", "level", "resolution", "geometry"])
    frame["geometry"] = shapely.from_wkb(frame.pop("wkb").map(lambda h: bytes.fromhex(h[2:])).to_numpy())
    frame["resolution"] = frame["level"].map(ADMIN_LEVEL_RES).astype(int)
    frame["admin_code"] = frame["admin_code"].astype(str)
    return frame


def people_partitions(settlements: pd.DataFrame, areas: pd.DataFrame, model: dict) -> dict:
    """Exposed settlements (lon, lat, people) per area partition: {(area_type, resolution): (area ids, people)}."""
    resolutions = [int(r) for r in model["area"]["h3_resolutions"]]
    people = settlements["people"].to_numpy(dtype="float64")
    return {(t, r): (ids, people[idx]) for t, r, idx, ids in area_partitions(
        settlements["lon"].to_numpy(dtype="float64"), settlements["lat"].to_numpy(dtype="float64"), areas,
        resolutions)}


def area_rows(points: pd.DataFrame, people: dict, areas: pd.DataFrame, model: dict,
              parts: list | None = None) -> pd.DataFrame:
    """The rows of area_risk (AREA_COLUMNS; their geometries are added as they are written: ``write_areas``) from
    scored features at their representative points
    (kind, score, level, lon, lat) and the exposed people per partition (``people_partitions``).  ``parts``:
    the points' area_partitions, if already computed."""
    resolutions = [int(r) for r in model["area"]["h3_resolutions"]]
    lon, lat = points["lon"].to_numpy(dtype="float64"), points["lat"].to_numpy(dtype="float64")
    kind, level = points["kind"].to_numpy(dtype=object), points["level"].to_numpy(dtype=object)
    score = points["score"].to_numpy(dtype="float64")
    rows = []
    for t, r, idx, ids in parts if parts is not None else area_partitions(lon, lat, areas, resolutions):
        if len(idx) == 0:
            continue
        s_ids, s_people = people.get((t, r), (np.zeros(0, dtype=object), np.zeros(0)))
        rows.append(aggregate_partition(t, r, ids, kind[idx], level[idx], score[idx], s_ids, s_people, model))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=AREA_COLUMNS)


def _area_geometries(result: pd.DataFrame, areas: pd.DataFrame) -> np.ndarray:
    """Hex WKB of each result row's area: the stored boundary of an admin area, the cell of an H3 area.  (Made
    for the rows at hand only: ``write_areas`` asks a chunk of rows at a time.)"""
    out = np.empty(len(result), dtype=object)
    is_h3 = (result["area_type"] == "h3").to_numpy()
    if is_h3.any():
        out[is_h3] = [w.hex() for w in h3_polygons_wkb(result["area_id"].to_numpy()[is_h3])]
    if (~is_h3).any():
        row_of = dict(zip(areas["admin_code"], range(len(areas)), strict=True))  # (a code twice: its last row)
        rows = [row_of[c] for c in result["area_id"].to_numpy()[~is_h3]]
        out[~is_h3] = shapely.to_wkb(areas["geometry"].to_numpy()[rows], hex=True)
    return out


def exposed_settlements(nb, hot, radius: float, bbox: list[float] | None = None) -> pd.DataFrame:
    """Settlements (lon, lat of the point on surface, people) within ``radius`` of a hot (orange or red) feature
    (domain.md §6): a bulk proximity search with exact geodesic distances.  ``nb``: the run's
    geo.risk.context.Neighbours (it holds the settlements); ``hot``: a geo.risk.proximity.Layer."""
    settlements, pts = nb.points("settlement", bbox)
    if len(hot) == 0 or settlements.empty:
        return settlements.iloc[0:0][["feature_id", "lon", "lat", "people"]]
    pairs = nb.search(hot, pts, radius)
    exposed = np.unique(pairs.ib[pairs.within(radius)])
    out = settlements.iloc[exposed][["feature_id", "lon", "lat", "people"]].reset_index(drop=True)
    if bbox is not None:  # the settlements whose point lies in the box
        x, y = out["lon"].to_numpy(), out["lat"].to_numpy()
        out = out[(x >= bbox[0]) & (x <= bbox[2]) & (y >= bbox[1]) & (y <= bbox[3])].reset_index(drop=True)
    return out


def write_areas(conn, result: pd.DataFrame, version: str, areas: pd.DataFrame | None = None) -> None:
    """Replace every area_risk row (a full run).  The rows are made into COPY's text a chunk at a time, each
    with its areas' geometries (from ``areas``, ``load_areas``; unless ``result`` has them in ``geom``)."""
    with conn.cursor() as cur:
        cur.execute("DELETE FROM area_risk")
        if result.empty:
            return
        # (in the order of area_risk's key, as for the exposure cells: its index then grows at its right edge)
        write_area_rows(cur, result.sort_values(["area_type", "resolution", "area_id"], kind="stable",
                                                ignore_index=True), version, areas)


def write_area_rows(cur, result: pd.DataFrame, version: str, areas: pd.DataFrame | None = None) -> None:
    """COPY the rows of ``result`` into area_risk, COPY_CHUNK_ROWS rows made at a time (``area_table``)."""
    chunks = (area_table(result.iloc[i:i + COPY_CHUNK_ROWS], version, areas)
              for i in range(0, len(result), COPY_CHUNK_ROWS))
    first = next(chunks)
    copy_rows(cur, "area_risk", first.column_names, itertools.chain([first], chunks))


def area_table(result: pd.DataFrame, version: str, areas: pd.DataFrame | None = None) -> pa.Table:
    """The area_risk rows of ``result`` (AREA_COLUMNS, ``top`` where known, and geom as hex WKB: its column, or
    made from ``areas`` for these rows) for COPY."""
    geom = result["geom"] if "geom" in result.columns else _area_geometries(result, areas)
    return pa.table({
        "area_type": pa.array(result["area_type"].astype(str).tolist()),
        "area_id": pa.array(result["area_id"].astype(str).tolist()),
        "resolution": pa.array(result["resolution"].astype("int64").to_numpy()),
        "score": pa.array(result["score"].astype("float64").to_numpy()),
        "level_max": pa.array(result["level_max"].astype(str).tolist()),
        "level_banded": pa.array(result["level_banded"].astype(str).tolist()),
        "level": pa.array(result["level"].astype(str).tolist()),
        "counts": pa.array(result["counts"].astype(str).tolist()),
        "features": pa.array(result["features"].astype("int64").to_numpy()),
        "population_exposed": pa.array(result["population_exposed"].astype("float64").to_numpy()),
        "model_version": pa.array([version] * len(result)),
        "geom": pa.array(list(geom)),
        **({"top": pa.array([v if isinstance(v, str) else None for v in result["top"]], pa.string())}
           if "top" in result.columns else {}),
    })


def _copy_table(cur, name: str, table: pa.Table) -> None:
    copy_rows(cur, name, table.column_names, table)


# ----- exposure surface -------------------------------------------------------------------------------------------

def quartic_weight(distance_m: np.ndarray, bandwidth_m: float) -> np.ndarray:
    """(1 − d²/h²)² inside the bandwidth, 0 outside: the quartic kernel shape of domain.md §6, scaled to 1 at
    the feature, so a lone feature's exposure at its own position equals its score."""
    u = np.asarray(distance_m, dtype="float64") / bandwidth_m
    return np.where(u < 1.0, (1.0 - u * u) ** 2, 0.0)


def _fast_length(n: int) -> int:
    """The smallest 2^a 3^b 5^c at least n (FFT lengths that are quick to transform)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35 * (1 << max(0, (-(-n // p35) - 1).bit_length()))
            best = min(best, m) if m >= n else best
            p35 *= 3
        p5 *= 5
    return best


def _convolve_same(grid: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The 2-D convolution of ``grid`` with an odd-sized ``kernel``, cropped to the grid ("same"), by numpy's
    FFT (as scipy.signal.fftconvolve does, without importing scipy.signal: seconds on a busy machine, for a
    re-score that otherwise takes one)."""
    shape = [grid.shape[i] + kernel.shape[i] - 1 for i in range(2)]
    fast = [_fast_length(n) for n in shape]
    full = np.fft.irfft2(np.fft.rfft2(grid, fast) * np.fft.rfft2(kernel, fast), fast)[:shape[0], :shape[1]]
    ky, kx = (kernel.shape[0] - 1) // 2, (kernel.shape[1] - 1) // 2
    return full[ky:ky + grid.shape[0], kx:kx + grid.shape[1]]


def grid_anchor(points: pd.DataFrame) -> tuple[float, float]:
    """The centre of the exposure grid's projection: the points' mean, rounded to 0.1° so that it stays put
    while the data change a little (cells keep their place and their ids)."""
    return round(float(points["lon"].mean()), 1), round(float(points["lat"].mean()), 1)


def exposure_grid(points: pd.DataFrame, model: dict, anchor: tuple[float, float] | None = None):
    """The exposure surface on a regular metric grid: Σ score × quartic weight, per class bandwidth.

    ``points``: kind, score, lon, lat.  Returns (x_centres, y_centres, values, transformer) in a local azimuthal
    equidistant projection centred on ``anchor`` (default ``grid_anchor(points)``; distances in metres, true
    from the centre, within 0.1 % over a province).  Cells lie at whole multiples of the cell size from the
    centre, so the same anchor gives the same cells whatever part of the data is computed."""
    cell = float(model["exposure"]["cell_m"])
    bandwidths = model["exposure"]["bandwidth_m"]
    lon0, lat0 = anchor if anchor is not None else grid_anchor(points)
    to_local = local_transformer(lon0, lat0)
    x, y = to_local.transform(points["lon"].to_numpy(), points["lat"].to_numpy())
    pad = max(bandwidths.values()) + cell
    x0, y0 = np.floor((x.min() - pad) / cell) * cell, np.floor((y.min() - pad) / cell) * cell
    nx = int(np.ceil((x.max() + pad - x0) / cell)) + 1
    ny = int(np.ceil((y.max() + pad - y0) / cell)) + 1
    total = np.zeros((ny, nx))
    ix = np.floor((x - x0) / cell).astype(int)
    iy = np.floor((y - y0) / cell).astype(int)
    for kind, h in bandwidths.items():
        mask = (points["kind"] == kind).to_numpy()
        if not mask.any():
            continue
        grid = np.zeros((ny, nx))
        np.add.at(grid, (iy[mask], ix[mask]), points["score"].to_numpy()[mask])
        r = int(np.ceil(h / cell))
        offsets = np.arange(-r, r + 1) * cell
        kernel = quartic_weight(np.hypot(*np.meshgrid(offsets, offsets)), h)
        total += _convolve_same(grid, kernel)
    xs = x0 + (np.arange(nx) + 0.5) * cell
    ys = y0 + (np.arange(ny) + 0.5) * cell
    return xs, ys, np.maximum(total, 0.0), to_local


def build_exposure_surface(conn, model: dict, threshold: float = 1.0) -> int:
    """Recompute exposure_cell from all scored features (segments count along their length)."""
    points = exposure_points(conn, model)
    anchor = grid_anchor(points) if len(points) else None
    return write_exposure(conn, exposure_rows(points, model, threshold, anchor), anchor)


def exposure_points(conn, model: dict) -> pd.DataFrame:
    """The stored scores at points (kind, score, lon, lat): sites at their point on surface, pipeline segments
    at points every exposure cell along them."""
    sites = query_frame(conn, sql_text("feature_points"),
                        {"kinds": ["enterprise", "tailings_pond", "venue"], **_box(None)})
    segments = query_frame(conn, sql_text("segment_scores"), _box(None), column_types={"wkb": pa.string()})
    along = points_along(shapely.from_wkb(segments["wkb"].to_numpy(dtype=object)),
                         segments["length_m"].to_numpy(dtype="float64"), segments["score"].to_numpy(dtype="float64"),
                         float(model["exposure"]["cell_m"]))
    return pd.concat([sites[["kind", "score", "lon", "lat"]], along.drop(columns="line")], ignore_index=True)


def points_along(lines: np.ndarray, length_m: np.ndarray, score: np.ndarray, cell_m: float) -> pd.DataFrame:
    """Points every ``cell_m`` along each line (the fraction cell/length, repeated: as PostGIS's
    ST_LineInterpolatePoints with repeat), each carrying its line's score, as kind 'pipeline_segment'."""
    step = np.minimum(1.0, cell_m / np.maximum(np.asarray(length_m, dtype="float64"), 1.0))
    k = np.floor(1.0 / step + 1e-9).astype(np.int64)
    which = np.repeat(np.arange(len(lines)), k)
    first = np.repeat(np.cumsum(k) - k, k)
    frac = (np.arange(len(which)) - first + 1) * step[which]
    pts = shapely.line_interpolate_point(np.asarray(lines, dtype=object)[which], np.minimum(frac, 1.0),
                                         normalized=True)
    return pd.DataFrame({"kind": "pipeline_segment", "score": np.asarray(score, dtype="float64")[which],
                         "lon": shapely.get_x(pts), "lat": shapely.get_y(pts), "line": which})


def exposure_rows(points: pd.DataFrame, model: dict, threshold: float = 1.0,
                  anchor: tuple[float, float] | None = None, inside: list | None = None) -> pa.Table | None:
    """The rows of exposure_cell: grid cells whose exposure reaches ``threshold`` (None: no points); with
    ``inside`` (lon/lat boxes), only the cells whose centre lies in one of them."""
    if points.empty:
        return None
    # a fixed order, so the floating-point sums (and cells right at the threshold) do not depend on where the
    # points came from (the database, or a full run's memory)
    points = points.sort_values(["kind", "lon", "lat", "score"], kind="stable", ignore_index=True)
    cell = float(model["exposure"]["cell_m"])
    # (the FFT's rounding differs with the grid's size by about 1e-13: a cell exactly at the threshold, common
    # on a regular grid, must not come and go with the part of the data computed; over a large extent the grid
    # is computed tile by tile: geo/risk/exposure_tiles.py)
    cx, cy, cell_values, to_local = cells_at_or_above(points, model, anchor or grid_anchor(points), threshold)
    lon, lat = to_local.transform(cx, cy, direction="INVERSE")
    lon, lat = np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
    keep = np.ones(len(cx), dtype=bool)
    if inside is not None:
        keep[:] = False
        for x0, y0, x1, y1 in inside:
            keep |= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    gx, gy = np.floor(cx / cell).astype(np.int64)[keep], np.floor(cy / cell).astype(np.int64)[keep]
    lon, lat = lon[keep], lat[keep]
    # the cells' ids and points as text a chunk at a time (a national run has millions: numpy's fixed-width
    # strings and a shapely point each, for all of them at once, held several times what the table holds)
    cells = pa.chunked_array([pa.array(np.char.add(np.char.add(gy[i:i + COPY_CHUNK_ROWS].astype(str), "_"),
                                                   gx[i:i + COPY_CHUNK_ROWS].astype(str)))
                              for i in range(0, len(gx), COPY_CHUNK_ROWS)], pa.string())
    # in the order of exposure_cell's key (its ids' bytes, COLLATE "C"): written in that order, its index grows at
    # its right edge and the GiST index's insertions stay in one strip of the grid at a time
    order = pc.sort_indices(cells).to_numpy()
    cells, lon, lat, values = cells.take(order), lon[order], lat[order], cell_values[keep][order]
    points = [pa.array(shapely.to_wkb(shapely.points(lon[i:i + COPY_CHUNK_ROWS], lat[i:i + COPY_CHUNK_ROWS]), hex=True))
              for i in range(0, len(lon), COPY_CHUNK_ROWS)]
    return pa.table({
        "resolution": pa.array(np.full(len(order), int(cell), dtype="int64")),
        "cell": cells,
        "value": pa.array(values),
        "geom": pa.chunked_array(points, pa.string()),
    })


def write_exposure(conn, table: pa.Table | None, anchor: tuple[float, float] | None = None,
                   inside: list | None = None) -> int:
    """Replace the exposure cells (all, recording the grid's ``anchor``; or those whose centre lies in the
    ``inside`` boxes).  (The heatmap's grouped squares follow by trigger: exposure_grid, migration 0024.)"""
    with conn.cursor() as cur:
        if inside is None:
            cur.execute("DELETE FROM exposure_cell")
            cur.execute("DELETE FROM exposure_anchor")
            if anchor is not None:
                cur.execute("INSERT INTO exposure_anchor (lon0, lat0) VALUES (%s, %s)", anchor)
        else:
            for x0, y0, x1, y1 in inside:
                # (exactly the cells whose centre lies in the box, as exposure_rows keeps them: && alone
                # compares float4 boxes and takes cells just outside too)
                cur.execute("DELETE FROM exposure_cell WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, "
                            "4326) AND ST_X(geom) BETWEEN %(x0)s AND %(x1)s AND ST_Y(geom) BETWEEN %(y0)s AND %(y1)s",
                            {"x0": x0, "y0": y0, "x1": x1, "y1": y1})
        if table is None:
            return 0
        _copy_table(cur, "exposure_cell", table)
    return table.num_rows


def stored_anchor(conn) -> tuple[float, float] | None:
    with conn.cursor() as cur:
        cur.execute("SELECT lon0, lat0 FROM exposure_anchor LIMIT 1")
        row = cur.fetchone()
    return (float(row[0]), float(row[1])) if row else None


def exposure_points_in(conn, model: dict, boxes: list) -> pd.DataFrame:
    """The exposure points (as ``exposure_points``) of the sites in the boxes and of the segments touching them,
    each site and each segment once."""
    from geo.risk.area_delta import boxes_params

    sites = query_frame(conn, sql_text("feature_points_in_boxes"),
                        {"kinds": ["enterprise", "tailings_pond", "venue"], **boxes_params(boxes)})
    segments = pd.concat([query_frame(conn, sql_text("segment_scores"), _box(b), column_types={"wkb": pa.string()})
                          for b in boxes], ignore_index=True).drop_duplicates("feature_id")
    along = points_along(shapely.from_wkb(segments["wkb"].to_numpy(dtype=object)),
                         segments["length_m"].to_numpy(dtype="float64"), segments["score"].to_numpy(dtype="float64"),
                         float(model["exposure"]["cell_m"])).drop(columns="line")
    return pd.concat([sites[["kind", "score", "lon", "lat"]], along], ignore_index=True)
