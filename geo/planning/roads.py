"""Travel times for plans from the stored road network (geo/roads.py).

Each point (a base, a site) joins the network at its nearest road node (a k-d tree over the nodes, the distance
geodesic on WGS 84, as PostGIS's KNN and geography distance give them: road_snap.sql, checked in the tests); the
way from the point to that node is driven at the teams' speed over that distance times the circuity factor.
Paths are searched over the roads around the plan's points (edges_around), not a whole province's network.
Between nodes, the fastest paths' hours come from a search over the stored edges as a directed graph (one-way
roads honoured), instead of pgRouting's cost matrix (tests/geo/test_roads.py checks them against it); the graph is
read once per version of the network (as packed binary arrays) and kept.  Two engines, chosen by the plan's size:

- plans whose searches would settle CCH_FROM nodes or more (plan nodes x graph nodes): RoutingKit's
  customizable contraction hierarchies (routingkit-cch), a one-to-many query from each plan node to all of them
  pinned.  The nodes' order (inertial nested dissection over their coordinates) and the hierarchy are built
  once per network version and kept with the graph; the weights (customization) once per set of edges searched.
  RoutingKit's weights are 32-bit unsigned integers and a distance of 2^31 - 1 (its inf_weight) or more means
  "no path", so the hours are counted in the finest unit for which the longest fastest path the graph can hold
  stays below it (longest_path_bound: a proven bound, about twice the network's diameter); on the demo region's
  grid that unit is 2.0e-5 s.  Each arc's hours are rounded to a whole number of units, so a path's hours are off
  by at most half a unit per edge on it: at most ``(graph nodes - 1) x unit / 2`` (Metric.error_h; 0.23 s on
  that grid, 1.3 ms the largest difference from pgRouting measured there: well under a second, plans being shown
  to the minute).
- smaller plans: Dijkstra's algorithm (scipy.sparse.csgraph) from each plan node, only the plan's columns kept,
  the hours exactly pgRouting's (building a hierarchy costs about as much as 200 such searches, and over a
  city's network of a thousand nodes scipy's searches are as fast as the hierarchy's queries).

Large plans share the queries among forked processes.  Two points at the same node are joined directly.  Pairs no
road joins get an infinite time (both engines: the same pairs), so no plan uses them.  The legs a plan uses are
drawn along a fastest path found afterwards by scipy's Dijkstra (exact hours, with predecessors, which the
hierarchy's one-to-many queries do not give), from each leg's first node, by a search that stops beyond the
leg's hours (a plan joins near sites: a few nodes settled instead of the whole network); its hours are the
table's (to the unit's rounding when the hierarchy gave them).

Other engines measured on the same graph (docs/benchmarks.md, "Road travel times"): python-igraph's and
networkit's Dijkstra and edsger's were no faster than scipy's; contraction hierarchies in float (gravel's) took
longer to build on the grid than scipy takes for the whole matrix and answer pairs one at a time.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from importlib import resources

import numpy as np
import psycopg2
import routingkit_cch
from pyproj import Geod
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geo.errors import PlanningError
from geo.planning.instance import EARTH_RADIUS_KM, TravelTable

_WGS84 = Geod(ellps="WGS84")  # geography's ellipsoid (SRID 4326), as PostGIS measures ST_Distance on it


def _sql(name: str) -> str:
    return resources.files("geo.planning").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def network_size(conn) -> int:
    """Road edges stored (0: no network)."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM road_edge")
        return cur.fetchone()[0]


def ensure_pgrouting(conn) -> None:
    """Create the pgrouting extension if it is missing (PlanningError when the server does not have it)."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgrouting'")
        if cur.fetchone():
            return
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'")
        if cur.fetchone() is None:
            cur.execute("SHOW server_version_num")
            major = int(cur.fetchone()[0]) // 10000
            raise PlanningError(f"the database server has no pgRouting: install it there (on Debian, the package "
                                f"postgresql-{major}-pgrouting), or plan with travel=great_circle")
    try:
        with conn, conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    except psycopg2.errors.InsufficientPrivilege:
        raise PlanningError("pgRouting is installed on the server but not in this database, and this user may not "
                            "create it: ask an administrator for CREATE EXTENSION pgrouting") from None


def _great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _great_circle_matrix(points: list[tuple[float, float]]) -> np.ndarray:
    p = np.radians(np.asarray(points, dtype=np.float64))
    lon, lat = p[:, 0], p[:, 1]
    h = (np.sin((lat[None, :] - lat[:, None]) / 2) ** 2
         + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin((lon[None, :] - lon[:, None]) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def _great_circle_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The great-circle km between each point of ``a`` and the point of ``b`` in the same row (as
    _great_circle_matrix does for every pair)."""
    lon1, lat1, lon2, lat2 = (np.radians(c) for c in (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))


