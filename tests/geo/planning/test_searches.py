"""Independent searches side by side (`riskmap plan-instance --searches N`, the instance's "searches"): each runs
in a process of its own from its own seeds, and the plan of the most prize is kept."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from geo.planning.instance import InstanceError, _best_visits, parse, solve
from tests.geo.planning.test_toptw import tiny, toptw


def _mid(tmp_path, seed: int, iterations: int = 300) -> tuple:
    path = tmp_path / f"mid{seed}.txt"
    path.write_text(tiny(seed, 60, close=160))
    inst = toptw.read(path)
    return inst, parse(toptw.as_instance(inst, 2, 60, seed) | {"iterations": iterations})


@pytest.mark.parametrize("seed", [11, 13, 19])
def test_two_searches_give_the_better_of_the_two_plans(tmp_path, seed):
    """With an iteration cap binding (so each search's plan depends on its seeds alone), two searches side by
    side give exactly the better prize of search 0 alone (the plan of one search) and search 1 alone, and the
    plan's tours are exactly feasible."""
    bench, inst = _mid(tmp_path, seed)
    one = solve(inst).total_prize
    second = _best_visits(inst, 1, time.monotonic())[1]
    both = solve(replace(inst, searches=2)).as_json()
    score, _ = toptw.check(bench, 2, both)
    assert score == max(one, second)
    assert multiprocessing.active_children() == []


def test_a_cancelled_solve_takes_the_plans_its_searches_found(tmp_path):
    """A cancel (a campaign's Ctrl-C) reaches every search: with an hour's limit, solve returns at once with a
    feasible plan, and the other search answered with its own plan rather than being killed after
    CANCEL_WAIT_S."""
    from geo.planning import instance as module

    bench, inst = _mid(tmp_path, 12, iterations=10_000_000)
    inst = replace(inst, time_limit_s=3600, searches=2)
    answered = []
    results = module._Searches.results

    def spy(self, cancelled=False):
        out = results(self, cancelled)
        answered.extend(out)
        return out

    calls = 0

    def cancel() -> bool:
        nonlocal calls
        calls += 1
        return calls > 200

    module._Searches.results = spy
    try:
        plan = solve(inst, cancel=cancel).as_json()
    finally:
        module._Searches.results = results
    toptw.check(bench, 2, plan)
    assert len(answered) == 1 and answered[0] is not None and answered[0][1] >= 0
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("value", [0, 65, "2", True, 1.5])
def test_bad_searches_names_the_field(value):
    doc = {"sites": [], "teams": [{"id": "t", "start": {"x": 0, "y": 0}, "budget": 1}], "searches": value}
    with pytest.raises(InstanceError, match="searches"):
        parse(doc)


def test_plan_instance_cli_takes_searches(tmp_path):
    """`riskmap plan-instance FILE --searches 2` solves with two searches (its tours check); --searches 0 is refused
    with exit code 2 and a message naming the option."""
    bench, inst = _mid(tmp_path, 14)
    path = tmp_path / "mid.json"
    path.write_text(json.dumps(toptw.as_instance(bench, 2, 60, 14) | {"iterations": 200}))
    out = subprocess.run([sys.executable, "-m", "api.cli", "plan-instance", str(path), "--searches", "2"],
                         capture_output=True, text=True, check=True).stdout
    toptw.check(bench, 2, json.loads(out))
    bad = subprocess.run([sys.executable, "-m", "api.cli", "plan-instance", str(path), "--searches", "0"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--searches" in bad.stderr
