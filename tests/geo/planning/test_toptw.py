"""The team orienteering problem with time windows (issue 17, item 1): bench/plan's reader of the Cordeau TOPTW
format, and the planner's tours on TOPTW instances small enough to try every plan, checked exactly (integer
hundredths) in the instances' convention (distances rounded down to hundredths)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from geo.planning.instance import parse, solve

ROOT = Path(__file__).resolve().parents[3]
SHARED_PR01 = ROOT.parent / "shared" / "bench" / "toptw" / "pr01.txt"


def _bench_toptw():
    spec = importlib.util.spec_from_file_location("bench_plan_toptw", ROOT / "bench" / "plan" / "toptw.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


toptw = _bench_toptw()


def tiny(seed: int, customers: int, close: int = 100) -> str:
    """A TOPTW file in the shared format: coordinates with three decimals, whole service times and windows that
    bite (some customers open late, some close early), the depot closing at ``close``."""
    rng = random.Random(seed)
    lines = [f"5 2 {customers} 4", "0 0", f" 0 0.000 0.000 0 0 0 0 0 {close}"]
    for i in range(1, customers + 1):
        x, y = (round(rng.uniform(-25, 25), 3) for _ in range(2))
        open_ = rng.choice([0, 0, rng.randint(10, 50)])
        shut = min(close, open_ + rng.randint(8, 60))
        lines.append(f" {i} {x:.3f} {y:.3f} {rng.randint(0, 6)} {rng.randint(1, 20)} 1 4 1 2 4 8 {open_} {shut}")
    return "\n".join(lines) + "\n"


def best_by_brute_force(inst, tours: int) -> int:
    """The best score over every set of at most ``tours`` disjoint tours, every order of each tour tried, timed
    exactly by the checker."""
    customers = inst.customers

    def fits(order) -> bool:
        try:
            toptw.check(inst, 1, {"routes": [{"team": "t", "sites": [f"c{v.id}" for v in order]}],
                                  "total_prize": sum(v.score for v in order)})
            return True
        except AssertionError:
            return False

    feasible = {}  # bitmask of customers -> score, for the sets one tour can serve
    for mask in range(1 << len(customers)):
        chosen = [v for k, v in enumerate(customers) if mask >> k & 1]
        if any(fits(order) for order in itertools.permutations(chosen)):
            feasible[mask] = int(sum(v.score for v in chosen))
    best = {0: 0}
    for _ in range(tours):
        best = {a | b: sa + sb for a, sa in best.items() for b, sb in feasible.items() if not a & b} | best
    return max(best.values())


@pytest.mark.parametrize(("seed", "customers", "tours"), [(1, 7, 1), (2, 7, 2), (3, 8, 2), (4, 7, 3)])
def test_tiny_toptw_instances_reach_the_brute_force_optimum(tmp_path, seed, customers, tours):
    """On TOPTW instances small enough to try every plan, the planner reaches the optimum, and every tour keeps
    its windows, its service times and the depot's closing time, checked in integer hundredths."""
    path = tmp_path / f"tiny{seed}.txt"
    path.write_text(tiny(seed, customers))
    inst = toptw.read(path)
    doc = toptw.as_instance(inst, tours, 2, 1)
    plan = solve(parse(doc)).as_json()
    score, ends = toptw.check(inst, tours, plan)
    assert max(ends) <= 100 * 100
    optimum = best_by_brute_force(inst, tours)
    assert optimum > 0
    assert score == optimum


def test_waiting_at_the_start_counts_against_the_budget():
    """A route leaves at 0: a site 1 away opening at 5 is back at 6 at the earliest, so a budget of 5.5 cannot
    take it (the solver once started such a route late, skipping the wait) and a budget of 6 can."""
    doc = {"sites": [{"id": "a", "x": 1, "y": 0, "prize": 5, "tw": [5, 6]}], "time_limit_s": 1,
           "teams": [{"id": "t", "start": {"x": 0, "y": 0}, "budget": 5.5}]}
    assert solve(parse(doc)).total_prize == 0
    doc["teams"][0]["budget"] = 6
    assert solve(parse(doc)).total_prize == 5


def test_travel_rounded_down_to_hundredths():
    """With travel_decimals 2 rounded down, a site 1.999 away is 1.99 away: its round trip (3.98) fits a budget
    of 3.985, which the exact distance (3.998) does not."""
    doc = {"sites": [{"id": "a", "x": 1.999, "y": 0, "prize": 5}], "time_limit_s": 1,
           "teams": [{"id": "t", "start": {"x": 0, "y": 0}, "budget": 3.985}]}
    assert solve(parse(doc)).total_prize == 0
    doc |= {"travel_decimals": 2, "travel_rounding": "down"}
    inst = parse(doc)
    assert inst.travel((0, 0), (1.999, 0)) == 1.99
    assert solve(inst).total_prize == 5
    doc["travel_rounding"] = "up"
    assert parse(doc).travel((0, 0), (1.991, 0)) == 2.0


