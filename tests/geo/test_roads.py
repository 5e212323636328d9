"""The road network (geo/roads.py) and plans over it (geo/planning/roads.py, planner.py) in a real PostGIS with
pgRouting: ways split at shared vertices only, one-way roads, travel times equal to pgRouting's cost matrix (the
reference) on the test grid, on a part of it, across disconnected pieces and on an OpenStreetMap extract read by
GDAL, by both engines (scipy's Dijkstra: exactly; RoutingKit's contraction hierarchy: to its unit's rounding),
legs drawn along the paths whose times the plan used, km along them, the graph kept per network version, and the
errors."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo import store
from geo.errors import InputError, PlanningError
from geo.planning import roads as planning_roads
from geo.planning.instance import route_time
from geo.planning.plan import PlanRequest
from geo.planning.planner import make_plan
from geo.planning.roads import RoadTravel, box_around, edges_around, ensure_pgrouting, road_graph
from geo.roads import import_roads, other_tags, parse_oneway, parse_speed, split_at_junctions
from tests.api.conftest import demo_database

LUBEI = "130203"
HELSINKI = Path(__file__).parent / "osm" / "helsinki.osm.pbf"  # OpenStreetMap data, ODbL (osm/README.md)
XS = [round(118.05 + 0.01 * i, 6) for i in range(26)]
YS = [round(39.55 + 0.01 * j, 6) for j in range(21)]


def grid(tmp_path, extra=()) -> str:
    """A 26 x 21 grid of roads 0.01 degrees apart over Lubei: rows primary every fifth else residential,
    columns secondary every fifth else tertiary (one with maxspeed 60, one one-way), and a footway."""
    feats = []
    for j, y in enumerate(YS):
        feats.append({"type": "Feature", "properties": {"highway": "primary" if j % 5 == 0 else "residential"},
                      "geometry": {"type": "LineString", "coordinates": [[x, y] for x in XS]}})
    for i, x in enumerate(XS):
        props = {"highway": "secondary" if i % 5 == 0 else "tertiary"}
        if i == 10:
            props["maxspeed"] = "60"
        if i == 3:
            props["oneway"] = "yes"
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "LineString", "coordinates": [[x, y] for y in YS]}})
    feats.append({"type": "Feature", "properties": {"highway": "footway"},
                  "geometry": {"type": "LineString", "coordinates": [[XS[0], YS[0]], [XS[-1], YS[-1]]]}})
    feats += list(extra)
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return str(path)


@pytest.fixture(scope="module")
def roads_url(cluster, tmp_path_factory):
    """The scored demo with the grid of roads stored."""
    with demo_database(cluster) as url:
        c = store.connect(url)
        store.migrate(c)
        ensure_pgrouting(c)
        import_roads(c, grid(tmp_path_factory.mktemp("roads")))
        c.close()
        yield url


@pytest.fixture(params=["dijkstra", "cch"])
def engine(request, monkeypatch):
    """Each engine of the road matrix in turn, whatever the plan's size (RoadTravel picks the hierarchy when
    scipy's searches would settle CCH_FROM nodes or more)."""
    monkeypatch.setattr(planning_roads, "CCH_FROM", 0 if request.param == "cch" else 10**18)
    return request.param


@pytest.fixture(scope="module")
def conn(roads_url):
    c = store.connect(roads_url)
    c.autocommit = True
    yield c
    c.close()


def test_tags_speeds_and_directions():
    assert parse_speed("60") == 60 and parse_speed("50 km/h") == 50
    assert parse_speed("30 mph") == pytest.approx(48.28, 0.01)
    assert parse_speed("CN:urban") is None and parse_speed(None) is None and parse_speed("0") is None
    assert parse_oneway("yes", "primary") == 1 and parse_oneway("-1", None) == -1
    assert parse_oneway(None, "motorway") == 1
    assert parse_oneway("no", "motorway") == 0 and parse_oneway(None, "primary") == 0
    assert other_tags('"maxspeed"=>"80","oneway"=>"yes"') == {"maxspeed": "80", "oneway": "yes"}


