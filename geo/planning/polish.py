"""An exact post-optimisation of a plan's routes (issue 17): the sites left out are inserted wherever a route has
room, and a visited site (or a run of them) is swapped for left-out ones worth more in all, every move checked
exactly in integer times.

The solver's search (PyVRP) prices a window missed or a budget overrun with a penalty and looks only among each
site's nearest neighbours; near the edge of a window it can leave out a site that fits.  Here every position of
every route is tried, for every site left out, with the classic test of the orienteering literature
(Vansteenwegen et al. 2009): a route's schedule keeps, for each visit, the time waited before it and how far its
start may move later (``slack``), so inserting a site before a visit is feasible when the delay it causes there
is at most that visit's wait plus slack.  Only moves that raise the prize are made: a plan comes out with at
least the prize it went in with, and every route stays feasible.

Times are the solver's integers (geo/planning/instance.py scales and rounds them so that a route feasible here is
feasible for the exact times).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sites:
    """The sites, in the integer times of ``travel``."""

    travel: np.ndarray  # (n, n) int64: travel between the depots (the first ``first`` rows) and then the sites
    first: int  # row of the first site in ``travel``
    service: np.ndarray  # int64 per site
    early: np.ndarray  # int64 per site: its window opens
    late: np.ndarray  # int64 per site: its window closes (the latest start of its service)
    prize: np.ndarray  # float64 per site
    must_visit: np.ndarray  # bool per site: never removed


@dataclass(frozen=True)
class Shift:
    """What a route may do: leave ``start`` (a depot row of ``travel``) at 0, be back at ``end`` by ``budget``."""

    start: int
    end: int
    budget: int


@dataclass
class _Schedule:
    rows: np.ndarray  # travel rows: start depot, the visits, end depot
    leave: np.ndarray  # when the route leaves each node but the last
    arrive: np.ndarray  # when it reaches each node but the first
    slack: np.ndarray  # how much later each node but the first may be reached (its wait plus how far its start
    # may move), so that every later window and the budget still hold


def _schedule(sites: Sites, shift: Shift, visits: list[int]) -> _Schedule | None:
    """The route's times (None if it is not feasible)."""
    rows = np.array([shift.start, *(sites.first + v for v in visits), shift.end], dtype=np.int64)
    legs = sites.travel[rows[:-1], rows[1:]].tolist()
    idx = np.asarray(visits, dtype=np.int64)
    early, late, service = (a[idx].tolist() for a in (sites.early, sites.late, sites.service))
    n = len(visits)
    leave, arrive, begin = [0] * (n + 1), [0] * (n + 1), [0] * n
    t = 0
    for i in range(n):
        t += legs[i]
        if t > late[i]:
            return None
        arrive[i] = t
        t = max(t, early[i])
        begin[i] = t
        t += service[i]
        leave[i + 1] = t
    arrive[n] = t + legs[n]
    if arrive[n] > shift.budget:
        return None
    slack = [0] * (n + 1)
    slack[n] = shift.budget - arrive[n]
    for i in range(n - 1, -1, -1):
        # the visit's start may move by min(its window's end - start, the next node's slack); its arrival by
        # that plus the time it waits
        slack[i] = (begin[i] - arrive[i]) + min(late[i] - begin[i], slack[i + 1])
    return _Schedule(rows, np.array(leave, dtype=np.int64), np.array(arrive, dtype=np.int64),
                     np.array(slack, dtype=np.int64))


def _insertions(sites: Sites, sched: _Schedule, candidates: np.ndarray):
    """For every (position, candidate): whether inserting it there is feasible, and the delay it causes at the
    next node (arrays of shape (len(visits) + 1, len(candidates)))."""
    crow = sites.first + candidates
    arrive = sched.leave[:, None] + sites.travel[sched.rows[:-1]][:, crow]
    begin = np.maximum(arrive, sites.early[candidates][None, :])
    reach_next = begin + sites.service[candidates][None, :] + sites.travel[crow][:, sched.rows[1:]].T
    delay = reach_next - sched.arrive[:, None]
    ok = (arrive <= sites.late[candidates][None, :]) & (delay <= sched.slack[:, None])
    return ok, delay