MARGIN_DEG = 0.2  # the network searched reaches this far (about 20 km) beyond the plan's points, at least


def box_around(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """The box of the roads searched for the points (xmin, ymin, xmax, ymax): their box grown by a fifth of its
    size and at least MARGIN_DEG (a path leaving that box is very unlikely to be the fastest; a province's network
    stays out of a county's plan)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx = max(MARGIN_DEG, 0.2 * (max(xs) - min(xs)))
    my = max(MARGIN_DEG, 0.2 * (max(ys) - min(ys)))
    return float(min(xs) - mx), float(min(ys) - my), float(max(xs) + mx), float(max(ys) + my)


def edges_around(points: list[tuple[float, float]]) -> str:
    """pgRouting's edge query for the roads around the points (box_around), as pgRouting would search them (the
    tests' and the benchmark's reference).  Composed from floats only."""
    box = ", ".join(repr(v) for v in box_around(points))
    return ("SELECT id, source, target, cost_h AS cost, reverse_cost_h AS reverse_cost FROM road_edge "
            f"WHERE geom && ST_MakeEnvelope({box}, 4326)")


SEARCH_CELLS = 1 << 22  # distances a call of scipy's Dijkstra returns at most (sources x graph nodes; 32 MB)
PARALLEL_FROM = 4_000_000  # searches of at least this many nodes (plan nodes x graph nodes) run in several
# processes: about half a second of searching on a busy machine, where starting the processes takes 0.05-0.1 s
# (a plan of 400 sites over the demo region's grid of 22,801 nodes; a city's OpenStreetMap extract of a thousand
# nodes never).
# The workers are forked: they start at once, with the graph and the modules already there, and only search
# (numpy and scipy on the arrays handed to them, results sent back through the pool's pipes), so that no lock of
# another thread of a server process is taken in them.
START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def default_workers() -> int:
    """Processes for a large plan's searches: the CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


CCH_FROM = 5_000_000  # plans whose searches would settle this many nodes or more (plan nodes x graph nodes)
# take their matrix from the contraction hierarchy: 220 plan nodes over the demo region's grid of 22,801 nodes, where
# building the hierarchy (0.5 s of CPU) costs about what scipy's searches cost; never over a city's extract of a
# thousand nodes, where scipy's searches take no longer than the hierarchy's queries (docs/benchmarks.md)
CCH_PARALLEL_FROM = 1000  # ... and share its queries among processes from this many (about 0.5 s of queries on
# the demo region's grid of 22,801 nodes, 0.5-0.8 ms each on a busy machine)
INF_WEIGHT = 2**31 - 1  # RoutingKit's inf_weight (routingkit/constants.h): a distance of it or more is "no path"
BOUND_SEARCHED_FROM = 64  # strongly connected pieces of this many nodes or more get a bound from two searches

_worker_graph = None  # in a worker process: the graph its searches run over (a CSR matrix or a Metric)


def _set_worker_graph(*graph) -> None:
    global _worker_graph
    if len(graph) == 1:
        _worker_graph = graph[0]  # a Metric, inherited through the fork
    else:
        data, indices, indptr, nodes = graph
        _worker_graph = csr_matrix((data, indices, indptr), shape=(nodes, nodes))