def test_ways_split_where_they_share_a_vertex_not_where_they_cross():
    """Two ways through a shared vertex: four edges from five nodes.  A way crossing them with no vertex there
    (a bridge) stays one edge with its own two end nodes."""
    a = shapely.LineString([(0, 0), (1, 0), (2, 0)])
    b = shapely.LineString([(1, -1), (1, 0), (1, 1)])
    bridge = shapely.LineString([(0.5, -1), (0.5, 1)])
    edges, nodes = split_at_junctions([a, b, bridge])
    assert len(nodes) == 7 and len(edges) == 5
    centre = [i for i, xy in enumerate(nodes) if tuple(xy) == (1.0, 0.0)]
    assert len(centre) == 1 and sum(centre[0] in (s, t) for s, t, _, _ in edges) == 4
    assert [len(xy) for s, t, xy, w in edges if w == 2] == [2]


def test_import_stores_the_drivable_network(conn):
    """Every grid segment is an edge between neighbouring junctions (the footway is left out); lengths are
    geodesic; the one-way column cannot be driven backwards; maxspeed wins over the class speed."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM road_edge")
        assert cur.fetchone()[0] == 21 * 25 + 26 * 20
        cur.execute("SELECT count(*) FROM road_node")
        assert cur.fetchone()[0] == 26 * 21
        cur.execute("SELECT count(*) FROM road_edge WHERE highway = 'footway'")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT max(abs(length_m - ST_Length(geom::geography))) FROM road_edge")
        assert cur.fetchone()[0] < 1e-6
        cur.execute("SELECT DISTINCT reverse_cost_h FROM road_edge WHERE ST_X(ST_StartPoint(geom)) = %s "
                    "AND ST_X(ST_EndPoint(geom)) = %s", (XS[3], XS[3]))
        assert cur.fetchall() == [(-1.0,)]
        cur.execute("SELECT DISTINCT speed_kmh FROM road_edge WHERE ST_X(ST_StartPoint(geom)) = %s "
                    "AND ST_X(ST_EndPoint(geom)) = %s", (XS[10], XS[10]))
        assert cur.fetchall() == [(60.0,)]


def reference_hours(conn) -> tuple[np.ndarray, dict]:
    """All-pairs fastest hours over the stored edges by scipy's Dijkstra (independent of pgRouting)."""
    with conn.cursor() as cur:
        cur.execute("SELECT source, target, cost_h, reverse_cost_h FROM road_edge")
        rows = cur.fetchall()
    ids = sorted({r[0] for r in rows} | {r[1] for r in rows})
    at = {n: i for i, n in enumerate(ids)}
    i, j, w = [], [], []
    for s, t, c, rc in rows:
        if c >= 0:
            i.append(at[s]), j.append(at[t]), w.append(c)
        if rc >= 0:
            i.append(at[t]), j.append(at[s]), w.append(rc)
    graph = csr_matrix((w, (i, j)), shape=(len(ids), len(ids)))
    return dijkstra(graph, directed=True), at


def test_travel_times_match_an_independent_shortest_path(conn):
    """Between points, the time is the way to the nearest node at the team's speed, the fastest road path and
    the way from the last node; one-way roads make it differ by direction."""
    points = [(118.0712, 39.5738), (118.1844, 39.6521), (118.0833, 39.7011), (118.2291, 39.5620)]
    road = RoadTravel(conn, points, speed_kmh=30.0, circuity=1.3)
    ref, at = reference_hours(conn)
    for a in points:
        for b in points:
            if a == b:
                continue
            ia, ib = road.table.index[a], road.table.index[b]
            expected = (road.access_km[ia] / 30.0 + ref[at[road.node[ia]], at[road.node[ib]]]
                        + road.access_km[ib] / 30.0)
            assert road.table.time(a, b) == pytest.approx(expected, rel=1e-9)
    # the access way: the great-circle distance to the nearest grid node, times the circuity
    nearest = min(((x, y) for x in XS for y in YS), key=lambda q: math.dist(q, points[0]))
    assert road.node[0] > 0 and road.access_km[0] == pytest.approx(
        shapely.Point(points[0]).distance(shapely.Point(nearest)) * 111.0 * 1.3, rel=0.25)


