"""Travel times for plans from the stored road network (geo/roads.py), with pgRouting.

Each point (a base, a site) joins the network at its nearest road node; the way from the point to that node is
driven at the teams' speed over the great-circle distance times the circuity factor.  Paths are searched over the
roads around the plan's points (edges_around), not a whole province's network.  Between nodes, the fastest
path's hours come from pgRouting's cost matrix (one-way roads honoured).  Two points at the same node are joined
directly.  Pairs no road joins get an infinite time, so no plan uses them.
"""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import psycopg2

from geo.errors import PlanningError
from geo.planning.instance import EARTH_RADIUS_KM, TravelTable


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


MARGIN_DEG = 0.2  # the network searched reaches this far (about 20 km) beyond the plan's points, at least


def edges_around(points: list[tuple[float, float]]) -> str:
    """pgRouting's edge query for the roads around the points: their box grown by a fifth of its size and at least
    MARGIN_DEG (a path leaving that box is very unlikely to be the fastest; a province's network stays out of
    a county's plan).  Composed from floats only."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx = max(MARGIN_DEG, 0.2 * (max(xs) - min(xs)))
    my = max(MARGIN_DEG, 0.2 * (max(ys) - min(ys)))
    box = ", ".join(repr(float(v)) for v in (min(xs) - mx, min(ys) - my, max(xs) + mx, max(ys) + my))
    return ("SELECT id, source, target, cost_h AS cost, reverse_cost_h AS reverse_cost FROM road_edge "
            f"WHERE geom && ST_MakeEnvelope({box}, 4326)")


class RoadTravel:
    """Hours (a TravelTable for the solver) and km between the points of a plan over the road network."""

    def __init__(self, conn, points: list[tuple[float, float]], speed_kmh: float, circuity: float):
        ensure_pgrouting(conn)
        self.conn, self.speed, self.circuity = conn, speed_kmh, circuity
        self.points = list(dict.fromkeys(points))
        self.edges = edges_around(self.points)
        with conn.cursor() as cur:
            cur.execute(_sql("road_snap"), {"lons": [p[0] for p in self.points], "lats": [p[1] for p in self.points]})
            snapped = cur.fetchall()
        self.node = [int(n) for _, n, _ in snapped]
        self.access_km = [m / 1000.0 * circuity for _, _, m in snapped]
        nodes = sorted(set(self.node))
        at = {n: k for k, n in enumerate(nodes)}
        road = np.full((len(nodes), len(nodes)), np.inf)
        np.fill_diagonal(road, 0.0)
        with conn.cursor() as cur:
            cur.execute(_sql("road_cost_matrix"), {"nodes": nodes, "edges": self.edges})
            for a, b, hours in cur.fetchall():
                road[at[a], at[b]] = hours
        k = np.array([at[n] for n in self.node])
        access_h = np.array(self.access_km) / speed_kmh
        hours = access_h[:, None] + road[np.ix_(k, k)] + access_h[None, :]
        same = k[:, None] == k[None, :]
        if same.sum() > len(k):  # points sharing a node: joined directly
            hours = np.where(same, _great_circle_matrix(self.points) * circuity / speed_kmh, hours)
        np.fill_diagonal(hours, 0.0)
        self.table = TravelTable({p: i for i, p in enumerate(self.points)}, hours)
        self._paths: dict[tuple[int, int], tuple[float, list]] = {}

    def legs(self, legs: list[tuple[tuple[float, float], tuple[float, float]]]) -> dict:
        """For each leg (a, b): its km (the access ways plus the fastest road path's length) and its line (a, the
        road path, b) as [lon, lat] pairs, by pgRouting."""
        import json

        index = self.table.index
        pairs = sorted({(self.node[index[a]], self.node[index[b]]) for a, b in legs
                        if self.node[index[a]] != self.node[index[b]]} - set(self._paths))
        if pairs:
            values = ",".join(f"({int(s)},{int(t)})" for s, t in pairs)
            combinations = f"SELECT * FROM (VALUES {values}) AS c(source, target)"
            with self.conn.cursor() as cur:
                cur.execute(_sql("road_leg_km"), {"combinations": combinations, "edges": self.edges})
                for s, t, km, line in cur.fetchall():
                    self._paths[(int(s), int(t))] = (float(km), json.loads(line)["coordinates"] if line else [])
        out = {}
        for a, b in legs:
            i, j = index[a], index[b]
            if self.node[i] == self.node[j]:
                out[(a, b)] = (_great_circle_km(a, b) * self.circuity, [list(a), list(b)])
            else:
                km, line = self._paths.get((self.node[i], self.node[j]), (math.inf, []))
                out[(a, b)] = (self.access_km[i] + km + self.access_km[j], [list(a), *line, list(b)])
        return out
