"""Bulk proximity searches with exact geodesic answers: which pairs of features lie within a distance.

Every spatial context of the risk model is a question of the form "the B within r metres of each A" on the
WGS 84 ellipsoid.  Asked feature by feature (a nested loop of index probes) it is slow; asked in bulk it is
fast.  ``search`` answers it in three vectorised steps:

1. Both sets are projected to a local azimuthal equidistant projection (``LocalMetric``).  In it a planar
   distance ``p`` and the geodesic distance ``g`` satisfy ``g·(1 − ε) − δ <= p <= g·(1 + ε) + δ``, where ε bounds
   the scale error over the data's extent (it grows with the square of the distance from the centre: about
   0.3 % at 300 km) and δ (0.5 m) covers the bending of straight edges.
2. The candidate pairs within ``r·(1 + ε) + δ`` come from one bulk index query: scipy's cKDTree for point
   against point (the common case), a shapely STRtree ``dwithin`` query where lines or polygons take part.
3. ``Pairs.within(r)`` decides each pair: planar distances clearly inside or outside the band around ``r``
   decide at once; the few pairs in the band get their exact geodesic distance, from ``pyproj.Geod`` (Karney's
   algorithm) for two points and from the ``exact`` function otherwise (PostGIS ``ST_Distance`` on
   geography in riskmap, so the answer is PostGIS's own).

There is no loop over pairs in Python, and no approximation in the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Geod, Transformer
from scipy.spatial import cKDTree

GEOD = Geod(ellps="WGS84")
EARTH_RADIUS_M = 6_371_008.8
EDGE_SLACK_M = 0.5  # δ: straight edges in the projection against geodesic edges on the ellipsoid

# exact geodesic distances (m) of pairs of geometries given in WGS 84 longitude/latitude, element by element
ExactDistance = Callable[[np.ndarray, np.ndarray], np.ndarray]


class ProximityError(ValueError):
    """A proximity search that cannot be answered exactly as asked."""


@dataclass(frozen=True)
class LocalMetric:
    """An azimuthal equidistant projection centred on the data (metres)."""

    lon0: float
    lat0: float

    @classmethod
    def around(cls, lon: np.ndarray, lat: np.ndarray) -> LocalMetric:
        """Centred on the middle of the points' bounding box."""
        if len(lon) == 0:
            return cls(0.0, 0.0)
        lon0 = (float(np.nanmin(lon)) + float(np.nanmax(lon))) / 2
        lat0 = (float(np.nanmin(lat)) + float(np.nanmax(lat))) / 2
        return cls(round(lon0, 6), round(lat0, 6))

    @property
    def transformer(self) -> Transformer:
        return local_transformer(self.lon0, self.lat0)

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.transformer.transform(np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64"))
        return np.asarray(x), np.asarray(y)

    def project_geometries(self, geoms: np.ndarray) -> np.ndarray:
        t = self.transformer
        return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    def epsilon(self, lon: np.ndarray, lat: np.ndarray) -> float:
        """A bound on the relative scale error of distances among these points in this projection.

        On the sphere the azimuthal equidistant scale lies between 1 and ρ/sin ρ (ρ the angular distance from
        the centre), ρ/sin ρ − 1 ≈ ρ²/6; ρ² + 10⁻⁴ bounds it with a wide margin (also for the ellipsoid)."""
        if len(lon) == 0:
            return 1e-4
        # the farthest point from the centre of a longitude/latitude box lies on its boundary: sample it
        x0, x1, y0, y1 = np.nanmin(lon), np.nanmax(lon), np.nanmin(lat), np.nanmax(lat)
        bx, by = np.meshgrid(np.linspace(x0, x1, 9), np.linspace(y0, y1, 9))
        edge = (bx == x0) | (bx == x1) | (by == y0) | (by == y1)
        _, _, d = GEOD.inv(np.full(edge.sum(), self.lon0), np.full(edge.sum(), self.lat0), bx[edge], by[edge])
        rho = 1.1 * float(np.max(d)) / EARTH_RADIUS_M  # 10 % for the stretch between samples
        if rho > 1.2:  # beyond about 7,600 km the bound would be too loose to be useful
            raise ProximityError(f"the data span {rho * EARTH_RADIUS_M / 1000:,.0f} km from their centre: "
                                 "too far apart for one local projection")
        return rho * rho + 1e-4


_TRANSFORMERS: dict[tuple[float, float], Transformer] = {}


def local_transformer(lon0: float, lat0: float) -> Transformer:
    """WGS 84 to the azimuthal equidistant projection centred on (lon0, lat0), in metres; made once per centre
    (making one takes about 6 ms, a run of the background scoring about 200)."""
    key = (lon0, lat0)
    if key not in _TRANSFORMERS:
        _TRANSFORMERS[key] = Transformer.from_crs(
            "EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m", always_xy=True)
    return _TRANSFORMERS[key]


class Layer:
    """Features for a proximity search in WGS 84 (lon/lat): points as plain coordinate arrays, other geometries
    as shapely objects.  Projections, k-d trees and STRtrees are built on first use and kept."""

    def __init__(self, geoms: np.ndarray | None = None, *, lon: np.ndarray | None = None,
                 lat: np.ndarray | None = None):
        if geoms is None:  # all points
            self.lon = np.asarray(lon, dtype="float64")
            self.lat = np.asarray(lat, dtype="float64")
            self.is_point = np.ones(len(self.lon), dtype=bool)
            self._geoms = None
        else:
            geoms = np.asarray(geoms, dtype=object)
            self.is_point = shapely.get_type_id(geoms) == 0
            self.lon = np.where(self.is_point, shapely.get_x(geoms), np.nan)
            self.lat = np.where(self.is_point, shapely.get_y(geoms), np.nan)
            self._geoms = geoms
        self._cache: dict = {}

    @classmethod
    def points(cls, lon: np.ndarray, lat: np.ndarray) -> Layer:
        return cls(lon=lon, lat=lat)

    def __len__(self) -> int:
        return len(self.is_point)

    @property
    def geoms(self) -> np.ndarray:
        """Shapely geometries of every row (points made on first use)."""
        if self._geoms is None:
            self._geoms = shapely.points(self.lon, self.lat)
        return self._geoms

    def bounds(self) -> np.ndarray:
        """(minx, miny, maxx, maxy) in lon/lat."""
        if "bounds" not in self._cache:
            if self.is_point.all():
                b = [np.min(self.lon), np.min(self.lat), np.max(self.lon), np.max(self.lat)]
            else:
                b = shapely.total_bounds(self.geoms)
            self._cache["bounds"] = np.asarray(b, dtype="float64")
        return self._cache["bounds"]

    def projected_xy(self, metric: LocalMetric) -> np.ndarray:
        """Projected (x, y) of the points (NaN for other rows), computed once per projection."""
        key = (metric, "xy")
        if key not in self._cache:
            x, y = metric.project(self.lon, self.lat)
            self._cache[key] = np.column_stack([x, y])
        return self._cache[key]

    def projected_geometries(self, metric: LocalMetric) -> np.ndarray:
        """Projected shapely geometries of every row, computed once per projection."""
        key = (metric, "geoms")
        if key not in self._cache:
            geoms = shapely.points(self.projected_xy(metric))
            if (~self.is_point).any():
                geoms[~self.is_point] = metric.project_geometries(self.geoms[~self.is_point])
            self._cache[key] = geoms
        return self._cache[key]

    def kdtree(self, metric: LocalMetric) -> cKDTree:
        """A k-d tree of the projected points (rows where ``is_point``), built once per projection."""
        key = (metric, "kdtree")
        if key not in self._cache:
            self._cache[key] = cKDTree(self.projected_xy(metric)[self.is_point])
        return self._cache[key]

    def strtree(self, metric: LocalMetric, points: bool) -> tuple[shapely.STRtree, np.ndarray]:
        """An STRtree of the projected points (``points``) or of the lines and polygons, with its row numbers."""
        key = (metric, "strtree", points)
        if key not in self._cache:
            rows = np.flatnonzero(self.is_point if points else ~self.is_point)
            self._cache[key] = (shapely.STRtree(self.projected_geometries(metric)[rows]), rows)
        return self._cache[key]


def _dwithin_pairs(a: Layer, a_rows: np.ndarray, a_points: bool, b: Layer, b_rows: np.ndarray, b_points: bool,
                   metric: LocalMetric, reach: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of rows (of a and b) within ``reach`` projected metres.  The STRtree holds the lines and polygons
    (when both sides are, the larger side) and is queried with the other side: measured on the benchmark data,
    many point queries into a tree of lines beat fewer line queries into a tree of points.  Trees are kept with
    their layer."""
    ag, bg = a.projected_geometries(metric), b.projected_geometries(metric)
    tree_on_b = a_points or (not b_points and len(b_rows) >= len(a_rows))
    if tree_on_b:
        tree, rows = b.strtree(metric, b_points)
        q, t = tree.query(ag[a_rows], predicate="dwithin", distance=reach)
        ia, ib = a_rows[q], rows[t]
    else:
        tree, rows = a.strtree(metric, a_points)
        q, t = tree.query(bg[b_rows], predicate="dwithin", distance=reach)
        ia, ib = rows[t], b_rows[q]
    return ia, ib, shapely.distance(ag[ia], bg[ib])


@dataclass
class Pairs:
    """Candidate pairs (a index, b index) with their planar distance; ``within`` decides them exactly."""

    a: Layer
    b: Layer
    ia: np.ndarray
    ib: np.ndarray
    planar_m: np.ndarray
    epsilon: float
    exact: ExactDistance | None
    metric: LocalMetric | None = None
    _geodesic: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._geodesic = None  # exact distances, NaN until computed (allocated when first needed)

    def __len__(self) -> int:
        return len(self.ia)

    def within(self, radius_m) -> np.ndarray:
        """Which pairs are within ``radius_m`` (a number, or one per pair; NaN: never) geodesic metres."""
        r = np.broadcast_to(np.asarray(radius_m, dtype="float64"), self.ia.shape)
        p = self.planar_m
        with np.errstate(invalid="ignore"):
            surely_in = p <= r * (1 - self.epsilon) - EDGE_SLACK_M
            maybe = ~surely_in & (p <= r * (1 + self.epsilon) + EDGE_SLACK_M)
        if not maybe.any():
            return surely_in
        if self._geodesic is None:
            self._geodesic = np.full(len(self.ia), np.nan)
        undecided = maybe & np.isnan(self._geodesic)
        if undecided.any():
            self._geodesic[undecided] = self._exact_distances(np.flatnonzero(undecided))
        return surely_in | (maybe & (self._geodesic <= r))

    def in_sector(self, origin_lon: np.ndarray, origin_lat: np.ndarray, direction_deg: np.ndarray,
                  half_angle: float, mask: np.ndarray | None = None) -> np.ndarray:
        """For the pairs selected by ``mask`` (all by default): is b's point within ``half_angle`` degrees of the
        direction (clockwise from north) seen from a's origin?  ``origin_*`` and ``direction_deg`` are given per
        row of a; an unknown direction (NaN) or a target at the origin is always in.

        The answer is that of the forward geodesic azimuth (WGS 84).  Bearings in the projection, turned by the
        local direction of north, differ from it by less than the projection's angular distortion (at most ε
        radians); pairs within that margin of a sector side are decided with pyproj.Geod."""
        sel = np.arange(len(self.ia)) if mask is None else np.flatnonzero(mask)
        out = np.ones(len(sel), dtype=bool)
        if half_angle >= 180 or len(sel) == 0:
            return out
        ia, ib = self.ia[sel], self.ib[sel]
        direction = np.asarray(direction_deg, dtype="float64")
        known = ~np.isnan(direction[ia])
        if not self.b.is_point[ib].all():
            raise ProximityError("a sector test needs point targets")
        metric = self.metric
        ox, oy = metric.project(origin_lon, origin_lat)
        nx, ny = metric.project(origin_lon, np.minimum(np.asarray(origin_lat, dtype="float64") + 1e-5, 90.0))
        north = np.degrees(np.arctan2(nx - ox, ny - oy))
        bxy = self.b.projected_xy(metric)
        k = np.flatnonzero(known)
        ka, kb = ia[k], ib[k]
        dx, dy = bxy[kb, 0] - ox[ka], bxy[kb, 1] - oy[ka]
        bearing = np.degrees(np.arctan2(dx, dy)) - north[ka]
        diff = np.abs(np.mod(bearing - direction[ka] + 540.0, 360.0) - 180.0)
        margin = np.degrees(2 * self.epsilon) + 0.05
        close = (np.abs(diff - half_angle) <= margin) | (np.hypot(dx, dy) < 10.0)
        out[k] = diff <= half_angle
        if close.any():
            c = k[close]
            az, _, dist = GEOD.inv(np.asarray(origin_lon, dtype="float64")[ia[c]],
                                   np.asarray(origin_lat, dtype="float64")[ia[c]], self.b.lon[ib[c]], self.b.lat[ib[c]])
            exact = np.abs(np.mod(az - direction[ia[c]] + 540.0, 360.0) - 180.0)
            out[c] = (exact <= half_angle) | (dist == 0)
        return out

    def geodesic_m(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Exact geodesic distances of the pairs selected by ``mask`` (all by default)."""
        sel = np.arange(len(self.ia)) if mask is None else np.flatnonzero(mask)
        if self._geodesic is None:
            self._geodesic = np.full(len(self.ia), np.nan)
        missing = sel[np.isnan(self._geodesic[sel])]
        if len(missing):
            self._geodesic[missing] = self._exact_distances(missing)
        return self._geodesic[sel]

    def _exact_distances(self, k: np.ndarray) -> np.ndarray:
        ia, ib = self.ia[k], self.ib[k]
        both = self.a.is_point[ia] & self.b.is_point[ib]
        out = np.empty(len(k))
        if both.any():
            _, _, out[both] = GEOD.inv(self.a.lon[ia[both]], self.a.lat[ia[both]],
                                       self.b.lon[ib[both]], self.b.lat[ib[both]])
        if (~both).any():
            if self.exact is None:
                raise ProximityError("an exact distance between lines or polygons needs an `exact` function")
            out[~both] = self.exact(self.a.geoms[ia[~both]], self.b.geoms[ib[~both]])
        return out


def search(a: Layer, b: Layer, max_radius_m: float, *, metric: LocalMetric | None = None,
           exact: ExactDistance | None = None) -> Pairs:
    """Every pair (feature of ``a``, feature of ``b``) that may lie within ``max_radius_m`` geodesic metres.

    Call ``.within(r)`` on the result (for any r <= max_radius_m) for the exact answer."""
    if not np.isfinite(max_radius_m) or max_radius_m < 0:
        raise ProximityError(f"search radius must be a finite number of metres >= 0, not {max_radius_m!r}")
    if len(a) == 0 or len(b) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Pairs(a, b, empty, empty, np.zeros(0), 0.0, exact)
    box = np.vstack([a.bounds(), b.bounds()])
    lon, lat = np.concatenate([box[:, 0], box[:, 2]]), np.concatenate([box[:, 1], box[:, 3]])
    metric = metric or LocalMetric.around(lon, lat)
    eps = metric.epsilon(lon, lat)
    reach = max_radius_m * (1 + eps) + EDGE_SLACK_M
    parts = []
    ap, bp = np.flatnonzero(a.is_point), np.flatnonzero(b.is_point)
    an, bn = np.flatnonzero(~a.is_point), np.flatnonzero(~b.is_point)
    if len(ap) and len(bp):  # points against points: k-d trees, all pairs in one call
        m = a.kdtree(metric).sparse_distance_matrix(b.kdtree(metric), reach, output_type="ndarray")
        parts.append((m["i"] if len(ap) == len(a) else ap[m["i"]], m["j"] if len(bp) == len(b) else bp[m["j"]],
                      m["v"]))
    # where lines or polygons take part: STRtree dwithin queries
    for a_rows, a_pts, b_rows, b_pts in ((an, False, bp, True), (an, False, bn, False), (ap, True, bn, False)):
        if len(a_rows) and len(b_rows):
            parts.append(_dwithin_pairs(a, a_rows, a_pts, b, b_rows, b_pts, metric, reach))
    if len(parts) == 1:
        ia, ib, d = parts[0]  # (views into the k-d tree's result: copying 10⁷ pairs costs more than it saves)
    else:
        ia, ib, d = (np.concatenate([p[k] for p in parts]) for k in range(3))
    return Pairs(a, b, ia, ib, d, eps, exact, metric)