def test_plans_over_roads_keep_to_the_day_and_report_road_km(conn):
    """travel=roads: every day fits its hours with the road times, the plan says how travel was found, and each
    leg's km is the length of the fastest road path plus the access ways."""
    req = PlanRequest(teams=2, days=1, area=LUBEI, min_level="orange", max_sites=60, time_limit_s=2, travel="roads")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = make_plan(conn, req)
    assert doc["request"]["travel"].startswith("road network")
    stops = [s for t in doc["teams"] for d in t["days"] for s in d["stops"]]
    assert stops and all(d["hours"] <= 8 for t in doc["teams"] for d in t["days"])
    base = tuple(doc["teams"][0]["base"])
    road = RoadTravel(conn, [base, *((s["lon"], s["lat"]) for s in stops)], 40.0, 1.3)
    day = doc["teams"][0]["days"][0]
    first = day["stops"][0]
    km, line = road.legs([(base, (first["lon"], first["lat"]))])[(base, (first["lon"], first["lat"]))]
    assert first["km_from_previous"] == pytest.approx(km, abs=0.06)
    # the day's path runs from the base along grid roads through every stop in order and back
    path = [tuple(p) for p in day["path"]]
    assert path[0] == path[-1] == base
    at = [path.index((s["lon"], s["lat"])) for s in day["stops"]]
    assert at == sorted(at)
    on_grid = [p for p in path[1:-1] if p not in {(s["lon"], s["lat"]) for s in day["stops"]}]
    assert on_grid and all(min(abs(p[0] - x) for x in XS) < 1e-6 or min(abs(p[1] - y) for y in YS) < 1e-6
                           for p in on_grid)
    # the GeoJSON route follows it
    from geo.planning.schedule import as_geojson

    route = next(f for f in as_geojson(doc)["features"] if f["properties"]["role"] == "route")
    assert route["geometry"]["coordinates"] == day["path"]
    # the straight line is shorter than the road
    assert first["km_from_previous"] >= shapely.Point(base).distance(shapely.Point(first["lon"], first["lat"])) * 85


def test_a_site_no_road_reaches_is_named(conn, tmp_path):
    """A must-visit site whose nearest road is an island: the plan is refused, naming it and saying why."""
    with conn.cursor() as cur:
        cur.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM enterprise WHERE ST_X(geom) > 118.5 ORDER BY id LIMIT 1")
        eid, x, y = cur.fetchone()
    island = {"type": "Feature", "properties": {"highway": "residential"},
              "geometry": {"type": "LineString", "coordinates": [[x, y], [x + 0.001, y]]}}
    import_roads(conn, grid(tmp_path, [island]))
    try:
        req = PlanRequest(teams=1, days=1, area=LUBEI, min_level="red", max_sites=10, time_limit_s=1,
                          must_visit=(f"enterprise.{eid}",), hours_per_day=24, day_start="00:00")
        with pytest.raises(PlanningError, match=rf"enterprise\.{eid}: no road joins it"):
            make_plan(conn, req)
    finally:
        import_roads(conn, grid(tmp_path))


def test_roads_asked_for_without_a_network_and_bad_files(conn, tmp_path):
    """A file of points, or of footways only, is refused naming the problem, and the stored network stays."""
    points = tmp_path / "points.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [118.1, 39.6]}}]}))
    with pytest.raises(InputError, match="lines"):
        import_roads(conn, points)
    paths = tmp_path / "paths.geojson"
    paths.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"highway": "footway"},
         "geometry": {"type": "LineString", "coordinates": [[118.1, 39.6], [118.2, 39.6]]}}]}))
    with pytest.raises(InputError, match="no drivable road"):
        import_roads(conn, paths)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM road_edge")
        assert cur.fetchone()[0] == 21 * 25 + 26 * 20


def test_roads_required_but_none_stored(cluster):
    with demo_database(cluster) as url:
        c = store.connect(url)
        try:
            req = PlanRequest(teams=1, days=1, area=LUBEI, max_sites=10, time_limit_s=1, travel="roads")
            with pytest.raises(PlanningError, match="riskmap roads import"):
                make_plan(c, req)
        finally:
            c.close()


def test_route_times_use_the_road_table(conn):
    """The instance of a road plan checks routes with the road times (route_time goes through the table)."""
    from geo.planning.plan import build_instance, candidate_sites, plan_points

    req = PlanRequest(teams=1, days=1, area=LUBEI, min_level="red", max_sites=5, time_limit_s=1)
    cands = candidate_sites(conn, req)
    road = RoadTravel(conn, plan_points(req, cands), 40.0, 1.3)
    inst = build_instance(req, cands, road.table)
    team, site = inst.teams[0], inst.sites[0]
    assert route_time(inst, team, [site]) == pytest.approx(
        road.table.time(team.start, (site.x, site.y)) + site.service + road.table.time((site.x, site.y), team.end))


OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="riskmap test">
  <node id="1" lat="39.60" lon="118.10" version="1"/><node id="2" lat="39.60" lon="118.12" version="1"/>
  <node id="3" lat="39.60" lon="118.14" version="1"/><node id="4" lat="39.58" lon="118.12" version="1"/>
  <node id="5" lat="39.62" lon="118.12" version="1"/><node id="6" lat="39.61" lon="118.10" version="1"/>
  <node id="7" lat="39.61" lon="118.14" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="primary"/><tag k="maxspeed" v="70"/><tag k="name" v="建设路"/></way>
  <way id="11" version="1"><nd ref="4"/><nd ref="2"/><nd ref="5"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
  <way id="12" version="1"><nd ref="6"/><nd ref="7"/><tag k="highway" v="footway"/></way>
</osm>"""


def test_an_osm_file_read_by_gdal(conn, tmp_path):
    """The `lines` layer of an OpenStreetMap file as GDAL reads it: maxspeed and oneway come from other_tags,
    the two ways are joined at their shared node, the footway is left out."""
    path = tmp_path / "roads.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    try:
        got = import_roads(conn, path, layer="lines")
        assert got == {"features": 3, "ways": 2, "edges": 4, "nodes": 5}
        with conn.cursor() as cur:
            cur.execute("SELECT highway, speed_kmh, reverse_cost_h < 0 FROM road_edge ORDER BY id")
            assert cur.fetchall() == [("primary", 70.0, False)] * 2 + [("residential", 25.0, True)] * 2
    finally:
        import_roads(conn, grid(tmp_path))


def test_paths_are_searched_around_the_plan():
    """The edge query covers the points' box grown by at least 0.2 degrees (a fifth of the box when larger)."""
    from geo.planning.roads import edges_around

    q = edges_around([(118.0, 39.0), (118.1, 39.05)])
    assert "ST_MakeEnvelope(117.8, 38.8, 118.3, 39.25, 4326)" in q
    wide = edges_around([(110.0, 30.0), (120.0, 35.0)])
    assert "ST_MakeEnvelope(108.0, 29.0, 122.0, 36.0, 4326)" in wide


