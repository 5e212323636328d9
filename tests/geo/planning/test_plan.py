"""Inspection plans from the stored risks of the scored demo (issue 6, item 2), in a real PostGIS."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

from geo import store
from geo.errors import NotFound
from geo.planning import schedule
from geo.planning import store as plan_store
from geo.planning.instance import InstanceError, route_time
from geo.planning.plan import PlanRequest, candidate_sites, greedy, plan
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
    return PlanRequest(**{"teams": 2, "days": 2, "bases": ((118.18, 39.63),), "area": LUBEI, "max_sites": 120,
                          "time_limit_s": 3, **kw})


def test_candidates_are_the_worst_sites_of_the_area(conn):
    """Candidates are scored features at or above the level, inside the area, worst first."""
    sites = candidate_sites(conn, request(min_level="yellow")).sites
    assert 0 < len(sites) <= 120
    assert [s.score for s in sites] == sorted((s.score for s in sites), reverse=True)
    with conn.cursor() as cur:
        for s in sites[:20]:
            cur.execute("SELECT r.level, ST_Intersects(a.geom, ST_SetSRID(ST_Point(%s, %s), 4326)) "
                        "FROM feature_risk r, area a WHERE r.kind = %s AND r.feature_id = %s AND a.admin_code = %s",
                        (s.lon, s.lat, s.kind, s.id, LUBEI))
            level, inside = cur.fetchone()
            assert LEVELS.index(level) >= LEVELS.index("yellow") and inside


def test_plan_fits_each_working_day_and_visits_nothing_twice(conn):
    """Each team's day is a route from the base and back within the day's hours, inspections included; no site
    is visited twice; the greedy baseline is feasible too."""
    req = request()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, inst, p = plan(conn, req)
    assert [r.team for r in p.routes] == ["team1/day1", "team1/day2", "team2/day1", "team2/day2"]
    by_id = {s.id: s for s in inst.sites}
    for r, t in zip(p.routes, inst.teams, strict=True):
        assert route_time(inst, t, [by_id[i] for i in r.sites]) <= req.hours_per_day + 1e-9
    visited = [i for r in p.routes for i in r.sites]
    assert len(visited) == len(set(visited)) > 0
    g = greedy(inst)
    for r, t in zip(g.routes, inst.teams, strict=True):
        assert route_time(inst, t, [by_id[i] for i in r.sites]) <= req.hours_per_day + 1e-9
    assert p.total_prize > 0 and g.total_prize > 0


def test_two_searches_plan_at_least_as_well_as_one(conn):
    """`riskmap plan --searches 2`: with an iteration cap binding, the plan of two searches side by side is
    feasible and covers at least the risk of one search's plan (its first search is that search)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, inst, one = plan(conn, request(iterations=200, time_limit_s=60))
        _, _, two = plan(conn, request(iterations=200, time_limit_s=60, searches=2))
    by_id = {s.id: s for s in inst.sites}
    for r, t in zip(two.routes, inst.teams, strict=True):
        assert route_time(inst, t, [by_id[i] for i in r.sites]) <= 8 + 1e-9
    assert two.total_prize >= one.total_prize > 0


@pytest.mark.parametrize(("kw", "words"), [
    ({"area": "999999"}, "999999"),
    ({"teams": 0}, "teams"),
    ({"days": 0}, "days"),
    ({"hours_per_day": 0}, "hours"),
    ({"min_level": "purple"}, "min_level"),
    ({"searches": 0}, "searches"),
    ({"searches": 10_000}, "searches"),
])
def test_bad_requests_are_clear_errors(conn, kw, words):
    """An unknown area, no teams, no days, no hours or an unknown level: an error naming it."""
    with pytest.raises(InstanceError, match=words):
        plan(conn, request(**kw))


def test_overdue_sites_are_must_visit_and_visited(conn):
    """With overdue_days, the candidates last inspected longer ago than that before the first day are
    must-visit, and the plan visits every one of them."""
    cands = candidate_sites(conn, request(min_level="orange"))
    dated = sorted((s.last_inspection for s in cands.sites if s.last_inspection), reverse=False)
    assert len(dated) >= 3
    first_day = dated[1] + dt.timedelta(days=31)  # the two oldest inspections are more than 30 days old
    req = request(min_level="orange", overdue_days=30, today=first_day)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cands, inst, p = plan(conn, req)
    overdue = {s.key for s in cands.sites if s.must_visit == "overdue"}
    assert overdue == {s.key for s in cands.sites if s.last_inspection and (first_day - s.last_inspection).days > 30}
    assert len(overdue) >= 2
    assert overdue <= {i for r in p.routes for i in r.sites}


def test_named_sites_join_whatever_their_level(conn):
    """A must-visit site below the minimum level, and a time-window site, are candidates all the same; the
    window is honoured; an unknown one is an error naming it."""
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM feature_risk r JOIN enterprise e ON e.id = r.feature_id AND r.kind = 'enterprise' "
                    "WHERE r.level = 'blue' ORDER BY r.score, id LIMIT 1")
        (blue,) = cur.fetchone()
    req = request(min_level="red", must_visit=(f"enterprise.{blue}",),
                  time_windows={f"enterprise.{blue}": ("10:00", "11:00")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cands, inst, p = plan(conn, req)
    doc = schedule.build(req, cands, inst, p)
    stop = next(s for t in doc["teams"] for d in t["days"] for s in d["stops"] if s["id"] == blue)
    assert stop["must_visit"] == "named" and stop["level"] == "blue"
    assert "10:00" <= stop["start"] <= "11:00"
    with pytest.raises(InstanceError, match="enterprise.999999999"):
        candidate_sites(conn, request(must_visit=("enterprise.999999999",)))


def test_plans_are_stored_and_read_back(conn):
    """A saved plan reads back the same, with its id, creation time and the risk model's version."""
    req = request(teams=1, days=1, time_limit_s=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cands, inst, p = plan(conn, req)
    saved = plan_store.save(conn, schedule.build(req, cands, inst, p), "test")
    loaded = plan_store.load(conn, saved["id"])
    assert loaded == saved and loaded["model_version"]
    assert plan_store.recent(conn, 1)[0]["id"] == saved["id"]
    with pytest.raises(NotFound, match="no inspection plan"):
        plan_store.load(conn, 10**12)
