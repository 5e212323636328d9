"""Inspection plans from the stored risks of the scored demo (issue 6, item 2), in a real PostGIS."""

from __future__ import annotations

import warnings

import pytest

from geo import store
from geo.planning.instance import InstanceError, route_time
from geo.planning.plan import PlanRequest, build_instance, candidate_sites, greedy, plan
from geo.risk.framework import LEVELS
from tests.api.conftest import demo_database

LUBEI = "130203"


@pytest.fixture(scope="module")
def conn(cluster):
    with demo_database(cluster) as url:
        c = store.connect(url)
        c.autocommit = True
        yield c
        c.close()


def request(**kw) -> PlanRequest:
    return PlanRequest(**{"teams": 2, "days": 2, "base": (118.18, 39.63), "area": LUBEI, "max_sites": 120,
                          "time_limit_s": 3, **kw})


def test_candidates_are_the_worst_sites_of_the_area(conn):
    """Candidates are scored features at or above the level, inside the area, worst first."""
    sites = candidate_sites(conn, request(min_level="yellow"))
    assert 0 < len(sites) <= 120
    assert [s.prize for s in sites] == sorted((s.prize for s in sites), reverse=True)
    with conn.cursor() as cur:
        for s in sites[:20]:
            kind, fid = s.id.split(".")
            cur.execute("SELECT r.level, ST_Intersects(a.geom, ST_SetSRID(ST_Point(%s, %s), 4326)) "
                        "FROM feature_risk r, area a WHERE r.kind = %s AND r.feature_id = %s AND a.admin_code = %s",
                        (s.x, s.y, kind, int(fid), LUBEI))
            level, inside = cur.fetchone()
            assert LEVELS.index(level) >= LEVELS.index("yellow") and inside


def test_plan_fits_each_working_day_and_visits_nothing_twice(conn):
    """Each team's day is a route from the base and back within the day's hours, inspections included; no site
    is visited twice; the greedy baseline is feasible too."""
    req = request()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inst, p = plan(conn, req)
    assert [r.team for r in p.routes] == ["team1/day1", "team1/day2", "team2/day1", "team2/day2"]
    by_id = {s.id: s for s in inst.sites}
    for r, t in zip(p.routes, inst.teams, strict=True):
        assert route_time(inst, t, [by_id[i] for i in r.sites]) <= req.hours_per_day + 1e-9
    visited = [i for r in p.routes for i in r.sites]
    assert len(visited) == len(set(visited)) > 0
    g = greedy(build_instance(req, list(inst.sites)))
    for r, t in zip(g.routes, inst.teams, strict=True):
        assert route_time(inst, t, [by_id[i] for i in r.sites]) <= req.hours_per_day + 1e-9
    assert p.total_prize > 0 and g.total_prize > 0


@pytest.mark.parametrize(("kw", "words"), [
    ({"area": "999999"}, "999999"),
    ({"teams": 0}, "teams"),
    ({"days": 0}, "days"),
    ({"hours_per_day": 0}, "hours"),
    ({"min_level": "purple"}, "min_level"),
])
def test_bad_requests_are_clear_errors(conn, kw, words):
    """An unknown area, no teams, no days, no hours or an unknown level: an error naming it."""
    with pytest.raises(InstanceError, match=words):
        plan(conn, request(**kw))