def test_post_plans_uses_the_road_network(roads_url):
    """Over HTTP, a plan of an area with a road network stored takes its times and paths from it."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    with TestClient(create_app(Settings(anonymous_reads=True, database_url=roads_url,
                                        api_keys="k-roads-a1b2c3d4e5f6"))) as api:
        r = api.post("/plans", json={"teams": 1, "days": 1, "area": LUBEI, "min_level": "red", "time_limit_s": 1},
                     headers={"X-API-Key": "k-roads-a1b2c3d4e5f6"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["request"]["travel"].startswith("road network")
    day = doc["teams"][0]["days"][0]
    assert day["stops"] and day["path"][0] == day["path"][-1] == doc["teams"][0]["base"]


def pgrouting_hours(conn, road: RoadTravel) -> np.ndarray:
    """The points' hours as RoadTravel composes them, with the road part from pgRouting's cost matrix over the
    same edges (edges_around): the reference (NaN for points at one node)."""
    nodes = sorted(set(road.node))
    at = {n: k for k, n in enumerate(nodes)}
    matrix = np.full((len(nodes), len(nodes)), np.inf)
    np.fill_diagonal(matrix, 0.0)
    with conn.cursor() as cur:
        cur.execute(planning_roads._sql("road_cost_matrix"), {"edges": edges_around(road.points), "nodes": nodes})
        for a, b, hours in cur.fetchall():
            matrix[at[a], at[b]] = hours
    k = np.array([at[n] for n in road.node])
    access = np.array(road.access_km) / road.speed
    hours = access[:, None] + matrix[np.ix_(k, k)] + access[None, :]
    same = k[:, None] == k[None, :]
    return np.where(same, np.nan, hours)  # points at one node are joined directly, not by the road


def tolerance_h(road: RoadTravel) -> float:
    """How far RoadTravel's road hours may be from pgRouting's: 1e-9 h (floating-point rounding) for scipy's
    Dijkstra; for the contraction hierarchy, whose arcs' hours are whole numbers of its unit, half a unit per edge
    of the path (each arc's hours rounded to the nearest unit; the hierarchy's path is the fastest in rounded
    hours, so neither it nor the exact fastest path is off by more than that), and a path has fewer edges than the
    graph has nodes: (nodes - 1) x unit / 2, recomputed here from the unit; it must stay under half a second (a
    plan shows times to the minute)."""
    if road.engine == "dijkstra":
        return 1e-9
    bound = (road.arcs.nodes - 1) * road.arcs.metric().unit_h / 2
    assert road.error_h == pytest.approx(bound, rel=1e-12) and bound < 0.5 / 3600
    return bound + 1e-9


def assert_same_hours(conn, road: RoadTravel) -> np.ndarray:
    """RoadTravel's hours equal pgRouting's for every pair of points at different nodes (to tolerance_h),
    infinite for the same pairs; returns the reference."""
    ref = pgrouting_hours(conn, road)
    ours = np.array([[road.table.time(a, b) for b in road.points] for a in road.points])
    k = np.array(road.node)
    apart = k[:, None] != k[None, :]
    assert (np.isinf(ours) == np.isinf(ref))[apart].all()
    finite = apart & np.isfinite(ref)
    assert np.allclose(ours[finite], ref[finite], rtol=0, atol=tolerance_h(road))
    return ref


def test_travel_times_equal_pgroutings_cost_matrix(conn, engine):
    """Over the grid (a one-way column, roads of several speeds), 120 points scattered over it and around: every
    pair's hours equal pgRouting's (by each engine), and the one-way column makes some pairs differ by
    direction."""
    rng = np.random.default_rng(17)
    points = [(float(x), float(y)) for x, y in zip(rng.uniform(118.04, 118.31, 120), rng.uniform(39.54, 39.76, 120),
                                                   strict=True)]
    road = RoadTravel(conn, points, speed_kmh=30.0, circuity=1.3)
    assert road.engine == engine
    ref = assert_same_hours(conn, road)
    k = np.array(road.node)
    apart = k[:, None] != k[None, :]
    assert np.isfinite(ref[apart]).all() and (np.abs(ref - ref.T)[apart] > 1e-6).any()


def test_searches_shared_among_processes_give_the_same_times(conn, monkeypatch, engine):
    """A large plan's searches (or the hierarchy's queries) run in several processes (here forced from 1 node):
    the same hours, bit for bit, as in one process, and so pgRouting's."""
    monkeypatch.setattr(planning_roads, "PARALLEL_FROM", 1)
    monkeypatch.setattr(planning_roads, "CCH_PARALLEL_FROM", 1)
    rng = np.random.default_rng(18)
    points = [(float(x), float(y)) for x, y in zip(rng.uniform(118.05, 118.3, 40), rng.uniform(39.55, 39.75, 40),
                                                   strict=True)]
    alone = RoadTravel(conn, points, speed_kmh=30.0, circuity=1.3, workers=1)
    shared = RoadTravel(conn, points, speed_kmh=30.0, circuity=1.3, workers=3)
    assert np.array_equal(alone.table.hours, shared.table.hours)
    assert_same_hours(conn, shared)


def test_times_over_a_part_of_the_network_equal_pgroutings(conn, engine):
    """A few points in one corner: only the roads around them are searched (edges_around), by both (the
    hierarchy of the whole network customized with that part's arcs only); a path leaving that box is not taken by
    either."""
    points = [(118.0512, 39.5533), (118.0934, 39.5671), (118.0788, 39.5902), (118.0601, 39.5812)]
    road = RoadTravel(conn, points, speed_kmh=40.0, circuity=1.2)
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM ({edges_around(points)}) e")
        inside = cur.fetchone()[0]
    assert 0 < inside < 21 * 25 + 26 * 20
    assert road.arcs is not road.graph.all and road.engine == engine
    assert_same_hours(conn, road)


def test_disconnected_pieces_are_unreachable_as_pgrouting_reports(conn, tmp_path, engine):
    """Two islands off the grid, one of them one-way: pairs across pieces are infinite both ways, as pgRouting
    leaves them out (by both engines: the same infinity); along the one-way island only forward; the others
    equal pgRouting's."""
    island = {"type": "Feature", "properties": {"highway": "residential"},
              "geometry": {"type": "LineString", "coordinates": [[118.40, 39.60], [118.41, 39.60], [118.42, 39.60]]}}
    oneway = {"type": "Feature", "properties": {"highway": "primary", "oneway": "yes"},
              "geometry": {"type": "LineString", "coordinates": [[118.40, 39.70], [118.42, 39.70]]}}
    import_roads(conn, grid(tmp_path, [island, oneway]))
    try:
        points = [(118.1, 39.6), (118.2, 39.7), (118.4001, 39.6001), (118.4199, 39.6), (118.4, 39.7001),
                  (118.42, 39.6999)]
        road = RoadTravel(conn, points, speed_kmh=30.0, circuity=1.3)
        assert road.engine == engine
        assert_same_hours(conn, road)
        t = road.table.time
        assert math.isinf(t(points[0], points[2])) and math.isinf(t(points[2], points[0]))
        assert math.isfinite(t(points[2], points[3])) and math.isfinite(t(points[3], points[2]))
        assert math.isfinite(t(points[4], points[5])) and math.isinf(t(points[5], points[4]))
    finally:
        import_roads(conn, grid(tmp_path))