@pytest.mark.parametrize(("extra", "words"), [
    ({"travel_decimals": -1}, "travel_decimals"),
    ({"travel_decimals": 2.5}, "travel_decimals"),
    ({"travel_decimals": 2, "travel_rounding": "sideways"}, "travel_rounding"),
    ({"travel_rounding": "down"}, "without travel_decimals"),
])
def test_bad_travel_rounding_names_the_field(extra, words):
    from geo.planning.instance import InstanceError

    doc = {"sites": [], "teams": [{"id": "t", "start": {"x": 0, "y": 0}, "budget": 1}], **extra}
    with pytest.raises(InstanceError, match=words):
        parse(doc)


def test_reader_reads_pr01_as_the_format_says():
    """pr01 (checked by hand against the file): 48 customers; the depot at (-10.442, 19.999) closes at 1000;
    customer 1 and customer 13 (whose list is longer: O and C are the last two tokens) and customer 48; the
    distance depot -> 1 is 48.1674... rounded down to 48.16."""
    assert SHARED_PR01.exists(), f"the shared TOPTW data is not at {SHARED_PR01}"
    inst = toptw.read(SHARED_PR01)
    assert len(inst.customers) == 48
    assert (float(inst.depot.x), float(inst.depot.y), float(inst.budget)) == (-10.442, 19.999, 1000)
    c1, c13, c48 = inst.customers[0], inst.customers[12], inst.customers[47]
    assert (c1.id, float(c1.x), float(c1.y), c1.service, c1.score, c1.open, c1.close) == \
        (1, -29.730, 64.136, 2, 12, 354, 509)
    assert (c13.id, c13.service, c13.score, c13.open, c13.close) == (13, 2, 9, 368, 528)
    assert (c48.id, float(c48.x), c48.service, c48.score, c48.open, c48.close) == (48, 42.883, 17, 10, 98, 233)
    assert toptw.distance_hundredths(inst.depot, c1) == 4816
    doc = toptw.as_instance(inst, 3, 10, 1)
    assert len(doc["teams"]) == 3 and all(t["budget"] == 1000 for t in doc["teams"])
    assert doc["sites"][0] == {"id": "c1", "x": -29.73, "y": 64.136, "prize": 12, "service": 2, "tw": [354, 509]}
    assert parse(doc).travel((-10.442, 19.999), (-29.73, 64.136)) == 48.16


def test_checker_refuses_a_late_tour(tmp_path):
    """The exact check refuses a tour that reaches a customer after its window closes, and a customer twice."""
    path = tmp_path / "late.txt"
    path.write_text("5 1 2 4\n0 0\n 0 0.000 0.000 0 0 0 0 0 100\n 1 3.000 4.000 1 5 1 4 1 2 4 8 0 6\n"
                    " 2 6.000 8.000 1 7 1 4 1 2 4 8 0 100\n")
    inst = toptw.read(path)
    assert toptw.check(inst, 1, {"routes": [{"team": "t", "sites": ["c1", "c2"]}], "total_prize": 12})[0] == 12
    with pytest.raises(AssertionError, match="after its window"):
        toptw.check(inst, 1, {"routes": [{"team": "t", "sites": ["c2", "c1"]}], "total_prize": 12})
    with pytest.raises(AssertionError, match="twice"):
        toptw.check(inst, 2, {"routes": [{"team": "a", "sites": ["c1"]}, {"team": "b", "sites": ["c1"]}],
                              "total_prize": 10})


def test_plan_instance_cli_on_a_converted_instance(tmp_path):
    """The converted JSON goes through `riskmap plan-instance` as the benchmark runs it, and its tours check."""
    txt = tmp_path / "tiny.txt"
    txt.write_text(tiny(5, 7))
    inst = toptw.read(txt)
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(toptw.as_instance(inst, 2, 2, 1)))
    out = subprocess.run([sys.executable, "-m", "api.cli", "plan-instance", str(path)], capture_output=True,
                         text=True, check=True).stdout
    score, _ = toptw.check(inst, 2, json.loads(out))
    assert score == best_by_brute_force(inst, 2)


@pytest.mark.parametrize("seed", [11, 12])
def test_no_left_out_customer_fits_into_a_tour_of_the_plan(tmp_path, seed):
    """On a TOPTW instance of 60 customers searched for a few hundred iterations, the plan's tours are exactly
    feasible, and no customer left out (with a score) could be added to any tour at any position: the exact
    post-optimisation (geo/planning/polish.py) has tried them all, as the exact check in hundredths confirms."""
    path = tmp_path / f"mid{seed}.txt"
    path.write_text(tiny(seed, 60, close=160))
    inst = toptw.read(path)
    doc = toptw.as_instance(inst, 2, 30, seed) | {"iterations": 300}
    plan = solve(parse(doc)).as_json()
    score, _ = toptw.check(inst, 2, plan)
    visited = {c for r in plan["routes"] for c in r["sites"]}
    for v in inst.customers:
        if f"c{v.id}" in visited or v.score == 0:
            continue
        for k, route in enumerate(plan["routes"]):
            for i in range(len(route["sites"]) + 1):
                trial = [dict(r) for r in plan["routes"]]
                trial[k]["sites"] = route["sites"][:i] + [f"c{v.id}"] + route["sites"][i:]
                with pytest.raises(AssertionError):
                    toptw.check(inst, 2, {"routes": trial, "total_prize": score + v.score})
