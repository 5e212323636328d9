"""Benchmark: the road travel-time matrix of a plan (issue 17, part 2), riskmap's against pgRouting's.

    python bench/plan/roadmatrix.py [--sizes 500,2000] [--runs 3] [--osm] [--rebuild]

Data: the scored demo (``riskmap demo --no-serve``: Tangshan) in an embedded cluster of the bench's own
($TMPDIR/riskmap-bench-roads/cluster, built when missing), and a synthetic road network over the whole demo region
stored by `riskmap roads import` (geo/roads.py): 151 x 151 junctions 0.012 x 0.0105 degrees apart (45,300 edges,
22,801 nodes), rows primary every fifth else residential, columns secondary every fifth else tertiary, every
seventh column one-way (alternately north and south).  The plan: 16 teams leaving the region's centre, over the
N worst sites of the whole region (geo/planning/plan.py candidate_sites; N = 500 and 2,000: about 500 and 2,000
road nodes).

Timed, for each N: riskmap's RoadTravel (nearest nodes, then the matrix by the engine for the plan's size:
RoutingKit's contraction hierarchy when scipy's searches would settle CCH_FROM nodes or more (plan nodes x graph
nodes), else scipy's Dijkstra from each plan node:
geo/planning/roads.py) in one process, cold (the network's graph read from the database, the hierarchy ordered and
customized) and warm (both kept from an earlier plan over the same network), and cold with its queries shared
among as many processes as CPUs (as plans of CCH_PARALLEL_FROM road nodes or more run), ``--runs`` times each,
medians, with the cold path's steps (RoadTravel.seconds: the graph read, the nearest nodes, the hierarchy, the
searches, the matrix assembled); scipy's Dijkstra alone (the engine before the hierarchy), cold, in one process,
in the same runs; and the baseline, the method before all this: the same nearest nodes and pgRouting's
pgr_dijkstraCostMatrix over the same edges (road_cost_matrix.sql), once (2,000 sites take a minute or more).  The
matrices are compared: every pair's hours equal pgRouting's to RoadTravel.error_h (the hierarchy's rounding,
half its unit per edge of a path; 1e-9 h for scipy's).  Then the paths of a tour through the points (legs
between neighbours, as a plan's routes join its sites) are drawn (RoadTravel.legs), and their searches, bounded
by each leg's hours, are timed against full searches from the same sources (the method before) in the same run:
the paths' hours equal.
Goal: the cold matrix of 2,000 sites (and of 2,000 points over the OpenStreetMap extract) at least 10 times faster
than pgRouting's, and under 10 s (told for one process and for several).

``--osm``: the same on a real street network, the OpenStreetMap extract of central Helsinki in tests/geo/osm/
(read by GDAL's OSM driver through `riskmap roads import --layer lines`; 2,000 points drawn uniformly over it).
It stays in the bench's cluster afterwards only until the next run, which imports the grid again.

The machine is shared: run it when it is otherwise idle (and under nice when it is not).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.demo_cluster import demo_cluster  # noqa: E402

HERE = Path(tempfile.gettempdir()) / "riskmap-bench-roads"
OSM = ROOT / "tests" / "geo" / "osm" / "helsinki.osm.pbf"
GRID = 151
STEP = (0.012, 0.0105)
GOAL_RATIO, GOAL_SECONDS = 10.0, 10.0


def prepare(rebuild: bool) -> str:
    """The bench's cluster started and holding the scored demo, with pgRouting; returns the database URL."""
    from geo.planning.roads import ensure_pgrouting

    return demo_cluster(HERE, rebuild, ready=ensure_pgrouting)