def test_legs_follow_the_path_whose_time_the_table_holds(conn, engine):
    """Each leg's line runs along stored edges, each in a direction it may be driven, one after another from
    the first point's node to the second's; the edges' hours add up to the table's road time (to the engine's
    tolerance) and their lengths to the leg's km."""
    points = [(118.0712, 39.5738), (118.1844, 39.6521), (118.0833, 39.7011), (118.2291, 39.5620)]
    road = RoadTravel(conn, points, speed_kmh=30.0, circuity=1.3)
    assert road.engine == engine
    legs = [(a, b) for a in points for b in points if a != b]
    got = road.legs(legs)
    with conn.cursor() as cur:
        cur.execute("SELECT ST_AsText(ST_StartPoint(geom)), ST_AsText(ST_EndPoint(geom)), cost_h, reverse_cost_h, "
                    "length_m, ST_AsGeoJSON(geom, 6) FROM road_edge")
        edges = cur.fetchall()
        cur.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM road_node")
        node_xy = {i: (round(x, 6), round(y, 6)) for i, x, y in cur.fetchall()}
    drive = {}  # (from, to) vertex -> (hours, km, coordinates) of the fastest edge that way
    for _, _, c, rc, m, gj in edges:
        xy = [tuple(p) for p in json.loads(gj)["coordinates"]]
        for cost, line in ((c, xy), (rc, xy[::-1])):
            if cost >= 0 and drive.get((line[0], line[-1]), (math.inf,))[0] > cost:
                drive[(line[0], line[-1])] = (cost, m / 1000.0, line)
    for a, b in legs:
        km, line = got[(a, b)]
        i, j = road.table.index[a], road.table.index[b]
        path = [tuple(p) for p in line[1:-1]]
        assert line[0] == list(a) and line[-1] == list(b)
        assert path[0] == node_xy[road.node[i]] and path[-1] == node_xy[road.node[j]]
        # the road path: grid vertices, each step one stored edge driven in an allowed direction
        hours = km_road = 0.0
        for p, q in zip(path[:-1], path[1:], strict=True):
            h, k, _ = drive[(p, q)]
            hours, km_road = hours + h, km_road + k
        assert hours == pytest.approx(road.table.time(a, b) - (road.access_km[i] + road.access_km[j]) / 30.0,
                                      abs=tolerance_h(road))
        assert km == pytest.approx(road.access_km[i] + km_road + road.access_km[j], abs=1e-6)