def _best_insertion(sites: Sites, sched: _Schedule, candidates: np.ndarray):
    """The feasible insertion of the most prize (the least delay among equals): (position, candidate index into
    ``candidates``, delay), or None."""
    if len(candidates) == 0:
        return None
    ok, delay = _insertions(sites, sched, candidates)
    if not ok.any():
        return None
    prize = np.broadcast_to(sites.prize[candidates][None, :], ok.shape)
    best_prize = prize[ok].max()
    pick = ok & (prize == best_prize)
    flat = int(np.argmin(np.where(pick, delay, np.iinfo(np.int64).max)))
    pos, c = divmod(flat, len(candidates))
    return pos, c, int(delay[pos, c])


def _fill(sites: Sites, shift: Shift, visits: list[int], left: set[int]) -> list[int]:
    """``visits`` with left-out sites inserted, the most prize first, while any fits (``left`` is updated)."""
    visits = list(visits)
    while left:
        sched = _schedule(sites, shift, visits)
        candidates = np.fromiter(sorted(left), dtype=np.int64)
        found = _best_insertion(sites, sched, candidates)
        if found is None:
            break
        pos, c, _ = found
        visits.insert(pos, int(candidates[c]))
        left.discard(int(candidates[c]))
    return visits


def polish(sites: Sites, shifts: list[Shift], routes: list[list[int]], width: int = 3, max_rounds: int = 50,
           deadline: float | None = None) -> list[list[int]]:
    """The routes (site indices, one list per shift, every one feasible) after insertions and swaps that raise the
    prize, until none is left (or ``max_rounds`` rounds, or the ``deadline`` of time.monotonic() is past: every
    step leaves the routes feasible, so stopping anywhere is safe).  Each round: every site left out that fits
    anywhere is inserted (the most prize first, where it delays the route least); then, route by route, each
    visit that is not must-visit, and each run of up to ``width`` consecutive such visits, is taken out and the
    route refilled from the sites left out (the most prize first), kept when the prize rises.  ValueError when
    a route given is not feasible or a site is visited twice."""
    if width < 1:
        raise ValueError(f"width: at least 1 visit taken out at a time, got {width}")
    if len(shifts) != len(routes):
        raise ValueError(f"routes: {len(routes)} routes for {len(shifts)} shifts")
    routes = [list(r) for r in routes]
    for shift, visits in zip(shifts, routes, strict=True):
        if _schedule(sites, shift, visits) is None:
            raise ValueError(f"routes: the route {visits} is not feasible for its shift")
    seen = [v for r in routes for v in r]
    if len(seen) != len(set(seen)):
        raise ValueError("routes: a site is visited twice")
    left = {int(i) for i in np.flatnonzero(sites.prize > 0)} - set(seen)
    for _ in range(max_rounds):
        changed = False
        # insert anywhere: the best insertion over all routes, one at a time
        while left:
            candidates = np.fromiter(sorted(left), dtype=np.int64)
            best = None
            for r, (shift, visits) in enumerate(zip(shifts, routes, strict=True)):
                found = _best_insertion(sites, _schedule(sites, shift, visits), candidates)
                if found is not None:
                    key = (sites.prize[candidates[found[1]]], -found[2])
                    if best is None or key > best[0]:
                        best = (key, r, found)
            if best is None:
                break
            _, r, (pos, c, _) = best
            routes[r].insert(pos, int(candidates[c]))
            left.discard(int(candidates[c]))
            changed = True
        # swap: one visit out, the route refilled from the sites left out, kept when the prize rises
        for r, shift in enumerate(shifts):
            i = 0
            while i < len(routes[r]) and (deadline is None or time.monotonic() < deadline):
                out = routes[r][i]
                if sites.must_visit[out]:
                    i += 1
                    continue
                done = False
                for w in range(1, width + 1):
                    outs = routes[r][i:i + w]
                    if len(outs) < w or any(sites.must_visit[o] for o in outs):
                        break
                    trial_left = set(left)
                    refilled = _fill(sites, shift, routes[r][:i] + routes[r][i + w:], trial_left)
                    gain = sum(sites.prize[v] for v in refilled) - sum(sites.prize[v] for v in routes[r])
                    if gain > 1e-9:
                        routes[r] = refilled
                        left = trial_left | {o for o in outs if sites.prize[o] > 0}
                        changed = done = True
                        break
                if not done:
                    i += 1
        if not changed or (deadline is not None and time.monotonic() >= deadline):
            break
    return routes
