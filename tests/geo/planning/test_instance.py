"""The planning instance solver (issue 6, item 5): team orienteering with time windows, PyVRP underneath."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys

import pytest

from geo.planning.instance import InstanceError, parse, route_time, solve


def instance(sites, teams, **extra) -> dict:
    return {"metric": "euclidean", "sites": sites, "teams": teams, "time_limit_s": 2, "seed": 1, **extra}


def site(i, x, y, prize, **kw) -> dict:
    return {"id": f"s{i}", "x": x, "y": y, "prize": prize, **kw}


def team(i, budget, start=(0.0, 0.0), end=None) -> dict:
    end = end or start
    return {"id": f"t{i}", "start": {"x": start[0], "y": start[1]}, "end": {"x": end[0], "y": end[1]},
            "budget": budget}


def brute_force(inst) -> float:
    """The best total prize over every assignment of sites to teams and every order (tiny instances only)."""
    sites = inst.sites
    best = 0.0
    for labels in itertools.product(range(len(inst.teams) + 1), repeat=len(sites)):  # 0 = not visited
        total = 0.0
        ok = True
        for k, t in enumerate(inst.teams, start=1):
            mine = [s for s, lab in zip(sites, labels, strict=True) if lab == k]
            fits = any(route_time(inst, t, list(order)) <= t.budget + 1e-9 for order in itertools.permutations(mine))
            if not fits:
                ok = False
                break
            total += sum(s.prize for s in mine)
        if ok:
            best = max(best, total)
    return best


SMALL = [
    instance([site(1, 1, 0, 5), site(2, 2, 0, 4), site(3, 0, 3, 8), site(4, -2, -2, 3), site(5, 4, 4, 9),
              site(6, -3, 1, 2)], [team(1, 9.0), team(2, 6.0)]),
    instance([site(1, 1, 1, 3), site(2, 5, 1, 7), site(3, 5, 5, 6), site(4, 1, 5, 4), site(5, 3, 3, 10)],
             [team(1, 12.0, (0, 0), (6, 6))]),
    instance([site(1, 2, 0, 5, service=1.0, tw=[0, 3]), site(2, 4, 0, 6, tw=[6, 8]), site(3, 0, 2, 4, service=0.5),
              site(4, 3, 3, 8, tw=[0, 4]), site(5, -1, -1, 2)], [team(1, 10.0), team(2, 5.0)]),
]


@pytest.mark.parametrize("doc", SMALL)
def test_small_instances_reach_the_brute_force_optimum(doc):
    """On instances small enough to try every plan, the solver finds the best total prize, and every route keeps
    its budget and the time windows (checked with exact, unrounded times)."""
    inst = parse(doc)
    plan = solve(inst)
    assert plan.total_prize == pytest.approx(brute_force(inst))
    by_id = {s.id: s for s in inst.sites}
    for r, t in zip(plan.routes, inst.teams, strict=True):
        assert route_time(inst, t, [by_id[i] for i in r.sites]) <= t.budget + 1e-9
    visited = [i for r in plan.routes for i in r.sites]
    assert len(visited) == len(set(visited))


def test_budget_is_exact_not_rounded():
    """A site whose round trip takes a hair more than the budget is left out (the solver's integers round up)."""
    d = 2.5
    doc = instance([site(1, d, 0, 10)], [team(1, 2 * d - 1e-6)])
    assert solve(parse(doc)).total_prize == 0
    doc = instance([site(1, d, 0, 10)], [team(1, 2 * d + 1e-3)])
    assert solve(parse(doc)).total_prize == 10


def test_must_visit_sites_are_visited():
    """A must-visit site is in the plan even when its prize is nothing."""
    doc = instance([site(1, 3, 0, 0, must_visit=True), site(2, -3, 0, 9), site(3, -3.5, 0, 9)], [team(1, 8.0)])
    plan = solve(parse(doc))
    assert "s1" in plan.routes[0].sites


def test_impossible_must_visit_is_a_clear_error():
    """A must-visit site no team can reach within its budget is an error that names the must-visit sites."""
    doc = instance([site(1, 50, 0, 1, must_visit=True)], [team(1, 10.0)])
    with pytest.raises(InstanceError, match="s1"):
        solve(parse(doc))


def test_same_seed_same_plan():
    """With the iteration cap binding, the same seed gives the same plan."""
    doc = instance([site(i, math.cos(i) * i, math.sin(i) * i, (i * 7) % 10 + 1) for i in range(1, 30)],
                   [team(1, 25.0), team(2, 20.0)], iterations=300, time_limit_s=60)
    a, b = solve(parse(doc)).as_json(), solve(parse(doc)).as_json()
    assert a == b


def test_haversine_metric_uses_speed_and_circuity():
    """With lon/lat points, travel time is great-circle km x circuity / speed: a site 10 km away at 40 km/h and
    circuity 1.3 is 0.325 h away, 0.65 h there and back."""
    far = 10 / 111.195  # degrees of latitude for 10 km on the mean sphere
    doc = {"metric": "haversine", "speed_kmh": 40, "circuity": 1.3, "time_limit_s": 1, "seed": 1,
           "sites": [{"id": "a", "lon": 118.0, "lat": 39.0 + far, "prize": 5}],
           "teams": [{"id": "t", "start": {"lon": 118.0, "lat": 39.0}, "budget": 0.651}]}
    assert solve(parse(doc)).total_prize == 5
    doc["teams"][0]["budget"] = 0.649
    assert solve(parse(doc)).total_prize == 0


@pytest.mark.parametrize(("doc", "words"), [
    ({"sites": [], "teams": []}, "teams"),
    ({"sites": [], "teams": [{"id": "t", "start": {"x": 0, "y": 0}, "budget": 0}]}, "budget"),
    ({"metric": "manhattan", "sites": [], "teams": []}, "metric"),
    ({"sites": [{"id": "a", "x": 0, "y": 0, "prize": 1, "tw": [5, 1]}],
      "teams": [{"id": "t", "start": {"x": 0, "y": 0}, "budget": 1}]}, "tw"),
    ({"sites": [{"id": "a", "x": 0, "y": 0}, {"id": "a", "x": 1, "y": 1}],
      "teams": [{"id": "t", "start": {"x": 0, "y": 0}, "budget": 1}]}, "twice"),
    ({"sites": [{"id": "a", "x": "east", "y": 0}], "teams": [{"id": "t", "start": {"x": 0, "y": 0}, "budget": 1}]},
     "sites[0].x"),
    ({"metric": "haversine", "sites": [{"id": "a", "x": 1, "y": 1}],
      "teams": [{"id": "t", "start": {"lon": 0, "lat": 0}, "budget": 1}]}, "lon"),
])
def test_bad_instances_name_the_field(doc, words):
    """An instance that cannot be solved as given is refused with a message naming the field."""
    with pytest.raises(InstanceError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse(doc)


def test_cli_prints_the_solution_as_json(tmp_path):
    """`riskmap plan-instance FILE.json` prints the routes and the total prize as JSON; a bad file exits 2 with
    the reason."""
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(SMALL[1]))
    r = subprocess.run([sys.executable, "-m", "api.cli", "plan-instance", str(path)], capture_output=True,
                       text=True, check=True)
    out = json.loads(r.stdout)
    assert out["total_prize"] == pytest.approx(brute_force(parse(SMALL[1])))
    assert [route["team"] for route in out["routes"]] == ["t1"]
    path.write_text(json.dumps({"sites": [], "teams": []}))
    r = subprocess.run([sys.executable, "-m", "api.cli", "plan-instance", str(path)], capture_output=True, text=True)
    assert r.returncode == 2 and "teams" in r.stderr