def test_the_graph_read_as_binary_arrays_holds_every_edge_and_node(conn):
    """road_graph.sql sends the network as packed arrays: read back, every edge's nodes, hours both ways and
    length, in id order, and every node's coordinates equal the stored rows."""
    planning_roads._graphs.clear()
    g = road_graph(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT id, source, target, cost_h, reverse_cost_h, length_m FROM road_edge ORDER BY id")
        ids, source, target, cost, reverse, length = (np.array(c) for c in zip(*cur.fetchall(), strict=True))
        cur.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM road_node ORDER BY id")
        nodes = cur.fetchall()
    assert np.array_equal(g.edge_id, ids)
    assert np.array_equal(g.node_id[g.u], source) and np.array_equal(g.node_id[g.v], target)
    assert np.array_equal(g.cost, cost) and np.array_equal(g.reverse, reverse) and np.array_equal(g.length_m, length)
    order = np.argsort(g.road_node)
    assert [(int(i), float(x), float(y)) for i, (x, y) in zip(g.road_node[order], g.road_node_xy[order],
                                                            strict=True)] == nodes


def test_nearest_nodes_equal_postgis_knn_and_geodesic_distance(conn):
    """Points join the network at the node PostGIS's KNN finds (road_snap.sql) at its geography distance: the
    same nodes, and the same metres to a micrometre, for points on the grid, between its lines and off it."""
    rng = np.random.default_rng(23)
    points = [(float(x), float(y)) for x, y in zip(rng.uniform(117.9, 118.45, 150), rng.uniform(39.45, 39.85, 150),
                                                   strict=True)] + [(XS[4], YS[7]), (XS[0], YS[0])]
    road = RoadTravel(conn, points, speed_kmh=30.0, circuity=1.3)
    with conn.cursor() as cur:
        cur.execute(planning_roads._sql("road_snap"), {"lons": [p[0] for p in road.points],
                                                       "lats": [p[1] for p in road.points]})
        snapped = cur.fetchall()
    assert road.node == [n for _, n, _ in snapped]
    assert np.allclose(np.array(road.access_km) / 1.3 * 1000.0, [m for _, _, m in snapped], rtol=0, atol=1e-6)
    assert road.access_km[-1] == road.access_km[-2] == 0.0


def test_leg_paths_cost_what_pgrouting_finds(conn, engine):
    """The paths drawn for a tour's legs (neighbouring points, as a plan's routes join them) and for legs across
    the grid, each found by a search stopped beyond the leg's hours (plus the hierarchy's tolerance, when the
    table's hours come from it, which may be below the exact ones): their edges' hours, in the direction driven,
    add up to pgRouting's fastest hours between the legs' nodes, exactly (scipy's search draws them)."""
    rng = np.random.default_rng(29)
    points = [(float(x), float(y)) for x, y in zip(rng.uniform(118.05, 118.3, 60), rng.uniform(39.55, 39.75, 60),
                                                   strict=True)]
    road = RoadTravel(conn, points, speed_kmh=30.0, circuity=1.3)
    ref = pgrouting_hours(conn, road)
    tour = sorted(road.points)
    legs = list(zip(tour[:-1], tour[1:], strict=True)) + [(tour[0], tour[-1]), (tour[-1], tour[0])]
    index, vertex = road.table.index, road._vertex
    at = {n: i for i, n in enumerate(road._nodes.tolist())}
    pairs = {(vertex[road.node[index[a]]], vertex[road.node[index[b]]]): (index[a], index[b]) for a, b in legs
             if road.node[index[a]] != road.node[index[b]]}
    assert road.engine == engine
    paths = road.arcs.paths({p: float(road._road[at[int(road.graph.node_id[p[0]])],
                                                 at[int(road.graph.node_id[p[1]])]]) for p in pairs},
                            slack_h=road.error_h)
    assert set(paths) == set(pairs)
    for p, (i, j) in pairs.items():
        hours = 0.0
        for e, forward in paths[p]:
            hours += road.graph.cost[e] if forward else road.graph.reverse[e]
        pgrouting = ref[i, j] - road.access_km[i] / 30.0 - road.access_km[j] / 30.0
        assert hours == pytest.approx(pgrouting, abs=1e-9)
    drawn = road.legs(legs)
    assert all(drawn[leg][1][0] == list(leg[0]) and drawn[leg][1][-1] == list(leg[1]) for leg in legs)
    assert set(road.seconds) == {"graph", "nearest nodes", "hierarchy", "searches", "matrix", "paths"}


def test_the_graph_is_kept_per_network_version(conn, tmp_path):
    """Two plans over the same network read its edges once; an import makes a new version, read again."""
    first = road_graph(conn)
    assert road_graph(conn) is first
    assert RoadTravel(conn, [(118.1, 39.6), (118.2, 39.7)], 30.0, 1.3).graph is first
    import_roads(conn, grid(tmp_path))
    second = road_graph(conn)
    assert second is not first and len(second.edge_id) == len(first.edge_id)
    assert len(planning_roads._graphs) <= planning_roads.CACHED_NETWORKS


def test_an_openstreetmap_extract_through_roads_import_equals_pgrouting(db_url, engine):
    """Central Helsinki from OpenStreetMap (an .osm.pbf read by GDAL's OSM driver through `riskmap roads import
    --layer lines`): one-way streets, links, service roads, one-way streets cut at the extract's edge (many
    strongly connected pieces); 80 points over it: every pair's hours equal pgRouting's (by each engine; the
    same pairs unreachable), the hierarchy's unit bounds every fastest path, and a leg's line runs from one point
    to the other along the streets."""
    from typer.testing import CliRunner

    from api.cli import app

    result = CliRunner().invoke(app, ["roads", "import", str(HELSINKI), "--layer", "lines"],
                                env={"RISKMAP_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "road network:" in result.output
    c = store.connect(db_url)
    c.autocommit = True
    try:
        with c.cursor() as cur:
            cur.execute("SELECT count(*), count(*) FILTER (WHERE reverse_cost_h < 0) FROM road_edge")
            edges, oneway = cur.fetchone()
        assert edges > 1000 and oneway > 50
        rng = np.random.default_rng(5)
        points = [(float(x), float(y)) for x, y in zip(rng.uniform(24.936, 24.952, 80),
                                                       rng.uniform(60.165, 60.178, 80), strict=True)]
        road = RoadTravel(c, points, speed_kmh=20.0, circuity=1.3)
        assert road.engine == engine
        ref = assert_same_hours(c, road)
        assert_unit_bounds_every_fastest_path(road.arcs)
        k = np.array(road.node)
        apart = k[:, None] != k[None, :]
        assert np.isfinite(ref[apart]).mean() > 0.5
        a, b = next((points[i], points[j]) for i in range(80) for j in range(80) if apart[i, j]
                    and np.isfinite(ref[i, j]))
        km, line = road.legs([(a, b)])[(a, b)]
        assert line[0] == list(a) and line[-1] == list(b) and len(line) > 3
        assert km >= _straight_km(a, b)
    finally:
        c.close()


def _straight_km(a, b) -> float:
    from geo.planning.roads import _great_circle_km

    return _great_circle_km(a, b)


def assert_unit_bounds_every_fastest_path(arcs) -> None:
    """longest_path_bound is at least the longest of all fastest paths (scipy's all-pairs Dijkstra), and the
    hierarchy's unit counts that bound, with half a unit of rounding per edge, below RoutingKit's inf_weight (a
    larger distance would read as no path)."""
    longest = dijkstra(arcs.csr, directed=True)
    longest = float(longest[np.isfinite(longest)].max())
    bound = planning_roads.longest_path_bound(arcs.csr)
    assert longest <= bound
    unit = arcs.metric().unit_h
    assert longest > 0 and bound / unit + arcs.nodes <= planning_roads.INF_WEIGHT - 1
    assert bound / unit + arcs.nodes > 0.999 * (planning_roads.INF_WEIGHT - 1)  # the finest such unit


def test_the_hierarchys_unit_bounds_every_fastest_path(conn, tmp_path):
    """On the grid, on a part of it and with a one-way island off it (two more strongly connected pieces): the
    bound of the longest fastest path holds, and the unit of the hierarchy's integer hours is the finest that
    keeps it below RoutingKit's 32-bit inf_weight."""
    graph = road_graph(conn)
    assert_unit_bounds_every_fastest_path(graph.all)
    part = graph.arcs(conn, box_around([(118.0512, 39.5533), (118.0934, 39.5671)]))
    assert part is not graph.all
    assert_unit_bounds_every_fastest_path(part)
    oneway = {"type": "Feature", "properties": {"highway": "primary", "oneway": "yes"},
              "geometry": {"type": "LineString", "coordinates": [[118.40, 39.70], [118.42, 39.70], [118.43, 39.71]]}}
    import_roads(conn, grid(tmp_path, [oneway]))
    try:
        assert_unit_bounds_every_fastest_path(road_graph(conn).all)
    finally:
        import_roads(conn, grid(tmp_path))


def test_large_plans_take_the_hierarchy_and_small_ones_dijkstra(conn, monkeypatch):
    """The engine follows the nodes scipy's searches would settle (plan nodes x graph nodes): from CCH_FROM on
    the contraction hierarchy (kept with the graph and its arcs: a second plan builds nothing), below it scipy's
    Dijkstra, exact (error_h 0)."""
    monkeypatch.setattr(planning_roads, "CCH_FROM", 20 * road_graph(conn).all.nodes)
    rng = np.random.default_rng(31)
    points = [(float(x), float(y)) for x, y in zip(rng.uniform(118.05, 118.3, 60), rng.uniform(39.55, 39.75, 60),
                                                   strict=True)]
    big = RoadTravel(conn, points, speed_kmh=30.0, circuity=1.3)
    small = RoadTravel(conn, points[:8], speed_kmh=30.0, circuity=1.3)
    assert len(set(big.node)) >= 20 > len(set(small.node))
    assert big.engine == "cch" and 0 < big.error_h < 0.5 / 3600
    assert small.engine == "dijkstra" and small.error_h == 0.0
    again = RoadTravel(conn, points, speed_kmh=30.0, circuity=1.3)
    assert again.arcs.metric() is big.arcs.metric() and np.array_equal(again.table.hours, big.table.hours)
