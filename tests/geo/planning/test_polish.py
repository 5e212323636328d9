"""The exact post-optimisation of plans (geo/planning/polish.py): insertions of left-out sites and swaps that
raise the prize, every route kept feasible, checked against a plain step-by-step timing of each route."""

from __future__ import annotations

import random

import numpy as np
import pytest

from geo.planning.polish import Shift, Sites, polish


def line_sites(positions, prizes, windows, service=None, must_visit=None) -> Sites:
    """Sites on a line (depot at 0, row 0), travel the integer distance between positions."""
    points = np.array([0, *positions], dtype=np.int64)
    n = len(positions)
    return Sites(travel=np.abs(points[:, None] - points[None, :]), first=1,
                 service=np.array(service or [0] * n, dtype=np.int64),
                 early=np.array([w[0] for w in windows], dtype=np.int64),
                 late=np.array([w[1] for w in windows], dtype=np.int64),
                 prize=np.array(prizes, dtype=np.float64),
                 must_visit=np.array(must_visit or [False] * n, dtype=bool))


def route_end(sites: Sites, shift: Shift, visits: list[int]) -> int | None:
    """When the route is back (None if a window is missed or the budget broken), timed one step at a time."""
    t, here = 0, shift.start
    for v in visits:
        t += int(sites.travel[here, sites.first + v])
        if t > sites.late[v]:
            return None
        t = max(t, int(sites.early[v])) + int(sites.service[v])
        here = sites.first + v
    t += int(sites.travel[here, shift.end])
    return t if t <= shift.budget else None


def test_polish_inserts_a_site_reached_exactly_as_its_window_closes():
    """A site 10 away whose window closes at 10 is inserted into an empty route (budget 20); closing at 9 it is
    not."""
    shift = Shift(0, 0, 20)
    assert polish(line_sites([10], [5], [(0, 10)]), [shift], [[]]) == [[0]]
    assert polish(line_sites([10], [5], [(0, 9)]), [shift], [[]]) == [[]]


def test_polish_swaps_a_visit_for_a_left_out_site_worth_more():
    """With room for one of two sites, a route visiting the one worth 1 ends visiting the one worth 5."""
    sites = line_sites([4, -4], [1, 5], [(0, 100), (0, 100)])
    assert polish(sites, [Shift(0, 0, 10)], [[0]]) == [[1]]


def test_polish_swaps_one_visit_for_two_worth_more_in_all():
    """A site worth 5 far out is given up for two near sites worth 3 each that fit together in its place."""
    sites = line_sites([10, -2, -3], [5, 3, 3], [(0, 100)] * 3)
    assert sorted(polish(sites, [Shift(0, 0, 20)], [[0]])[0]) == [1, 2]


def test_polish_swaps_two_consecutive_visits_for_one_worth_more_only_with_width_two():
    """Two sites worth 3 each (5 and 6 out, a route of 12) give way to one worth 7 on the other side (a round
    trip of 14, the budget) when runs of two visits may be taken out; one at a time, neither leaves room."""
    sites = line_sites([5, 6, -7], [3, 3, 7], [(0, 100)] * 3)
    assert polish(sites, [Shift(0, 0, 14)], [[0, 1]], width=1) == [[0, 1]]
    assert polish(sites, [Shift(0, 0, 14)], [[0, 1]], width=2) == [[2]]


def test_polish_keeps_must_visit_sites():
    """A must-visit site worth nothing stays visited even where a left-out site worth more would fit instead."""
    sites = line_sites([4, -4], [0, 5], [(0, 100), (0, 100)], must_visit=[True, False])
    assert polish(sites, [Shift(0, 0, 10)], [[0]]) == [[0]]


def test_polish_waits_for_a_window_and_counts_the_wait():
    """A site 1 away that opens at 8 and takes 2 to inspect is back at 11: a budget of 10 cannot take it."""
    sites = line_sites([1], [5], [(8, 20)], service=[2])
    assert polish(sites, [Shift(0, 0, 10)], [[]]) == [[]]
    assert polish(sites, [Shift(0, 0, 11)], [[]]) == [[0]]


@pytest.mark.parametrize("seed", range(25))
def test_polish_on_random_instances_keeps_routes_feasible_and_never_loses_prize(seed):
    """On random instances with windows, service times and several routes (some with different depots): every
    polished route is feasible when timed step by step, no site is visited twice, the prize never falls, and no
    left-out site with a prize fits anywhere afterwards (tried at every position of every route)."""
    rng = random.Random(seed)
    n, depots = rng.randint(5, 25), 2
    xy = np.array([[rng.uniform(0, 50), rng.uniform(0, 50)] for _ in range(depots + n)])
    travel = np.floor(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 10).astype(np.int64)
    early = np.array([rng.choice([0, rng.randint(0, 600)]) for _ in range(n)], dtype=np.int64)
    sites = Sites(travel=travel, first=depots, service=np.array([rng.randint(0, 40) for _ in range(n)]),
                  early=early, late=early + np.array([rng.randint(30, 400) for _ in range(n)]),
                  prize=np.array([rng.choice([0, rng.randint(1, 30)]) for _ in range(n)], dtype=np.float64),
                  must_visit=np.array([rng.random() < 0.1 for _ in range(n)]))
    ends = [(rng.randrange(depots), rng.randrange(depots)) for _ in range(rng.randint(1, 3))]
    shifts = [Shift(a, b, int(travel[a, b]) + rng.randint(300, 1000)) for a, b in ends]
    routes: list[list[int]] = [[] for _ in shifts]
    for v in rng.sample(range(n), n):  # a random feasible start: each site appended where it still fits
        for r, shift in enumerate(shifts):
            if route_end(sites, shift, routes[r] + [v]) is not None:
                routes[r].append(v)
                break
    before = sum(sites.prize[v] for r in routes for v in r)
    must_before = {v for r in routes for v in r if sites.must_visit[v]}
    out = polish(sites, shifts, routes)
    visited = [v for r in out for v in r]
    assert len(visited) == len(set(visited))
    assert all(route_end(sites, shift, r) is not None for shift, r in zip(shifts, out, strict=True))
    assert sum(sites.prize[v] for v in visited) >= before
    assert must_before <= set(visited)
    for v in set(range(n)) - set(visited):
        if sites.prize[v] > 0:
            assert not any(route_end(sites, shift, r[:i] + [v] + r[i:]) is not None
                           for shift, r in zip(shifts, out, strict=True) for i in range(len(r) + 1)), v


def test_polish_refuses_a_route_that_is_not_feasible():
    """A route that misses a window is refused, naming the routes argument."""
    sites = line_sites([10], [5], [(0, 9)])
    with pytest.raises(ValueError, match="routes: the route \\[0\\] is not feasible"):
        polish(sites, [Shift(0, 0, 100)], [[0]])


def test_polish_refuses_a_site_visited_twice():
    """A site in two routes is refused."""
    sites = line_sites([1], [5], [(0, 9)])
    with pytest.raises(ValueError, match="visited twice"):
        polish(sites, [Shift(0, 0, 100), Shift(0, 0, 100)], [[0], [0]])