def longest_path_bound(csr: csr_matrix) -> float:
    """An upper bound of the hours of any fastest path in the directed graph ``csr`` (hours >= 0): a fastest path
    is simple, crosses the graph's strongly connected pieces in their order, each at most once, and leaves each
    piece by one arc, so its hours are at most the sum over the pieces of (the longest fastest path within the
    piece) + (the piece's longest arc leaving it).  Within a piece: for a piece of BOUND_SEARCHED_FROM nodes or
    more, d(s, t) <= d(s, r) + d(r, t) through any node r of it (a path from s to t stays within the piece), so the
    farthest node from r plus the farthest node to r (two searches within the piece); for smaller ones (and as a
    cap), a simple path takes at most one arc out of each node, so the sum of each node's longest arc within the
    piece."""
    n = csr.shape[0]
    if n == 0 or csr.nnz == 0:
        return 0.0
    pieces, label = connected_components(csr, directed=True, connection="strong")
    a = np.repeat(np.arange(n), np.diff(csr.indptr))
    b, w = csr.indices, csr.data
    inside = label[a] == label[b]
    leaving = np.zeros(pieces)
    np.maximum.at(leaving, label[a[~inside]], w[~inside])
    longest_out = np.zeros(n)
    np.maximum.at(longest_out, a[inside], w[inside])
    within = np.bincount(label, weights=longest_out, minlength=pieces)
    size = np.bincount(label, minlength=pieces)
    for piece in np.flatnonzero(size >= BOUND_SEARCHED_FROM):
        members = np.flatnonzero(label == piece)
        sub = csr[members][:, members]
        there = dijkstra(sub, directed=True, indices=0)
        back = dijkstra(sub.T.tocsr(), directed=True, indices=0)
        within[piece] = min(within[piece], float(there.max() + back.max()))
    return float(within.sum() + leaving.sum())