def grid_file(conn) -> Path:
    """The synthetic grid over the demo region as a GeoJSON road file."""
    with conn.cursor() as cur:
        cur.execute("SELECT ST_XMin(e), ST_YMin(e) FROM (SELECT ST_Extent(geom) AS e FROM area) x")
        x0, y0 = cur.fetchone()
    xs = [round(x0 + STEP[0] * i, 6) for i in range(GRID)]
    ys = [round(y0 + STEP[1] * j, 6) for j in range(GRID)]
    feats = []
    for j, y in enumerate(ys):
        feats.append({"type": "Feature", "properties": {"highway": "primary" if j % 5 == 0 else "residential"},
                      "geometry": {"type": "LineString", "coordinates": [[x, y] for x in xs]}})
    for i, x in enumerate(xs):
        props = {"highway": "secondary" if i % 5 == 0 else "tertiary"}
        if i % 7 == 3:
            props["oneway"] = "yes" if i % 14 == 3 else "-1"
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "LineString", "coordinates": [[x, y] for y in ys]}})
    path = HERE / "grid.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def cpu_seconds(conn) -> float:
    """CPU seconds (user and system) used so far by this process, its finished children (the searches' worker
    processes) and the connection's server process (pgRouting runs there; read from /proc: the bench's cluster
    runs on this machine).  On a shared machine a process's wall time depends on the others; its CPU time much
    less."""
    fields = Path(f"/proc/{conn.info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    t = os.times()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + t.user + t.system + t.children_user \
        + t.children_system


def pgrouting_hours(conn, road) -> np.ndarray:
    """The baseline: the points' hours as before this change (the same nearest nodes and access ways, the road
    part from pgRouting's cost matrix over the same edges)."""
    from geo.planning.roads import _great_circle_matrix, _sql, edges_around

    nodes = sorted(set(road.node))
    at = {n: k for k, n in enumerate(nodes)}
    matrix = np.full((len(nodes), len(nodes)), np.inf)
    np.fill_diagonal(matrix, 0.0)
    with conn.cursor() as cur:
        cur.execute(_sql("road_cost_matrix"), {"nodes": nodes, "edges": edges_around(road.points)})
        for a, b, hours in cur.fetchall():
            matrix[at[a], at[b]] = hours
    k = np.array([at[n] for n in road.node])
    access = np.array(road.access_km) / road.speed
    hours = access[:, None] + matrix[np.ix_(k, k)] + access[None, :]
    same = k[:, None] == k[None, :]
    hours = np.where(same, _great_circle_matrix(road.points) * road.circuity / road.speed, hours)
    np.fill_diagonal(hours, 0.0)
    return hours


def tour_legs(points: list) -> list:
    """Legs as a plan's routes join its sites: the points in strips of 0.05 degrees of latitude, each strip walked
    west to east and the next back (one long tour), every point to the next."""
    order = sorted(points, key=lambda p: (int(p[1] // 0.05), p[0] if int(p[1] // 0.05) % 2 == 0 else -p[0]))
    return list(zip(order[:-1], order[1:], strict=True))


def paths_unbounded(arcs, pairs: dict) -> dict:
    """The baseline for the legs' paths: the method before this change, a full search (scipy's Dijkstra with
    predecessors over the whole graph, 64 sources a call) from each source, each path walked back from its
    predecessors (as Arcs.paths walks them); returns each pair's path hours."""
    from scipy.sparse.csgraph import dijkstra

    by_source: dict[int, list[int]] = {}
    for s, t in pairs:
        by_source.setdefault(s, []).append(t)
    sources, out = sorted(by_source), {}
    for lo in range(0, len(sources), 64):
        chunk = sources[lo:lo + 64]
        dist, pred = dijkstra(arcs.csr, directed=True, indices=chunk, return_predecessors=True)
        for row, s in enumerate(chunk):
            for t in by_source[s]:
                walk = [t]
                while walk[-1] != s and walk[-1] >= 0:
                    walk.append(int(pred[row, walk[-1]]))
                if walk[-1] == s:
                    out[(s, t)] = float(dist[row, t])
    return out


def path_hours(arcs, path: list) -> float:
    """The hours of a path of (edge index, forward) arcs, summed in order."""
    if not hasattr(arcs, "_bench_cost"):
        arcs._bench_cost = dict(zip(zip(arcs.edge.tolist(), arcs.forward.tolist(), strict=True),
                                    arcs.csr.data.tolist(), strict=True))
    hours = 0.0
    for arc in path:
        hours += arcs._bench_cost[arc]
    return hours


def compare(case: str, conn, points: list, runs: int) -> dict:
    from geo.planning import roads

    def ours(cold: bool, workers: int, scipy: bool = False):
        if cold:
            roads._graphs.clear()
        cch_from = roads.CCH_FROM
        roads.CCH_FROM = 10**18 if scipy else cch_from
        try:
            c0, t0 = cpu_seconds(conn), time.perf_counter()
            road = roads.RoadTravel(conn, points, 40.0, 1.3, workers=workers)
            return time.perf_counter() - t0, cpu_seconds(conn) - c0, road
        finally:
            roads.CCH_FROM = cch_from

    cold, warm, parallel, steps, cold_cpu, parallel_cpu, alone, alone_cpu = [], [], [], [], [], [], [], []
    workers = roads.default_workers()
    for _ in range(runs):
        s, cpu, exact = ours(True, 1, scipy=True)
        alone.append(s)
        alone_cpu.append(cpu)
        s, cpu, road = ours(True, 1)
        cold.append(s)
        cold_cpu.append(cpu)
        steps.append(road.seconds)
        s, _, road = ours(False, 1)
        warm.append(s)
        s, cpu, fanned = ours(True, workers)
        parallel.append(s)
        parallel_cpu.append(cpu)
    c0, t0 = cpu_seconds(conn), time.perf_counter()
    ref = pgrouting_hours(conn, road)
    base, base_cpu = time.perf_counter() - t0, cpu_seconds(conn) - c0
    got = np.asarray(road.table.hours)  # rows and columns in road.points' order, as ref's
    assert np.array_equal(got, np.asarray(fanned.table.hours))
    same_inf = bool((np.isinf(got) == np.isinf(ref)).all())
    finite = np.isfinite(ref)
    diff = float(np.abs(got[finite] - ref[finite]).max()) if finite.any() else 0.0
    exact_h = np.asarray(exact.table.hours)
    exact_diff = float(np.abs(exact_h[finite] - ref[finite]).max()) if finite.any() else 0.0
    same_inf = same_inf and bool((np.isinf(exact_h) == np.isinf(ref)).all())
    # the legs' paths: a tour's legs drawn (legs(): searches bounded by each leg's hours, then the lines from the
    # database); the searches alone against full searches from the same sources (the method before)
    legs = tour_legs(road.points)
    t0 = time.perf_counter()
    road.legs(legs)
    paths_s = time.perf_counter() - t0
    index, vertex = road.table.index, road._vertex
    pairs = {(vertex[road.node[index[a]]], vertex[road.node[index[b]]]) for a, b in legs
             if road.node[index[a]] != road.node[index[b]]}
    pairs = {p for p in pairs if min(p) >= 0}
    at = {n: i for i, n in enumerate(road._nodes.tolist())}
    hours = {p: float(road._road[at[int(road.graph.node_id[p[0]])], at[int(road.graph.node_id[p[1]])]])
             for p in pairs}
    t0 = time.perf_counter()
    bounded = road.arcs.paths(hours, slack_h=road.error_h)
    searches_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = paths_unbounded(road.arcs, pairs)
    searches_base = time.perf_counter() - t0
    assert set(bounded) == set(full), "the bounded searches found paths for other legs than the full searches"
    path_diff = max((abs(path_hours(road.arcs, bounded[p]) - h) for p, h in full.items()), default=0.0)
    row = {"case": case, "points": len(road.points), "nodes": len(set(road.node)), "cold_s": statistics.median(cold),
           "warm_s": statistics.median(warm), "parallel_s": statistics.median(parallel), "workers": workers,
           "pgrouting_s": base, "max_diff_h": diff, "same_unreachable": same_inf,
           "unreachable_pairs": int((~finite).sum()),
           "steps": {k: statistics.median(s[k] for s in steps) for k in steps[0]},
           "legs": len(legs), "paths_s": paths_s, "path_searches_s": searches_s, "path_searches_full_s": searches_base,
           "path_diff_h": path_diff, "cold_cpu_s": statistics.median(cold_cpu),
           "parallel_cpu_s": statistics.median(parallel_cpu), "pgrouting_cpu_s": base_cpu,
           "engine": road.engine, "error_h": road.error_h, "exact_diff_h": exact_diff,
           "unit_h": road.arcs.metric().unit_h if road.engine == "cch" else 0.0,
           "scipy_s": statistics.median(alone), "scipy_cpu_s": statistics.median(alone_cpu)}
    row["ratio_cpu"] = base_cpu / row["cold_cpu_s"]
    row["ratio_cold"] = base / row["cold_s"]
    row["ratio_warm"] = base / row["warm_s"]
    row["ratio_parallel"] = base / row["parallel_s"]
    row["ratio_scipy"] = row["scipy_s"] / row["cold_s"]
    row["ratio_scipy_cpu"] = row["scipy_cpu_s"] / row["cold_cpu_s"]
    print(f"{case}: {row['points']:,} points at {row['nodes']:,} road nodes: riskmap {row['cold_s']:.2f} s cold "
          f"(runs {', '.join(f'{s:.2f}' for s in cold)}), {row['warm_s']:.2f} s warm "
          f"(runs {', '.join(f'{s:.2f}' for s in warm)}), {row['parallel_s']:.2f} s cold in {workers} processes "
          f"(runs {', '.join(f'{s:.2f}' for s in parallel)}); pgRouting {base:.2f} s: {row['ratio_cold']:.1f}x "
          f"cold, {row['ratio_warm']:.1f}x warm, {row['ratio_parallel']:.1f}x in {workers} processes; "
          f"max |difference| {diff:.1e} h ({diff * 3600:.1e} s; engine {road.engine}, unit {row['unit_h']:.2e} h, "
          f"tolerance {road.error_h:.1e} h), unreachable pairs "
          f"{row['unreachable_pairs']:,} ({'the same' if same_inf else 'NOT the same'})", flush=True)
    print(f"  scipy's Dijkstra alone (the engine before), cold: {row['scipy_s']:.2f} s (runs "
          f"{', '.join(f'{s:.2f}' for s in alone)}), CPU {row['scipy_cpu_s']:.2f} s: riskmap's engine "
          f"{row['ratio_scipy']:.1f}x in wall time, {row['ratio_scipy_cpu']:.1f}x in CPU; its max |difference| "
          f"{exact_diff:.1e} h", flush=True)
    print(f"  CPU seconds (this process, its workers and the database's): riskmap {row['cold_cpu_s']:.2f} cold "
          f"(runs {', '.join(f'{c:.2f}' for c in cold_cpu)}), {row['parallel_cpu_s']:.2f} in {workers} processes; "
          f"pgRouting {base_cpu:.2f}: {row['ratio_cpu']:.1f}x", flush=True)
    print("  cold steps (medians): " + ", ".join(f"{k} {v:.3f} s" for k, v in row["steps"].items()), flush=True)
    print(f"  a tour's {len(legs):,} legs drawn: {paths_s:.2f} s (legs(): bounded searches, lines from the "
          f"database); the searches alone {searches_s:.2f} s, full searches from the same sources (before) "
          f"{searches_base:.2f} s ({searches_base / max(searches_s, 1e-9):.0f}x); path hours equal to "
          f"{path_diff:.1e} h", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500,2000", help="plans of the N worst sites of the region (comma-separated)")
    ap.add_argument("--runs", type=int, default=3, help="riskmap's runs per case (medians)")
    ap.add_argument("--osm", action="store_true", help="also the OpenStreetMap extract of central Helsinki")
    ap.add_argument("--rebuild", action="store_true", help="build the bench's demo database again")
    args = ap.parse_args()

    from geo import store
    from geo.planning.plan import PlanRequest, candidate_sites, plan_points
    from geo.roads import import_roads

    url = prepare(args.rebuild)
    conn = store.connect(url)
    conn.autocommit = True
    print(f"riskmap bench/plan/roadmatrix.py, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    t0 = time.perf_counter()
    got = import_roads(conn, grid_file(conn))
    print(f"grid: {got['edges']:,} edges, {got['nodes']:,} nodes (riskmap roads import: "
          f"{time.perf_counter() - t0:.1f} s)", flush=True)
    with conn.cursor() as cur:
        cur.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Collect(geom)) AS c FROM area) x")
        base = cur.fetchone()
    rows = []
    for n in (int(v) for v in args.sizes.split(",")):
        req = PlanRequest(teams=16, days=5, bases=(base,), min_level="blue", max_sites=n, time_limit_s=1)
        points = plan_points(req, candidate_sites(conn, req))
        rows.append(compare(f"grid, {n:,} worst sites", conn, points, args.runs))
    if args.osm:
        t0 = time.perf_counter()
        got = import_roads(conn, OSM, layer="lines")
        print(f"OpenStreetMap, central Helsinki: {got['edges']:,} edges, {got['nodes']:,} nodes "
              f"(riskmap roads import: {time.perf_counter() - t0:.1f} s)", flush=True)
        with conn.cursor() as cur:
            cur.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                        "FROM (SELECT ST_Extent(geom) AS e FROM road_edge) x")
            x0, y0, x1, y1 = cur.fetchone()
        rng = np.random.default_rng(17)
        points = list(zip(rng.uniform(x0, x1, 2000).tolist(), rng.uniform(y0, y1, 2000).tolist(), strict=True))
        rows.append(compare("OpenStreetMap Helsinki, 2,000 points", conn, points, args.runs))
    conn.close()
    print()
    print("| case | points | road nodes | engine | riskmap, cold | riskmap, warm | riskmap, cold, processes | scipy "
          "alone, cold | pgRouting | ratio (cold) | ratio (processes) | CPU s: riskmap cold / scipy / pgRouting "
          "(ratio to pgRouting) | max difference / tolerance |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['points']:,} | {r['nodes']:,} | {r['engine']} | {r['cold_s']:.2f} s | "
              f"{r['warm_s']:.2f} s | {r['parallel_s']:.2f} s ({r['workers']}) | {r['scipy_s']:.2f} s | "
              f"{r['pgrouting_s']:.1f} s | {r['ratio_cold']:.1f}x | {r['ratio_parallel']:.1f}x | "
              f"{r['cold_cpu_s']:.2f} / {r['scipy_cpu_s']:.2f} / {r['pgrouting_cpu_s']:.1f} ({r['ratio_cpu']:.1f}x) | "
              f"{r['max_diff_h'] * 3600:.1e} s / {r['error_h'] * 3600:.1e} s"
              f"{'' if r['same_unreachable'] and r['max_diff_h'] <= r['error_h'] + 1e-9 else ' NOT EQUAL'} |")
    print()
    print("| case | graph read | nearest nodes | hierarchy | searches | matrix | legs drawn (legs) | their searches | "
          "full searches (before) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        st = r["steps"]
        print(f"| {r['case']} | {st['graph']:.3f} s | {st['nearest nodes']:.3f} s | {st['hierarchy']:.2f} s | "
              f"{st['searches']:.2f} s | "
              f"{st['matrix']:.3f} s | {r['paths_s']:.2f} s ({r['legs']:,}) | {r['path_searches_s']:.2f} s | "
              f"{r['path_searches_full_s']:.2f} s |")
    big = [r for r in rows if r["points"] >= 2000]
    for r in big:
        for how, s, ratio in (("one process", r["cold_s"], r["ratio_cold"]),
                              (f"{r['workers']} processes", r["parallel_s"], r["ratio_parallel"])):
            ok = ratio >= GOAL_RATIO and s < GOAL_SECONDS
            print(f"goal ({r['case']}: >= {GOAL_RATIO:g}x pgRouting and < {GOAL_SECONDS:g} s), {how}: "
                  f"{'met' if ok else 'NOT met'} ({ratio:.1f}x, {s:.2f} s)")
    if any(not r["same_unreachable"] or r["max_diff_h"] > r["error_h"] + 1e-9 or r["exact_diff_h"] >= 1e-9
           for r in rows):
        sys.exit("the matrices differ from pgRouting's")
    if any(r["path_diff_h"] >= 1e-9 for r in rows):
        sys.exit("the legs' paths differ in hours from the full searches'")


if __name__ == "__main__":
    main()
