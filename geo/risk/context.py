"""The spatial context of each feature class, computed in bulk (domain.md §1, §3, §4, §5).

For the features being scored this returns the frame their rule reads: the stored attributes (from the
``*_layer.sql`` queries) plus the context columns — people within the GB 18218 α ring, people and facilities
downstream of a tailings dam, households and sites along a pipeline segment, hazards around a venue.  The
neighbours come from ``geo.risk.proximity.search``: one bulk index query per context, exact geodesic answers
(WGS 84), PostGIS's ``ST_Distance`` on geography for the pairs that involve lines or polygons and sit near a
threshold.  Sums and counts per feature are ``np.bincount`` over the pairs.

Only the neighbours that can matter are loaded: those inside the features' extent grown by the context radius
(everything, on a full run).
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import psycopg2
import pyarrow as pa
import shapely

from geo.risk.proximity import Layer, LocalMetric, Pairs, search
from geo.risk.store import query_frame, sql_text
from geo.risk.worker import DatabaseWorker

# types of columns that may be empty for a whole block of rows (CSV type inference must not guess them)
_TYPES = {"wkb": pa.string(), "unit_wkb": pa.string(), "chemicals": pa.string(), "last_inspection": pa.string(),
          "last_fire_inspection": pa.string(), "operator": pa.string(), "status": pa.string(),
          "industry": pa.string(), "venue_type": pa.string(), "safety_state": pa.string(), "ore": pa.string(),
          "medium": pa.string()}


def layer_frame(conn, name: str, ids: list[int] | None = None, box: list | None = None,
                **params) -> pd.DataFrame:
    """The rows of ``<name>_layer.sql``: the features ``ids`` (all when None) touching ``box`` (lon/lat), or
    touching any of a list of boxes (one indexed query per box, each feature once, in id order)."""
    if box is not None and len(box) and isinstance(box[0], (list, tuple)):
        frames = [layer_frame(conn, name, ids, b, **params) for b in box]
        frame = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
        if len(frames) > 1:
            frame = frame.drop_duplicates("feature_id").sort_values("feature_id", kind="stable")
        return frame.reset_index(drop=True)
    nobox = box is None
    x0, y0, x1, y1 = (None,) * 4 if nobox else box
    return query_frame(conn, sql_text(f"{name}_layer"),
                       {"ids": ids, "nobox": nobox, "x0": x0, "y0": y0, "x1": x1, "y1": y1, **params},
                       column_types=_TYPES)


def layer_geometries(frame: pd.DataFrame, wkb: str = "wkb") -> Layer:
    """The layer of a layer frame: its points (lon, lat), or the WKB geometry where there is one."""
    has = frame[wkb].notna().to_numpy() if wkb in frame.columns else np.zeros(len(frame), dtype=bool)
    if "lon" in frame.columns and not has.any():
        return Layer.points(frame["lon"].to_numpy(dtype="float64"), frame["lat"].to_numpy(dtype="float64"))
    if "lon" in frame.columns:
        geoms = shapely.points(frame["lon"].to_numpy(dtype="float64"), frame["lat"].to_numpy(dtype="float64"))
    else:
        geoms = np.full(len(frame), None, dtype=object)
    if has.any():
        geoms[has] = shapely.from_wkb(frame[wkb][has].to_numpy(dtype=object))
    return Layer(geoms)


def grown_box(layer: Layer, metres: float) -> list[list[float]] | None:
    """Boxes (lon/lat) covering every feature of the layer grown by at least ``metres``: where the neighbours
    that can matter lie.  Scattered features give many small boxes rather than one box over all of them, so
    that re-scoring ten features far apart reads their surroundings, not the whole region between them."""
    if len(layer) == 0:
        return None
    bounds = shapely.bounds(layer.geoms)
    widest = min(89.0, float(np.nanmax(np.abs(bounds[:, [1, 3]]))))
    dx = metres / (111_320.0 * np.cos(np.radians(widest))) + 1e-6
    dy = metres / 110_574.0 + 1e-6
    grown = bounds + np.array([-dx, -dy, dx, dy])
    grown[:, 1] = np.maximum(grown[:, 1], -90.0)
    grown[:, 3] = np.minimum(grown[:, 3], 90.0)
    return box_cover(grown, cell=max(dx, dy))


def box_cover(boxes: np.ndarray, cell: float, max_cells: int = 256) -> list[list[float]]:
    """A few boxes covering the given ones (an (n, 4) array of x0, y0, x1, y1): the cells of a grid that the
    boxes touch, as runs of touched cells along each row, with runs repeated on consecutive rows merged.  The
    cell is at least ``cell`` and at most 1/``max_cells`` of the extent per axis, so the list stays short."""
    x0, y0 = float(boxes[:, 0].min()), float(boxes[:, 1].min())
    x1, y1 = float(boxes[:, 2].max()), float(boxes[:, 3].max())
    cx = max(cell, (x1 - x0) / max_cells, 1e-9)
    cy = max(cell, (y1 - y0) / max_cells, 1e-9)
    nx, ny = int(np.ceil((x1 - x0) / cx)) or 1, int(np.ceil((y1 - y0) / cy)) or 1
    grid = np.zeros((ny + 1, nx + 2), dtype=np.int32)  # a 2-D difference array: +1/-1 at each box's corners
    i0 = np.clip(((boxes[:, 0] - x0) / cx).astype(int), 0, nx - 1)
    i1 = np.clip(((boxes[:, 2] - x0) / cx).astype(int), 0, nx - 1)
    j0 = np.clip(((boxes[:, 1] - y0) / cy).astype(int), 0, ny - 1)
    j1 = np.clip(((boxes[:, 3] - y0) / cy).astype(int), 0, ny - 1)
    np.add.at(grid, (j0, i0), 1)
    np.add.at(grid, (j0, i1 + 1), -1)
    np.add.at(grid, (j1 + 1, i0), -1)
    np.add.at(grid, (j1 + 1, i1 + 1), 1)
    touched = np.cumsum(np.cumsum(grid, axis=0), axis=1)[:ny, :nx] > 0
    out: list[list[float]] = []
    open_runs: dict[tuple[int, int], int] = {}  # (first, last cell) of a run -> its box in out, still growing
    for j in range(ny):
        row = np.r_[False, touched[j], False]
        starts = np.flatnonzero(row[1:] & ~row[:-1])
        ends = np.flatnonzero(row[:-1] & ~row[1:]) - 1
        runs = {}
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            k = open_runs.get((a, b))
            if k is None:
                out.append([float(x0 + a * cx), float(y0 + j * cy), float(min(x1, x0 + (b + 1) * cx)),
                            float(min(y1, y0 + (j + 1) * cy))])
                k = len(out) - 1
            else:
                out[k][3] = float(min(y1, y0 + (j + 1) * cy))
            runs[(a, b)] = k
        open_runs = runs
    return out


def postgis_exact(conn):
    """Exact geodesic distances of pairs of geometries from PostGIS (geography, spheroid)."""

    def exact(ga: np.ndarray, gb: np.ndarray) -> np.ndarray:
        if len(ga) == 0:
            return np.zeros(0)
        with conn.cursor() as cur:
            cur.execute(sql_text("geodesic_distance"),
                        {"a": [psycopg2.Binary(w) for w in shapely.to_wkb(ga)],
                         "b": [psycopg2.Binary(w) for w in shapely.to_wkb(gb)]})
            return np.array([r[0] for r in cur.fetchall()], dtype="float64")

    return exact


def _connect_like(conn):
    """A second connection to the same database as ``conn`` (same parameters and password)."""
    params = {k: v for k, v in conn.get_dsn_parameters().items() if v and k in (
        "host", "hostaddr", "port", "user", "dbname", "sslmode", "sslcert", "sslkey", "sslrootcert",
        "target_session_attrs", "options")}
    return psycopg2.connect(password=conn.info.password, **params)


class Neighbours:
    """The layers a scoring run reads (features to score and their context: settlements, enterprises...),
    loaded once through the run's DatabaseWorker and shared by the classes.

    Without a background worker every load runs at once on ``conn``.  With one, loads are queued in order with
    the run's writes, and exact distances use a second connection of their own (they read no table), so a
    search never waits behind a write."""

    def __init__(self, conn, model: dict, worker: DatabaseWorker | None = None, metric: LocalMetric | None = None):
        self.conn = conn
        self.ctx = model["context"]
        self.metric = metric
        self.worker = worker or DatabaseWorker(conn, background=False)
        self._exact_conn = None
        self.exact = postgis_exact(conn) if not self.worker.background else self._exact_elsewhere
        self.major_hazard: pd.Series | None = None  # enterprises scored in this run (index feature_id)
        self._cache: dict = {}
        self._lock = threading.Lock()  # scoring threads share this object

    def _exact_elsewhere(self, ga: np.ndarray, gb: np.ndarray) -> np.ndarray:
        with self._lock:
            if self._exact_conn is None:
                self._exact_conn = _connect_like(self.conn)
                self._exact_conn.autocommit = True
        return postgis_exact(self._exact_conn)(ga, gb)

    def close(self) -> None:
        if self._exact_conn is not None:
            self._exact_conn.close()
            self._exact_conn = None

    def release(self, keep: list[str] | tuple = ()) -> None:
        """Let go of the layers loaded (a full run's, once nothing more reads them), but those named in ``keep``;
        a later read loads them again."""
        with self._lock:
            kept = {key: v for key, v in self._cache.items() if (key[1] if key[0] in ("layer", "points") else key[0])
                    in keep}
            self._cache = kept

    def _params(self, name: str) -> dict:
        return {"persons_per_household": self.ctx["persons_per_household"]} if name == "settlement" else {}

    def prefetch(self, names: list[str]) -> None:
        """Queue the loading of whole layers now (a full run needs all of them)."""
        for name in names:
            if (name, None) not in self._cache:
                self._cache[(name, None)] = self.worker.submit(layer_frame, name, None, None, **self._params(name))

    def _load(self, name: str, box: list[float] | None) -> pd.DataFrame:
        full = self._cache.get((name, None))
        if full is not None:  # a full-extent copy serves every box
            return full.result()
        key = (name, None if box is None else repr(box))
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self.worker.submit(layer_frame, name, None, box, **self._params(name))
            future = self._cache[key]
        return future.result()

    def features(self, name: str, ids: list[int] | None) -> pd.DataFrame:
        """The features to score (a copy: the caller adds its context columns)."""
        if ids is None:
            return self._load(name, None).copy()
        return self.worker.call(layer_frame, name, ids)

    def major_hazards(self, ids: np.ndarray) -> np.ndarray:
        """Is each enterprise a GB 18218 major hazard?  This run's results where it scored them, else the stored
        ones (not stored: no)."""
        known = self.major_hazard if self.major_hazard is not None else pd.Series(dtype=bool)
        fresh = known.reindex(ids)
        missing = ids[fresh.isna().to_numpy()]
        if len(missing):
            stored = self.worker.call(query_frame, sql_text("major_hazards"), {"ids": missing.tolist()})
            fresh = fresh.fillna(pd.Series(stored["major_hazard"].to_numpy(dtype=bool),
                                           index=stored["feature_id"].to_numpy()).reindex(ids))
        return fresh.fillna(False).to_numpy(dtype=bool)

    def layer(self, name: str, box: list[float] | None) -> tuple[pd.DataFrame, Layer]:
        frame = self._load(name, box)
        key = ("layer", name, id(frame))
        if key not in self._cache:
            self._cache[key] = layer_geometries(frame)
        return frame, self._cache[key]

    def points(self, name: str, box: list[float] | None) -> tuple[pd.DataFrame, Layer]:
        """The layer's features as their points on surface (how settlements and venues count as targets)."""
        frame = self._load(name, box)
        key = ("points", name, id(frame))
        if key not in self._cache:
            self._cache[key] = Layer.points(frame["lon"].to_numpy(), frame["lat"].to_numpy())
        return frame, self._cache[key]

    def search(self, a: Layer, b: Layer, radius: float) -> Pairs:
        """Pairs of a and b within ``radius``, in one projection for the whole run (so the layers' projected
        coordinates and index trees are built once): centred on the first search's data."""
        with self._lock:
            if self.metric is None and len(a) and len(b):
                box = np.vstack([a.bounds(), b.bounds()])
                self.metric = LocalMetric.around(np.concatenate([box[:, 0], box[:, 2]]),
                                                 np.concatenate([box[:, 1], box[:, 3]]))
            metric = self.metric
        return search(a, b, radius, metric=metric, exact=self.exact)


def _sum(pairs_a: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    w = None if weights is None else np.nan_to_num(np.asarray(weights, dtype="float64"))
    return np.bincount(pairs_a, weights=w, minlength=n)


# ----- per class --------------------------------------------------------------------------------------------------

def enterprise_context(nb: Neighbours, ids: list[int] | None) -> pd.DataFrame:
    """People within the α ring (GB 18218, domain.md §1) outside the site: a settlement counts by its point on
    surface; one inside the site's polygon is not outside it."""
    r = float(nb.ctx["alpha_radius_m"])
    frame = nb.features("enterprise", ids)
    sites = layer_geometries(frame)
    s_frame, s_pts = nb.points("settlement", None if ids is None else grown_box(sites, r))
    pairs = nb.search(sites, s_pts, r)
    m = pairs.within(r)
    ia, ib = pairs.ia[m], pairs.ib[m]
    # a settlement inside the site does not count; a point site "contains" only its own position
    check = pairs.planar_m[m] == 0
    if not sites.is_point.all():
        check |= ~sites.is_point[ia]
    if check.any():
        k = np.flatnonzero(check)
        inside = k[shapely.intersects(sites.geoms[ia[k]], s_pts.geoms[ib[k]])]
        if len(inside):
            keep = np.ones(len(ia), dtype=bool)
            keep[inside] = False
            ia, ib = ia[keep], ib[keep]
    frame["people_500m"] = _sum(ia, len(frame), s_frame["people"].to_numpy()[ib])
    return frame.drop(columns=["wkb"])  # (lon, lat stay: where the areas count the feature)


def tailings_pond_context(nb: Neighbours, ids: list[int] | None) -> pd.DataFrame:
    """People and important facilities (venues) within the downstream radius of the dam (头顶库, domain.md §3):
    in the sector around the stored downstream direction, or the full circle when it is unknown."""
    r = float(nb.ctx["downstream_radius_m"])
    half = float(nb.ctx["sector_half_angle_deg"])
    frame = nb.features("tailings_pond", ids)
    ponds = layer_geometries(frame)
    box = None if ids is None else grown_box(ponds, r)
    direction = pd.to_numeric(frame["downstream_direction_deg"], errors="coerce").to_numpy(dtype="float64")
    cx, cy = frame["centroid_lon"].to_numpy(dtype="float64"), frame["centroid_lat"].to_numpy(dtype="float64")
    for name, column, weight in (("settlement", "downstream_people_1km", "people"),
                                 ("venue", "downstream_facilities_1km", None)):
        t_frame, t_pts = nb.points(name, box)
        pairs = nb.search(ponds, t_pts, r)
        m = pairs.within(r)
        ia, ib = pairs.ia[m], pairs.ib[m]
        keep = pairs.in_sector(cx, cy, direction, half, m)
        w = None if weight is None else t_frame[weight].to_numpy()[ib[keep]]
        frame[column] = _sum(ia[keep], len(frame), w)
    frame["downstream_facilities_1km"] = frame["downstream_facilities_1km"].astype("int64")
    frame["downstream_area"] = np.where(np.isnan(direction), "circle", "sector")
    return frame.drop(columns=["centroid_lon", "centroid_lat", "wkb"])


def pipeline_segment_context(nb: Neighbours, ids: list[int] | None) -> pd.DataFrame:
    """Along each segment (domain.md §4): households within the corridor of the segment and of its 2 km unit
    (GB 50251), 特定场所 within the impact distance and within the corridor (GB 32167), and enterprises in the
    zones of the Pipeline Protection Law (5 m, 50 m, 200 m)."""
    c = nb.ctx
    corridor, z5, z50 = float(c["corridor_m"]), float(c["zone_5_m"]), float(c["zone_50_m"])
    frame = nb.features("pipeline_segment", ids)
    segs, units = layer_geometries(frame, "wkb"), layer_geometries(frame, "unit_wkb")
    n = len(frame)
    impact = pd.to_numeric(frame["impact_m"], errors="coerce").to_numpy(dtype="float64")
    reach = max(corridor, float(np.nanmax(impact)) if n and np.isfinite(impact).any() else 0.0)
    box = None if ids is None else grown_box(units, max(reach, corridor))

    s_frame, s_pts = nb.points("settlement", box)
    hh, people = s_frame["households"].to_numpy(), s_frame["people"].to_numpy()
    tall = s_frame["buildings_4plus"].fillna(False).to_numpy(dtype=bool)
    pairs = nb.search(segs, s_pts, corridor)
    m = pairs.within(corridor)
    ia, ib = pairs.ia[m], pairs.ib[m]
    frame["households_200m"] = _sum(ia, n, hh[ib])
    frame["households_2km_unit"] = 0.0
    frame["buildings_4plus_200m"] = _sum(ia, n, tall[ib]) > 0
    frame["villages_50hh_200m"] = _sum(ia, n, np.nan_to_num(hh[ib]) >= 50).astype("int64")
    frame["population_200m"] = _sum(ia, n, people[ib])
    pairs = nb.search(units, s_pts, corridor)
    m = pairs.within(corridor)
    frame["households_2km_unit"] = _sum(pairs.ia[m], n, hh[pairs.ib[m]])

    v_frame, venues = nb.layer("venue", box)
    vtype = v_frame["venue_type"].to_numpy(dtype=object)
    kind_1 = np.isin(vtype, list(c["specific_sites_1"]))
    kind_2 = np.isin(vtype, list(c["specific_sites_2"]))
    pairs = nb.search(segs, venues, reach)
    ia, ib = pairs.ia, pairs.ib
    in_pir, in_corr = pairs.within(impact[ia]), pairs.within(corridor)
    for column, kind, zone in (("specific_sites_1_pir", kind_1, in_pir), ("specific_sites_2_pir", kind_2, in_pir),
                               ("specific_sites_1_200m", kind_1, in_corr),
                               ("specific_sites_2_200m", kind_2, in_corr)):
        sel = zone & kind[ib]
        frame[column] = _sum(ia[sel], n).astype("int64")

    e_frame, ents = nb.layer("enterprise", box)
    industry = e_frame["industry"].to_numpy(dtype=object)
    status = e_frame["status"].to_numpy(dtype=object)
    pairs = nb.search(segs, ents, corridor)
    ia, ib = pairs.ia, pairs.ib
    w5, w50, w200 = pairs.within(z5), pairs.within(z50), pairs.within(corridor)
    fuel = np.isin(industry, list(c["fuel_site_industries"]))
    flammable = np.isin(industry, list(c["flammable_site_industries"]))
    for column, sel in (("fuel_sites_200m", w200 & fuel[ib]), ("flammable_sites_50m", w50 & flammable[ib]),
                        ("enterprises_5m", w5), ("enterprises_50m", w50), ("enterprises_200m", w200),
                        ("construction_200m", w200 & (status[ib] == "under_construction")),
                        ("mining_200m", w200 & (industry[ib] == "mining"))):
        frame[column] = _sum(ia[sel], n).astype("int64")
    mid = shapely.line_interpolate_point(segs.geoms, 0.5, normalized=True)  # where the areas count a segment
    frame["lon"], frame["lat"] = shapely.get_x(mid), shapely.get_y(mid)
    return frame.drop(columns=["wkb", "unit_wkb"])


def venue_context(nb: Neighbours, ids: list[int] | None, max_impact_m: float) -> pd.DataFrame:
    """Hazards around each venue (domain.md §5): GB 18218 major-hazard enterprises (as scored) and enterprises of
    hazardous industries within the hazard radius, and pipeline segments whose impact distance reaches it."""
    c = nb.ctx
    r = float(c["venue_hazard_radius_m"])
    frame = nb.features("venue", ids)
    venues = layer_geometries(frame)
    n = len(frame)
    box = None if ids is None else grown_box(venues, max(r, max_impact_m))

    e_frame, ents = nb.layer("enterprise", box)
    major = nb.major_hazards(e_frame["feature_id"].to_numpy())
    hazardous = np.isin(e_frame["industry"].to_numpy(dtype=object), list(c["hazardous_industries"]))
    pairs = nb.search(venues, ents, r)
    m = pairs.within(r)
    ia, ib = pairs.ia[m], pairs.ib[m]
    frame["major_hazards_500m"] = _sum(ia[major[ib]], n).astype("int64")
    frame["hazardous_sites_500m"] = _sum(ia[hazardous[ib]], n).astype("int64")

    g_frame, segs = nb.layer("pipeline_segment", box)
    impact = pd.to_numeric(g_frame["impact_m"], errors="coerce").fillna(max_impact_m).to_numpy(dtype="float64")
    pairs = nb.search(venues, segs, max(max_impact_m, 0.0))
    m = pairs.within(impact[pairs.ib])
    frame["pipelines_in_impact_radius"] = _sum(pairs.ia[m], n).astype("int64")
    return frame.drop(columns=["wkb"])


def context_frame(nb: Neighbours, kind: str, ids: list[int] | None, max_impact_m: float = 0.0) -> pd.DataFrame:
    """The rule input of ``kind`` (enterprise, tailings_pond, pipeline_segment, venue) for ``ids`` (all: None)."""
    if kind == "enterprise":
        return enterprise_context(nb, ids)
    if kind == "tailings_pond":
        return tailings_pond_context(nb, ids)
    if kind == "pipeline_segment":
        return pipeline_segment_context(nb, ids)
    if kind == "venue":
        return venue_context(nb, ids, max_impact_m)
    raise ValueError(f"no spatial context for {kind!r}")