class Hierarchy:
    """RoutingKit's contraction hierarchy over a network's arcs (all of them: the same for any part of the network
    searched), its nodes ordered by inertial nested dissection over their coordinates: built once per network
    version (RoadGraph.hierarchy), without weights."""

    def __init__(self, key: np.ndarray, nodes: int, lon: np.ndarray, lat: np.ndarray):
        self.key, self.nodes = key, nodes
        tail, head = (key // max(nodes, 1)).tolist(), (key % max(nodes, 1)).tolist()
        order = routingkit_cch.compute_order_inertial(nodes, tail, head, lat.tolist(), lon.tolist())
        self.cch = routingkit_cch.CCH(order, tail, head, False)


class Metric:
    """A hierarchy customized with the hours of a set of arcs (Arcs), as integers: ``unit_h`` hours each, the
    finest unit in which the longest fastest path of these arcs (longest_path_bound), plus half a unit for each of
    its edges (the rounding), stays below RoutingKit's INF_WEIGHT; arcs of the hierarchy missing from the set get
    INF_WEIGHT (never used).  ``error_h``: how far a pair's hours may be from the exact ones: half a unit per edge
    of the path, and a path has fewer edges than the graph has nodes."""

    def __init__(self, hierarchy: Hierarchy, arcs: Arcs):
        nodes = arcs.nodes
        if nodes >= INF_WEIGHT // 2:
            raise PlanningError(f"travel: the road network has {nodes:,} nodes, more than its searches can count")
        bound = longest_path_bound(arcs.csr)
        self.unit_h = bound / (INF_WEIGHT - 1 - nodes) if bound > 0 else 1.0
        self.error_h = self.unit_h * max(nodes - 1, 0) / 2
        weights = np.full(len(hierarchy.key), INF_WEIGHT, dtype=np.int64)
        weights[np.searchsorted(hierarchy.key, arcs.key)] = np.rint(arcs.csr.data / self.unit_h).astype(np.int64)
        self.metric = routingkit_cch.CCHMetric(hierarchy.cch, weights.tolist())

    def rows(self, sources: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The hours from each of ``sources`` to each of ``at`` (infinite: no path), one query from each source to
        all of ``at`` pinned."""
        query = routingkit_cch.CCHOneToMany(self.metric, at.tolist())
        out = np.array([query.distances_from(s) for s in sources.tolist()], dtype=np.float64).reshape(
            len(sources), len(at))  # None (no path) -> NaN
        out *= self.unit_h
        out[np.isnan(out)] = np.inf
        return out


def _sources_at_once(nodes: int) -> int:
    """Searches run in one call of scipy's Dijkstra: each returns a row of a float per graph node, and only the
    plan's columns of them are kept."""
    return max(1, SEARCH_CELLS // max(nodes, 1))


def _search_rows(graph: csr_matrix | Metric | None, sources: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The fastest hours from each of ``sources`` to each of ``at`` (graph None: the worker's graph)."""
    graph = _worker_graph if graph is None else graph
    if isinstance(graph, Metric):
        return graph.rows(sources, at)
    out = np.empty((len(sources), len(at)))
    step = _sources_at_once(graph.shape[0])
    for lo in range(0, len(sources), step):
        out[lo:lo + step] = dijkstra(graph, directed=True, indices=sources[lo:lo + step])[:, at]
    return out


class Arcs:
    """A directed graph over the network's nodes: an arc for each direction an edge may be driven in (cost >= 0,
    as pgRouting reads cost and reverse_cost), the fastest edge kept where several join two nodes in the same
    direction.  ``csr``: the hours as a CSR matrix; ``edge``, ``forward``: each arc's edge (its index in the
    network's arrays) and whether it is driven from the edge's source to its target.  ``hierarchy``: a function
    giving the network's Hierarchy (built when first asked for), for large plans' matrices."""

    def __init__(self, u: np.ndarray, v: np.ndarray, cost: np.ndarray, reverse: np.ndarray, nodes: int,
                 keep: np.ndarray | None = None, hierarchy=None):
        keep = np.ones(len(u), dtype=bool) if keep is None else keep
        loop = u == v  # a loop never shortens a path
        fw, bw = np.flatnonzero(keep & ~loop & (cost >= 0)), np.flatnonzero(keep & ~loop & (reverse >= 0))
        a, b = np.r_[u[fw], v[bw]], np.r_[v[fw], u[bw]]
        w = np.r_[cost[fw], reverse[bw]]
        edge, forward = np.r_[fw, bw], np.r_[np.ones(len(fw), bool), np.zeros(len(bw), bool)]
        order = np.lexsort((w, b, a))
        a, b, w, edge, forward = a[order], b[order], w[order], edge[order], forward[order]
        first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])] if len(a) else np.zeros(0, bool)
        a, b, w, self.edge, self.forward = a[first], b[first], w[first], edge[first], forward[first]
        indptr = np.r_[0, np.cumsum(np.bincount(a, minlength=nodes))]
        # built from its arrays, so that zero-hour arcs stay arcs (explicit zeros)
        self.csr = csr_matrix((w.astype(np.float64), b.astype(np.int32), indptr.astype(np.int32)),
                              shape=(nodes, nodes))
        self.nodes = nodes
        self.key = a.astype(np.int64) * nodes + b  # sorted: (a, b) in order
        self._hierarchy, self._metric, self._metric_lock = hierarchy, None, threading.Lock()

    def engine(self, plan_nodes: int) -> str:
        """The engine of a matrix between ``plan_nodes`` nodes: "cch" (the hierarchy) when scipy's searches would
        settle CCH_FROM nodes or more, "dijkstra" (scipy) below or when there is no hierarchy."""
        return "cch" if self._hierarchy is not None and plan_nodes * self.nodes >= CCH_FROM else "dijkstra"

    def metric(self) -> Metric:
        """The hierarchy customized with these arcs' hours (built when first asked for, then kept)."""
        with self._metric_lock:
            if self._metric is None:
                self._metric = Metric(self._hierarchy(), self)
            return self._metric

    def hours(self, at: np.ndarray, workers: int = 1) -> np.ndarray:
        """The fastest hours between the graph nodes ``at`` (distinct indices), infinite where no path joins: by
        the engine for their number (engine()), a search or query from each, shared among ``workers`` processes
        (started for this call, the graph handed to each once) when they are many (PARALLEL_FROM nodes settled
        by scipy's searches, CCH_PARALLEL_FROM queries)."""
        at = np.asarray(at, dtype=np.int64)
        if self.engine(len(at)) == "cch":
            metric = self.metric()
            if workers <= 1 or len(at) < CCH_PARALLEL_FROM or START_METHOD != "fork":
                return metric.rows(at, at)
            graph = (metric,)  # inherited by the forked workers, never pickled
        else:
            if workers <= 1 or len(at) < 2 or len(at) * self.nodes < PARALLEL_FROM:
                return _search_rows(self.csr, at, at)
            graph = (self.csr.data, self.csr.indices, self.csr.indptr, self.nodes)
        parts = np.array_split(at, min(len(at), 4 * workers))  # a few parts each: one slow process waits less
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(START_METHOD),
                                 initializer=_set_worker_graph, initargs=graph) as pool:
            return np.vstack(list(pool.map(_search_rows, [None] * len(parts), parts, [at] * len(parts))))

    def paths(self, pairs: dict[tuple[int, int], float],
              slack_h: float = 0.0) -> dict[tuple[int, int], list[tuple[int, bool]]]:
        """The fastest path of each (source, target) pair of graph nodes, given with its hours (as hours() found
        them, at most ``slack_h`` below the exact ones: the hierarchy's rounding), as its arcs' (edge index,
        forward) in order; pairs no path joins are left out.  The search from a source stops beyond its farthest
        target (scipy's ``limit``): a plan's legs join near sites, so it settles a few nodes around them instead
        of the whole network (on a small network, one call searching it all from every source costs less than a
        call for each)."""
        by_source: dict[int, list[int]] = {}
        for (s, t), hours in pairs.items():
            if math.isfinite(hours):
                by_source.setdefault(s, []).append(t)
        out = {}
        sources = sorted(by_source)
        small = len(sources) * self.nodes <= SEARCH_CELLS  # a small network: full searches, all in one call
        if small and sources:
            preds = dijkstra(self.csr, directed=True, indices=sources, return_predecessors=True)[1]
        for row, s in enumerate(sources):
            targets = by_source[s]
            if small:
                pred = preds[row]
            else:
                reach = max(pairs[(s, t)] for t in targets)
                _, pred = dijkstra(self.csr, directed=True, indices=s, return_predecessors=True,
                                   limit=(reach + slack_h) * (1 + 1e-9) + 1e-12)  # the farthest is settled
            for t in targets:
                walk = [t]
                while walk[-1] != s and walk[-1] >= 0:
                    walk.append(int(pred[walk[-1]]))
                if walk[-1] != s:
                    continue  # no path
                walk.reverse()
                at = np.searchsorted(self.key, np.asarray(walk[:-1], np.int64) * self.nodes
                                     + np.asarray(walk[1:], np.int64))
                out[(s, t)] = list(zip(self.edge[at].tolist(), self.forward[at].tolist(), strict=True))
        return out


class RoadGraph:
    """The stored road network as arrays (read once per version of the network, see road_graph), its directed
    graph, and its nodes' coordinates for joining points to it (nearest)."""

    def __init__(self, ids, source, target, cost, reverse, length_m, extent, node_ids=(), lons=(), lats=()):
        order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")  # the edges by id (arcs' box lookup)
        self.edge_id = np.asarray(ids, dtype=np.int64)[order]
        ends = np.r_[np.asarray(source, dtype=np.int64)[order], np.asarray(target, dtype=np.int64)[order]]
        self.node_id, inverse = np.unique(ends, return_inverse=True)
        m = len(self.edge_id)
        self.u, self.v = inverse[:m], inverse[m:]
        self.cost = np.asarray(cost, dtype=np.float64)[order]
        self.reverse = np.asarray(reverse, dtype=np.float64)[order]
        self.length_m = np.asarray(length_m, dtype=np.float64)[order]
        self.extent = extent
        self.all = Arcs(self.u, self.v, self.cost, self.reverse, len(self.node_id), hierarchy=self.hierarchy)
        self.road_node = np.asarray(node_ids, dtype=np.int64)  # every stored road node, with or without edges
        self.road_node_xy = np.c_[np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)]
        self._tree: cKDTree | None = None
        self._tree_lock = threading.Lock()
        self._hierarchy: Hierarchy | None = None
        self._hierarchy_lock = threading.Lock()

    def hierarchy(self) -> Hierarchy:
        """The network's contraction hierarchy over all its arcs, its order from the nodes' coordinates (built when
        first asked for, then kept with the graph)."""
        with self._hierarchy_lock:
            if self._hierarchy is None:
                by_id = np.argsort(self.road_node)
                at = by_id[np.searchsorted(self.road_node, self.node_id, sorter=by_id)]
                if len(self.node_id) and not np.array_equal(self.road_node[at], self.node_id):
                    raise PlanningError("travel: an edge of the stored road network ends at a node missing from "
                                        "road_node (import the network again with `riskmap roads import FILE`)")
                xy = self.road_node_xy[at]
                self._hierarchy = Hierarchy(self.all.key, len(self.node_id), xy[:, 0], xy[:, 1])
            return self._hierarchy

    def nearest(self, points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Each point's nearest road node (the stored road_node ids) and the geodesic distance to it in metres, as
        road_snap.sql finds them in PostGIS (nearest in degrees as its KNN ``<->`` orders them, distance on the
        WGS 84 ellipsoid as geography's ST_Distance), from a k-d tree over the nodes kept with the graph."""
        if not len(self.road_node):
            raise PlanningError("travel: the stored road network has no nodes (load one with `riskmap roads import "
                                "FILE`)")
        with self._tree_lock:
            if self._tree is None:
                self._tree = cKDTree(self.road_node_xy)
        xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        _, k = self._tree.query(xy)
        _, _, metres = _WGS84.inv(xy[:, 0], xy[:, 1], self.road_node_xy[k, 0], self.road_node_xy[k, 1])
        return self.road_node[k], np.abs(np.asarray(metres, dtype=np.float64))

    def arcs(self, conn, box: tuple[float, float, float, float]) -> Arcs:
        """The graph of the edges whose box meets ``box`` (the whole network's when the box covers it)."""
        e = self.extent
        if e[0] is None or (box[0] < e[0] and box[1] < e[1] and box[2] > e[2] and box[3] > e[3]):
            return self.all
        with conn.cursor() as cur:
            cur.execute(_sql("road_edges_in_box"), dict(zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True)))
            ids = np.asarray(cur.fetchone()[0], dtype=np.int64)
        keep = np.zeros(len(self.edge_id), dtype=bool)
        keep[np.searchsorted(self.edge_id, ids)] = True
        return Arcs(self.u, self.v, self.cost, self.reverse, len(self.node_id), keep, hierarchy=self.hierarchy)

    def index(self, node_ids) -> np.ndarray:
        """Each road node's index in the graph (-1: a node no edge reaches)."""
        node_ids = np.asarray(node_ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.node_id, node_ids), max(len(self.node_id) - 1, 0))
        found = self.node_id[at] == node_ids if len(self.node_id) else np.zeros(len(node_ids), bool)
        return np.where(found, at, -1)


