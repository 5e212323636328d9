"""Where the teams leave from when a plan names no base (issue 14, the inspection loop: a county with an exclave got
its base in the exclave, 70 km from its sites): the point of the area's part holding the most candidate sites
nearest to the centre of those sites, in a real PostGIS with areas and sites written in SQL."""

from __future__ import annotations

import math
import warnings

import pytest

from geo.planning import schedule
from geo.planning.plan import PlanRequest, candidate_sites, plan
from tests.geo.supervision import records as r

AREA = "100009"


@pytest.fixture
def conn(db):
    db.autocommit = True
    return db


def area(conn, *boxes: tuple[float, float, float, float]) -> None:
    """An admin area made of one polygon per box (a multipolygon: a county with detached parts)."""
    polygons = ", ".join(f"(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))" for x0, y0, x1, y1 in boxes)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO area (source_id, name, admin_code, level, geom) "
                    "VALUES (%s, 'Split county', %s, 'county', ST_GeomFromText(%s, 4326))",
                    (f"area-{AREA}", AREA, f"MULTIPOLYGON({polygons})"))


def request(**kw) -> PlanRequest:
    return PlanRequest(**{"teams": 1, "days": 1, "area": AREA, "min_level": "blue", "time_limit_s": 1,
                          "iterations": 200, **kw})


def point_on_surface(conn) -> tuple[float, float]:
    with conn.cursor() as cur:
        cur.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM area "
                    "WHERE admin_code = %s) a", (AREA,))
        return cur.fetchone()


def test_the_base_is_among_the_sites_not_in_a_far_detached_part(conn):
    """An area of a big polygon holding the sites and a small polygon 70 km away: with no base given, the base is
    the centre of the sites (it lies in the big polygon), and the days' routes stay near them."""
    area(conn, (118.0, 39.0, 118.3, 39.3), (118.9, 39.55, 118.93, 39.58))
    spots = [(118.05, 39.05), (118.25, 39.1), (118.1, 39.25), (118.2, 39.2)]
    for lon, lat in spots:
        r.enterprise(conn, lon, lat, "red")
    cands = candidate_sites(conn, request())
    centre = (sum(x for x, _ in spots) / 4, sum(y for _, y in spots) / 4)
    assert cands.default_base == pytest.approx(centre, abs=1e-9)
    req = request(days=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cands, inst, p = plan(conn, req)
    doc = schedule.build(req, cands, inst, p)
    assert doc["request"]["bases"] == [pytest.approx(list(centre), abs=1e-9)]
    # every site visited, each day's round trip well under the 140 km to the detached part and back
    assert doc["totals"]["visits"] == 4 and all(d["km"] < 100 for d in doc["teams"][0]["days"])


def test_a_wider_detached_part_without_the_sites_does_not_get_the_base(conn):
    """As in the demo's county 130202: the detached part is the larger one (a point on the area's surface falls in
    it), but the sites stand in the other part; the base goes with the sites."""
    area(conn, (117.5, 39.3, 117.9, 39.5), (118.1, 39.5, 118.25, 39.65))
    assert point_on_surface(conn)[0] < 117.9  # the old rule's base: in the part with no site
    for lon, lat in [(118.12, 39.52), (118.2, 39.6), (118.15, 39.55)]:
        r.enterprise(conn, lon, lat, "orange")
    r.enterprise(conn, 117.6, 39.4, "orange")  # one site in the detached part
    lon, lat = candidate_sites(conn, request()).default_base
    assert 118.1 <= lon <= 118.25 and 39.5 <= lat <= 39.65
    assert (lon, lat) == pytest.approx(((118.12 + 118.2 + 118.15) / 3, (39.52 + 39.6 + 39.55) / 3), abs=1e-9)


def test_when_the_sites_centre_lies_outside_their_part_the_base_is_the_nearest_point_of_it(conn):
    """Sites at the two ends of an L-shaped part have their centre outside it: the base is the point of the part's
    outline nearest to that centre (in metres), not a point far inside."""
    with conn.cursor() as cur:
        cur.execute("INSERT INTO area (source_id, name, admin_code, level, geom) VALUES ('area-L', 'L county', %s, "
                    "'county', ST_GeomFromText('MULTIPOLYGON(((118.0 39.0, 118.4 39.0, 118.4 39.1, 118.1 39.1, "
                    "118.1 39.4, 118.0 39.4, 118.0 39.0)))', 4326))", (AREA,))
    r.enterprise(conn, 118.35, 39.05, "red")
    r.enterprise(conn, 118.05, 39.35, "red")
    lon, lat = candidate_sites(conn, request()).default_base
    centre = (118.2, 39.2)
    with conn.cursor() as cur:
        cur.execute("SELECT ST_DWithin(geom::geography, ST_SetSRID(ST_Point(%s, %s), 4326)::geography, 1), "
                    "ST_Distance(ST_SetSRID(ST_Point(%s, %s), 4326)::geography, "
                    "            ST_SetSRID(ST_Point(%s, %s), 4326)::geography), "
                    "ST_Distance(geom::geography, ST_SetSRID(ST_Point(%s, %s), 4326)::geography) "
                    "FROM area WHERE admin_code = %s", (lon, lat, lon, lat, *centre, *centre, AREA))
        on_part, to_base, to_part = cur.fetchone()
    assert on_part  # on its outline, within a metre
    assert math.isclose(to_base, to_part, rel_tol=1e-3)  # no point of the part is nearer to the sites' centre
    # in degrees the two inner edges are as near; in metres the meridian edge is (a degree of longitude is shorter)
    assert (lon, lat) == pytest.approx((118.1, 39.2), abs=2e-3)
