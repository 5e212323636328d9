"""The spatial contexts (geo.risk.context: bulk proximity searches over data loaded from PostGIS) agree with a
brute-force geodesic computation on random data.

Random settlements, enterprises, ponds, venues and pipeline segments are written straight into a real PostGIS;
the context's counts and sums are compared with distances and azimuths computed pair by pair with
pyproj.Geod on the WGS 84 ellipsoid.  Pairs within 1 m of a threshold are moved away first, so the two
computations cannot disagree on a knife edge.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from geo.risk.config import load_model
from geo.risk.context import Neighbours, context_frame
from geo.risk.scoring import context_params
from geo.risk.store import query_frame, sql_text

GEOD = Geod(ellps="WGS84")
LON0, LAT0 = 118.2, 39.6


def _random_points(rng, n, spread_deg=0.03):
    return LON0 + rng.uniform(-spread_deg, spread_deg, n), LAT0 + rng.uniform(-spread_deg, spread_deg, n)


def _insert(db, table, rows):
    with db.cursor() as cur:
        for r in rows:
            cols = ", ".join(r)
            marks = ", ".join("ST_GeomFromText(%s, 4326)" if k == "geom" else "%s" for k in r)
            cur.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(r.values()))
    db.commit()


def _context(db, model, kind, max_impact_m=0.0):
    return context_frame(Neighbours(db, model), kind, None, max_impact_m).sort_values("feature_id")


def _distances(lon1, lat1, lon2, lat2):
    """Geodesic distances (m) and forward azimuths (deg) from every point 1 to every point 2."""
    a, b = np.meshgrid(np.arange(len(lon1)), np.arange(len(lon2)), indexing="ij")
    az, _, dist = GEOD.inv(lon1[a.ravel()], lat1[a.ravel()], lon2[b.ravel()], lat2[b.ravel()])
    return dist.reshape(a.shape), az.reshape(a.shape)


def _off_the_edge(rng, lon, lat, centres, radius):
    """Nudge points that lie within 1 m of ``radius`` from any centre (so both methods agree)."""
    for _ in range(20):
        d, _ = _distances(centres[0], centres[1], lon, lat)
        edge = (np.abs(d - radius) < 1.0).any(axis=0)
        if not edge.any():
            return lon, lat
        lon[edge] += rng.uniform(-2e-4, 2e-4, edge.sum())
    return lon, lat


@pytest.mark.parametrize("seed", [1, 2])
def test_people_within_500m_match_brute_force(db, seed):
    """people_500m of each enterprise equals the geodesic brute-force sum over settlements within 500 m."""
    rng = np.random.default_rng(seed)
    model = load_model()
    e_lon, e_lat = _random_points(rng, 25)
    s_lon, s_lat = _random_points(rng, 400)
    s_lon, s_lat = _off_the_edge(rng, s_lon, s_lat, (e_lon, e_lat), 500.0)
    pop = rng.integers(1, 500, len(s_lon))
    _insert(db, "settlement", [{"source_id": f"s{i}", "name": "s", "population": int(p), "geom": f"POINT({x} {y})"}
                               for i, (x, y, p) in enumerate(zip(s_lon, s_lat, pop, strict=True))])
    _insert(db, "enterprise", [{"source_id": f"e{i}", "name": "e", "industry": "other", "geom": f"POINT({x} {y})"}
                               for i, (x, y) in enumerate(zip(e_lon, e_lat, strict=True))])
    frame = _context(db, model, "enterprise")
    d, _ = _distances(e_lon, e_lat, s_lon, s_lat)
    expected = (np.where(d <= 500.0, pop[None, :], 0)).sum(axis=1)
    assert frame["people_500m"].to_numpy().astype(int).tolist() == expected.tolist()
    assert expected.max() > 0  # the data really exercise the ring


def test_people_inside_a_polygon_site_are_not_counted(db):
    """A settlement inside the plant boundary is not 'outside the site' (GB 18218 α counts people outside)."""
    site = shapely.Point(LON0, LAT0).buffer(0.002)
    _insert(db, "settlement", [{"source_id": "in", "name": "in", "population": 300, "geom": f"POINT({LON0} {LAT0})"},
                               {"source_id": "out", "name": "out", "population": 40,
                                "geom": f"POINT({LON0 + 0.004} {LAT0})"}])
    _insert(db, "enterprise", [{"source_id": "e", "name": "e", "industry": "other", "geom": site.wkt}])
    frame = _context(db, load_model(), "enterprise")
    assert frame["people_500m"].tolist() == [40]


@pytest.mark.parametrize("seed", [3, 4])
def test_downstream_sector_matches_brute_force(db, seed):
    """People within 1 km in the ±45° downstream sector (or the full circle without a direction) match a
    brute-force geodesic count using forward azimuths."""
    rng = np.random.default_rng(seed)
    model = load_model()
    half = model["context"]["sector_half_angle_deg"]
    p_lon, p_lat = _random_points(rng, 12)
    direction = rng.uniform(0, 360, len(p_lon))
    direction[::4] = np.nan  # unknown direction: full circle
    s_lon, s_lat = _random_points(rng, 400)
    s_lon, s_lat = _off_the_edge(rng, s_lon, s_lat, (p_lon, p_lat), 1000.0)
    pop = rng.integers(1, 200, len(s_lon))
    _insert(db, "settlement", [{"source_id": f"s{i}", "name": "s", "population": int(p), "geom": f"POINT({x} {y})"}
                               for i, (x, y, p) in enumerate(zip(s_lon, s_lat, pop, strict=True))])
    _insert(db, "tailings_pond", [{"source_id": f"p{i}", "name": "p", "geom": f"POINT({x} {y})",
                                   "downstream_direction_deg": None if np.isnan(a) else float(a)}
                                  for i, (x, y, a) in enumerate(zip(p_lon, p_lat, direction, strict=True))])
    frame = _context(db, model, "tailings_pond")
    d, az = _distances(p_lon, p_lat, s_lon, s_lat)
    diff = np.abs((az - direction[:, None] + 540.0) % 360.0 - 180.0)
    circle = np.isnan(direction)[:, None]
    # a settlement within 0.01° of a sector side may fall either way (azimuths on the ellipsoid vs PostGIS)
    surely_in = (d <= 1000.0) & (circle | (diff <= half - 0.01))
    maybe_in = (d <= 1000.0) & (circle | (diff <= half + 0.01))
    low = np.where(surely_in, pop[None, :], 0).sum(axis=1)
    high = np.where(maybe_in, pop[None, :], 0).sum(axis=1)
    got = frame["downstream_people_1km"].to_numpy().astype(int)
    assert ((low <= got) & (got <= high)).all(), (low, got, high)
    assert (low == high).sum() >= len(low) - 1  # nearly every pond is decided exactly
    assert low.max() > 0
    assert frame["downstream_area"].tolist() == ["circle" if np.isnan(a) else "sector" for a in direction]


def test_segment_corridor_counts_match_brute_force(db):
    """Households within 200 m of pipeline segments, and enterprises in the 5/50/200 m zones, match a
    brute-force geodesic distance to the densified segment."""
    rng = np.random.default_rng(7)
    model = load_model()
    line = shapely.LineString([(LON0 - 0.02, LAT0 - 0.004), (LON0 + 0.02, LAT0 + 0.006)])
    _insert(db, "pipeline", [{"source_id": "l1", "name": "l1", "medium": "natural_gas", "diameter_mm": 610.0,
                              "pressure_mpa": 6.3, "geom": line.wkt}])
    s_lon, s_lat = _random_points(rng, 300, 0.02)
    hh = rng.integers(1, 80, len(s_lon))
    e_lon, e_lat = _random_points(rng, 150, 0.02)
    # a few enterprises right on the line (inside the 5 m and 50 m zones)
    on = shapely.line_interpolate_point(line, rng.uniform(0.1, 0.9, 6), normalized=True)
    e_lon = np.concatenate([e_lon, shapely.get_x(on) + 1e-5])
    e_lat = np.concatenate([e_lat, shapely.get_y(on)])
    _insert(db, "settlement", [{"source_id": f"s{i}", "name": "s", "households": int(h), "geom": f"POINT({x} {y})"}
                               for i, (x, y, h) in enumerate(zip(s_lon, s_lat, hh, strict=True))])
    _insert(db, "enterprise", [{"source_id": f"e{i}", "name": "e", "industry": "other", "geom": f"POINT({x} {y})"}
                               for i, (x, y) in enumerate(zip(e_lon, e_lat, strict=True))])
    with db.cursor() as cur:
        cur.execute(sql_text("pipeline_segments"), context_params(model, None))
    db.commit()
    frame = _context(db, model, "pipeline_segment")
    segs = query_frame(db, "SELECT id AS feature_id, ST_AsText(geom) AS wkt FROM pipeline_segment")
    frame = frame.merge(segs, on="feature_id")
    assert len(frame) >= 2
    for row in frame.itertuples():
        seg = shapely.from_wkt(row.wkt)
        dense = shapely.segmentize(seg, 1e-5)  # about 1 m between vertices
        v = shapely.get_coordinates(dense)
        d_s, _ = _distances(s_lon, s_lat, v[:, 0], v[:, 1])
        d_e, _ = _distances(e_lon, e_lat, v[:, 0], v[:, 1])
        ds, de = d_s.min(axis=1), d_e.min(axis=1)
        sure_s = np.abs(ds - 200.0) > 1.5
        assert row.households_200m == pytest.approx(hh[(ds <= 200.0)].sum(), abs=int(hh[~sure_s].sum()))
        for zone, col in ((5.0, "enterprises_5m"), (50.0, "enterprises_50m"), (200.0, "enterprises_200m")):
            edge = (np.abs(de - zone) <= 1.5).sum()
            assert abs(getattr(row, col) - int((de <= zone).sum())) <= edge
    assert frame["enterprises_5m"].sum() >= 1  # the on-line enterprises really fall in the 5 m zone