CACHED_NETWORKS = 2  # graphs kept (a server of a few databases, or a network and the one imported after it)
_graphs: dict[tuple, RoadGraph] = {}
_graphs_lock = threading.Lock()


def road_graph(conn) -> RoadGraph:
    """The stored network's graph, read from the database only when its version (road_network_version.sql) is not
    one of the graphs kept."""
    with conn.cursor() as cur:
        cur.execute(_sql("road_network_version"))
        version = (conn.info.host, conn.info.port, *cur.fetchone())
    with _graphs_lock:
        graph = _graphs.get(version)
    if graph is None:
        with conn.cursor() as cur:
            cur.execute(_sql("road_graph"))
            row = cur.fetchone()
        ints, floats = (lambda b: np.frombuffer(b, dtype=">i8")), (lambda b: np.frombuffer(b, dtype=">f8"))
        graph = RoadGraph(*map(ints, row[0:3]), *map(floats, row[3:6]), tuple(row[6:10]), ints(row[10]),
                          floats(row[11]), floats(row[12]))
        with _graphs_lock:
            _graphs[version] = graph
            while len(_graphs) > CACHED_NETWORKS:
                del _graphs[next(iter(_graphs))]
    return graph


class RoadTravel:
    """Hours (a TravelTable for the solver) and km between the points of a plan over the road network."""

    def __init__(self, conn, points: list[tuple[float, float]], speed_kmh: float, circuity: float,
                 workers: int | None = None):
        """``workers``: processes for the searches of a large plan (default_workers() when None).  ``seconds``
        tells how long each step took (the graph read or found kept, the nearest nodes, the hierarchy built or
        customized when the matrix comes from it and neither is kept yet, the searches, the matrix assembled; legs()
        adds the paths).  ``engine``: "cch" or "dijkstra" (Arcs.engine); ``error_h``: how far a road time may be
        from the exact fastest path's (0 for Dijkstra's, Metric.error_h for the hierarchy's)."""
        self.conn, self.speed, self.circuity = conn, speed_kmh, circuity
        self.seconds: dict[str, float] = {}
        clock = time.perf_counter()

        def step(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.seconds[name] = self.seconds.get(name, 0.0) + now - clock
            clock = now

        self.points = list(dict.fromkeys(points))
        self.graph = road_graph(conn)
        self.arcs = self.graph.arcs(conn, box_around(self.points))
        step("graph")
        node, metres = self.graph.nearest(self.points)
        self.node = node.tolist()
        self.access_km = (metres / 1000.0 * circuity).tolist()
        nodes, k = np.unique(node, return_inverse=True)  # the plan's road nodes; k: each point's among them
        vertex = self.graph.index(nodes)
        step("nearest nodes")
        reached = np.flatnonzero(vertex >= 0)
        self.engine = self.arcs.engine(len(reached))
        self.error_h = 0.0
        if self.engine == "cch":
            self.error_h = self.arcs.metric().error_h
        step("hierarchy")
        road = np.full((len(nodes), len(nodes)), np.inf)
        road[np.ix_(reached, reached)] = self.arcs.hours(vertex[reached],
                                                         default_workers() if workers is None else workers)
        np.fill_diagonal(road, 0.0)
        step("searches")
        self._road, self._nodes = road, nodes  # the road hours between the plan's nodes (for legs' paths)
        self._vertex = dict(zip(nodes.tolist(), vertex.tolist(), strict=True))
        access_h = metres / 1000.0 * circuity / speed_kmh
        hours = road[np.ix_(k, k)]
        hours += access_h[:, None]
        hours += access_h[None, :]
        # points sharing a node: joined directly (the great-circle way), not through the node
        i, j = np.nonzero(k[:, None] == k[None, :])
        if len(i) > len(k):
            p = np.asarray(self.points, dtype=np.float64)
            hours[i, j] = _great_circle_rows(p[i], p[j]) * circuity / speed_kmh
        np.fill_diagonal(hours, 0.0)
        self.table = TravelTable({p: i for i, p in enumerate(self.points)}, hours)
        self._paths: dict[tuple[int, int], tuple[float, list]] = {}
        step("matrix")

    def legs(self, legs: list[tuple[tuple[float, float], tuple[float, float]]]) -> dict:
        """For each leg (a, b): its km (the access ways plus the fastest road path's length) and its line (a, the
        road path with each edge in the direction driven, b) as [lon, lat] pairs: the path whose hours the table
        holds."""
        started = time.perf_counter()
        index = self.table.index
        pairs = sorted({(self.node[index[a]], self.node[index[b]]) for a, b in legs
                        if self.node[index[a]] != self.node[index[b]]} - set(self._paths))
        searched = [(s, t) for s, t in pairs if self._vertex[s] >= 0 and self._vertex[t] >= 0]
        at = {n: i for i, n in enumerate(self._nodes.tolist())}
        found = self.arcs.paths({(self._vertex[s], self._vertex[t]): float(self._road[at[s], at[t]])
                                 for s, t in searched}, slack_h=self.error_h)
        numbered = [(s, t) for s, t in searched if (self._vertex[s], self._vertex[t]) in found]
        leg_no, seq, edge, forward = [], [], [], []
        for n, (s, t) in enumerate(numbered):
            for k, (e, f) in enumerate(found[(self._vertex[s], self._vertex[t])]):
                leg_no.append(n), seq.append(k), edge.append(int(self.graph.edge_id[e])), forward.append(f)
        if numbered:
            with self.conn.cursor() as cur:
                cur.execute(_sql("road_path_lines"), {"legs": leg_no, "seqs": seq, "edges": edge, "forward": forward})
                for n, km, line in cur.fetchall():
                    self._paths[numbered[n]] = (float(km), json.loads(line)["coordinates"])
        out = {}
        for a, b in legs:
            i, j = index[a], index[b]
            if self.node[i] == self.node[j]:
                out[(a, b)] = (_great_circle_km(a, b) * self.circuity, [list(a), list(b)])
            else:
                km, line = self._paths.get((self.node[i], self.node[j]), (math.inf, []))
                out[(a, b)] = (self.access_km[i] + km + self.access_km[j], [list(a), *line, list(b)])
        self.seconds["paths"] = self.seconds.get("paths", 0.0) + time.perf_counter() - started
        return out
