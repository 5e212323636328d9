"""A city's inspection campaign in one plan (issue 17, item 3): many teams over several weeks of working days,
every scored site of an area, each level's sites visited up to its number of times in the campaign with a
minimum spacing between two visits of one site, must-visit sites (overdue, look-back, named) always, and teams
that sleep where their day ended when their base is far.

Rolling horizon: the days are planned in turn.  Each day is one team orienteering instance (geo/planning/
instance.py ``solve``, PyVRP): every team starts where it slept and ends either at its base (when the day's last
site lies within ``overnight_h`` of travel of it) or at that last site, where it sleeps (its way home is then
counted as nothing: the next day starts there).  The day's candidates are the sites with visits left whose last
visit lies at least ``spacing_days`` working days back.  The required visits (every visit of a site of a
``required_levels`` level, red by default, and one of each must-visit site) are shared out over the days left
and are required clients on their day: first the sites whose visits left would no longer fit, spaced, in the
days left, then those with the most visits left, nearest a team first; the day requires those of them its greedy
plan (required visits first) takes, so that a plan with all of them is known, and the search starts from it.  The
day keeps the search's plan, or the greedy one when that covers more risk.  The time limit is shared
over the days left as the plan goes, so a day that needs less leaves time to the next ones.

Interrupted (``cancel()`` true: Ctrl-C, a cancelled job), the day being searched keeps its best routes so far
and the days left are planned by the greedy rule (the most risk per hour of travel and inspection next,
must-visit sites first), so the plan stays whole and feasible; it says from which day on it is greedy.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field

import numpy as np

from geo.planning.instance import (
    EARTH_RADIUS_KM,
    Instance,
    InstanceError,
    Site,
    Team,
    TravelTable,
    depot_points,
    greedy_routes,
    hours_matrix,
    route_time,
    solve,
)
from geo.planning.plan import Candidates, PlanRequest, SiteInfo, candidate_sites, capacity_problem, clock_hours
from geo.risk.framework import LEVELS

DEFAULT_VISITS = {"red": 2, "orange": 1, "yellow": 1, "blue": 1}  # visits of a site in a campaign, by level
# [assumption: a month's campaign inspects a red site twice, every other site once; each bureau sets its own]
REQUIRED_LEVELS = ("red",)  # levels whose every visit is required, like a must-visit site's
DEFAULT_LIMIT_S = 300.0  # the whole campaign's search
MAX_LIMIT_S = 3600.0
MAX_CAMPAIGN_DAYS = 60  # working days (12 weeks)
POOL_BEST = 600  # a day's search considers the riskiest sites available ...
POOL_NEAR = 30  # ... and the sites nearest each team's start (where it slept)
SOLVERS = ("search", "greedy_travel", "greedy_time")  # the campaign's search, and the two greedy baselines
RESERVE = 0.03  # of the time limit kept back for the work around the searches (matrices, the document)
RESERVE_DAYS = 5  # the required visits are shared over the days left but one in this many, kept for those deferred


@dataclass(frozen=True)
class CampaignRequest:
    """A campaign.  ``sites`` says which sites, teams, days, bases, working hours, speed and must-visit rules
    (a plan's request: its ``time_limit_s`` and ``iterations`` are not used, the campaign's own limit is)."""

    sites: PlanRequest
    visits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_VISITS))
    spacing_days: int = 5  # working days from one visit of a site to its next, at least
    overnight_h: float = 1.0  # a team whose day ends further than this (travel hours) from its base sleeps there
    required_levels: tuple[str, ...] = REQUIRED_LEVELS  # their sites' visits are all required, not only worth it
    time_limit_s: float = DEFAULT_LIMIT_S
    solver: str = "search"

    def check(self) -> None:
        req = self.sites
        req.check()
        if req.travel == "roads":
            raise InstanceError("travel: a campaign travels by great-circle distance x circuity (road travel times "
                                "for several thousand sites are not available yet); use great_circle or auto")
        if not 1 <= req.days <= MAX_CAMPAIGN_DAYS:
            raise InstanceError(f"days: a campaign has 1 to {MAX_CAMPAIGN_DAYS} working days, got {req.days}")
        unknown = sorted(set(self.visits) - set(LEVELS))
        if unknown:
            raise InstanceError(f"visits: unknown level {', '.join(unknown)} (levels: {', '.join(LEVELS)})")
        bad = sorted(set(self.required_levels) - set(LEVELS))
        if bad:
            raise InstanceError(f"required_levels: unknown level {', '.join(bad)} (levels: {', '.join(LEVELS)})")
        for level, n in self.visits.items():
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= req.days:
                raise InstanceError(f"visits[{level}]: expected 0 to {req.days} visits (the campaign's days), "
                                    f"got {n!r}")
        if isinstance(self.spacing_days, bool) or not isinstance(self.spacing_days, int) or not \
                0 <= self.spacing_days <= 260:
            raise InstanceError(f"spacing_days: expected 0 to 260 working days, got {self.spacing_days!r}")
        for level, n in self.visits.items():
            if n > 1 and (n - 1) * max(1, self.spacing_days) >= req.days:
                raise InstanceError(f"visits[{level}]: {n} visits {self.spacing_days} working days apart do not "
                                    f"fit in {req.days} days; give fewer visits or a shorter spacing_days")
        if not (math.isfinite(self.overnight_h) and 0 <= self.overnight_h <= req.hours_per_day):
            raise InstanceError(f"overnight_h: expected 0 to hours_per_day ({req.hours_per_day:g}) hours, got "
                                f"{self.overnight_h}")
        if not (math.isfinite(self.time_limit_s) and 0 < self.time_limit_s <= MAX_LIMIT_S):
            raise InstanceError(f"time_limit_s: expected more than 0 and at most {MAX_LIMIT_S:g} s, got "
                                f"{self.time_limit_s}")
        if self.solver not in SOLVERS:
            raise InstanceError(f"solver: expected one of {', '.join(SOLVERS)}, got {self.solver!r}")

    def visits_of(self, level: str) -> int:
        return self.visits.get(level, DEFAULT_VISITS[level])

    def required_of(self, site: SiteInfo) -> int:
        """The visits of ``site`` the campaign must make: its level's when the level is required, at least one
        when it is a must-visit site."""
        return max(self.visits_of(site.level) if site.level in self.required_levels else 0,
                   1 if site.must_visit else 0)


def working_days(first: dt.date, count: int) -> list[dt.date]:
    """The first ``count`` working days (Monday to Friday) from ``first`` on."""
    days, d = [], first
    while len(days) < count:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def hours_between(a, b, speed_kmh: float, circuity: float):
    """Travel hours from every point of ``a`` (n x 2: lon, lat) to every point of ``b`` (m x 2): great-circle km
    x circuity at the speed (numpy, the formula of geo/planning/instance.py)."""
    a, b = np.radians(np.asarray(a, dtype=np.float64)), np.radians(np.asarray(b, dtype=np.float64))
    h = (np.sin((b[None, :, 1] - a[:, None, 1]) / 2) ** 2 + np.cos(a[:, None, 1]) * np.cos(b[None, :, 1])
         * np.sin((b[None, :, 0] - a[:, None, 0]) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h))) * circuity / speed_kmh


@dataclass
class _State:
    """Where the campaign stands between two days."""

    left: np.ndarray  # visits left, per candidate
    last: np.ndarray  # the day of the last visit (-inf: none yet)
    starts: list[tuple[float, float]]  # where each team starts its next day
    need: np.ndarray  # required visits left, per candidate (a must-visit site's, a required level's)


def _sleep_end(k: int) -> tuple[float, float]:
    """The solver's stand-in for "the day ends at base k, or where the team is when that base is far": a point
    no real site has (longitude 1000 + k), whose travel times the day's table gives."""
    return (1000.0 + k, 1000.0)


def _day_instance(creq: CampaignRequest, sites: list[SiteInfo], homes: list[tuple[float, float]],
                  state: _State, chosen: list[int], required: set[int], day: int, limit: float,
                  boost: float = 0.0) -> Instance:
    """Day ``day``'s team orienteering instance over the candidates ``chosen`` (indices), ``required`` of them
    must-visit (worth ``boost`` more than their score, so that the search's greedy start takes them first): each
    team from where it slept to its base, or to where its day ends when the base is far."""
    req = creq.sites
    distinct_homes = list(dict.fromkeys(homes))
    real = list(dict.fromkeys([*distinct_homes, *state.starts, *((sites[i].lon, sites[i].lat) for i in chosen)]))
    n = len(real)
    hours = np.full((n + len(distinct_homes), n + len(distinct_homes)), math.inf)
    hours[:n, :n] = hours_between(real, real, req.speed_kmh, req.circuity)
    for k in range(len(distinct_homes)):
        home = hours[:n, k]  # the homes are the first real points
        hours[:n, n + k] = np.where(home <= creq.overnight_h + 1e-12, home, 0.0)
        hours[n + k, n + k] = 0.0
    index = {p: i for i, p in enumerate(real)}
    index.update({_sleep_end(k): n + k for k in range(len(distinct_homes))})
    end_of = {h: _sleep_end(k) for k, h in enumerate(distinct_homes)}
    teams = [Team(f"team{t + 1}/day{day}", state.starts[t], end_of[homes[t]], req.hours_per_day)
             for t in range(len(homes))]
    day_sites = [Site(sites[i].key, sites[i].lon, sites[i].lat, sites[i].score + (boost if i in required else 0.0),
                      sites[i].service, sites[i].tw, i in required) for i in chosen]
    return Instance(day_sites, teams, "haversine", req.speed_kmh, req.circuity, limit, req.seed + day, None,
                    TravelTable(index, hours))


def _available(creq: CampaignRequest, state: _State, day: int) -> np.ndarray:
    spaced = (day - state.last) >= max(1, creq.spacing_days)
    return np.flatnonzero((state.left > 0) & spaced)


def _pool(sites: list[SiteInfo], avail: np.ndarray, starts, required: set[int], creq: CampaignRequest,
          whole: bool) -> list[int]:
    """The candidates a day considers: every one available (``whole``, the greedy baselines), else the riskiest
    POOL_BEST, the POOL_NEAR nearest each team's start, and the day's must-visit sites."""
    if whole or len(avail) <= POOL_BEST:
        return sorted(set(avail.tolist()) | required)
    score = np.array([sites[i].score for i in avail])
    best = avail[np.argsort(-score, kind="stable")[:POOL_BEST]]
    xy = [(sites[i].lon, sites[i].lat) for i in avail]
    near = np.argsort(hours_between(list(dict.fromkeys(starts)), xy, creq.sites.speed_kmh, creq.sites.circuity),
                      axis=1, kind="stable")[:, :POOL_NEAR]
    return sorted(set(best.tolist()) | set(avail[near.ravel()].tolist()) | required)


def _day_must(sites: list[SiteInfo], state: _State, creq: CampaignRequest, day: int) -> list[int]:
    """The required visits to make on this day: the ones left shared evenly over the days left (but one in
    RESERVE_DAYS, kept for the visits a day could not take); first the sites
    that must be visited today for their visits left to fit, spaced, in the days left, then those with the most
    visits left, nearest a team first."""
    days_left = creq.sites.days - day + 1
    total = int(state.need.sum())
    if not total:
        return []
    spacing = max(1, creq.spacing_days)
    due = np.flatnonzero((state.need > 0) & ((day - state.last) >= spacing))
    if not len(due):
        return []
    quota = math.ceil(total / max(1, days_left - days_left // RESERVE_DAYS))
    slack = (days_left - 1) - (state.need[due] - 1) * spacing
    far = hours_between(list(dict.fromkeys(state.starts)), [(sites[i].lon, sites[i].lat) for i in due],
                        creq.sites.speed_kmh, creq.sites.circuity).min(axis=0)
    order = np.lexsort((far, -state.need[due], slack > 0))  # forced first, then most visits left, then nearest
    forced = int((slack <= 0).sum())
    return [int(due[j]) for j in order[:max(quota, forced)]]


def _greedy_day(inst: Instance, required: set[str], rate: str) -> dict[str, list[str]]:
    """The greedy rule for one day (geo/planning/instance.py greedy_routes, exact times), the day's must-visit
    sites first: they are ranked as if worth more than all the others together."""
    boost = sum(s.prize for s in inst.sites) + 1.0
    ranked = Instance([Site(s.id, s.x, s.y, s.prize + (boost if s.id in required else 0.0), s.service, s.tw)
                       for s in inst.sites], inst.teams, inst.metric, inst.speed_kmh, inst.circuity,
                      inst.time_limit_s, inst.seed, None, inst.table)
    matrix = hours_matrix(ranked, [*depot_points(ranked), *((s.x, s.y) for s in ranked.sites)])
    routes = {inst.teams[t].id: [inst.sites[k].id for k in visits]
              for t, visits in greedy_routes(ranked, matrix, rate="time" if rate == "greedy_time" else "travel")}
    return {t.id: routes.get(t.id, []) for t in inst.teams}


def _searched_day(inst: Instance, progress, cancel) -> dict[str, list[str]]:
    plan = solve(inst, progress, cancel)
    return {r.team: r.sites for r in plan.routes}


def check_must_visits(creq: CampaignRequest, cands: Candidates, homes: list[tuple[float, float]]) -> None:
    """InstanceError when the must-visit sites cannot all be visited: more inspection hours than the campaign's
    team-days hold, or a site no team reaches and inspects within a day from its base."""
    req = creq.sites
    must = [s for s in cands.sites if creq.required_of(s)]
    if not must:
        return
    problems = []
    need, have = sum(s.service * creq.required_of(s) for s in must), req.teams * req.days * req.hours_per_day
    if need > have + 1e-9:
        visits = sum(creq.required_of(s) for s in must)
        by_level = sum(1 for s in must if s.must_visit is None)  # (required by their level alone)
        problems.append(capacity_problem(req, cands, len(must), need, have,
                                         {f"{', '.join(creq.required_levels)}, each visit required": by_level})
                        + (f"; or require fewer visits of the levels {', '.join(creq.required_levels)} "
                           f"({visits} visits of {len(must)} sites are required in all)"
                           if creq.required_levels else ""))
    reach = hours_between(list(dict.fromkeys(homes)), [(s.lon, s.lat) for s in must], req.speed_kmh,
                          req.circuity).min(axis=0)
    for s, h in zip(must, reach, strict=True):
        if h + s.service > req.hours_per_day + 1e-9:
            problems.append(f"{s.key}: reaching it from the nearest base ({h:.2f} h) and inspecting it "
                            f"({s.service:g} h) takes more than a working day ({req.hours_per_day:g} h)")
    if problems:
        raise InstanceError("no campaign can visit every must-visit site: " + "; ".join(problems))


def make_campaign(conn, creq: CampaignRequest, progress=None, cancel=None, notes=None) -> dict:
    """The campaign document (not stored): the candidates read from the database, then ``plan_campaign``."""
    creq.check()
    cands = candidate_sites(conn, creq.sites)
    return plan_campaign(creq, cands, progress=progress, cancel=cancel, notes=notes)


def plan_campaign(creq: CampaignRequest, cands: Candidates, progress=None, cancel=None, notes=None) -> dict:
    """The campaign over ``cands`` (see the module's text).  ``progress(day, days, seconds, limit, risk)`` is
    called about once a second and after every day; ``cancel()``, asked during the search, ends it with the best
    plan so far (the days left planned greedily); ``notes(text)`` hears what the planner does."""
    creq.check()
    say = notes or (lambda _text: None)
    req = creq.sites
    started = time.monotonic()
    deadline = started + creq.time_limit_s * (1 - RESERVE)
    sites = cands.sites
    homes = req.team_bases(cands.default_base)
    check_must_visits(creq, cands, homes)
    first = req.today or dt.date.today()
    dates = working_days(first, req.days)
    need = np.array([creq.required_of(s) for s in sites], dtype=np.int64)
    state = _State(left=np.maximum(np.array([creq.visits_of(s.level) for s in sites], dtype=np.int64), need),
                   last=np.full(len(sites), -math.inf), starts=list(homes), need=need)
    say(f"{len(sites)} candidate sites ({int(state.left.sum())} visits wanted, {int(need.sum())} of them "
        f"required), "
        f"{req.teams} teams x {req.days} working days from {dates[0]}; {creq.solver}, {creq.time_limit_s:g} s")
    index = {s.key: i for i, s in enumerate(sites)}
    covered = 0.0
    interrupted_at = None
    day_docs: list[list[dict]] = [[] for _ in homes]
    solvers_used = []
    overhead = 0.0  # seconds a day took beyond its search's limit (the greedy plan, the matrices, PyVRP's set-up)
    for day in range(1, req.days + 1):
        cancelled = bool(cancel and cancel())
        if cancelled and interrupted_at is None:
            interrupted_at = day
        left_s = deadline - time.monotonic()
        rule = creq.solver
        if rule == "search" and (interrupted_at is not None or left_s <= 0):
            rule = "greedy_time"  # interrupted, or out of time: the rest of the days greedily
        avail = _available(creq, state, day)
        must_today = set(_day_must(sites, state, creq, day))
        chosen = _pool(sites, avail, state.starts, must_today, creq, whole=creq.solver != "search")
        # the day's share of the time left, less what the work around the last day's search took
        limit = max(0.05, left_s / (req.days - day + 1) - overhead) if rule == "search" else 1.0
        day_started = time.monotonic()

        def tick(seconds, _limit, day=day, covered=covered):
            if progress is not None:
                progress(day - 1, req.days, time.monotonic() - started, creq.time_limit_s, covered)
        must_keys = {sites[i].key for i in must_today}
        inst = _day_instance(creq, sites, homes, state, chosen, must_today, day, limit)
        routes = _greedy_day(inst, must_keys, "greedy_time" if rule == "search" else rule)
        if rule == "search":
            # the day requires the visits its greedy plan (required visits first) could take: a plan with all of
            # them exists; the others wait for the next days
            taken = {k for r in routes.values() for k in r}
            deferred = must_keys - taken
            if deferred:
                say(f"day {day}: {len(deferred)} of its {len(must_keys)} required visits do not fit together in "
                    f"the day; left for the next days")
                must_today = {i for i in must_today if sites[i].key in taken}
                must_keys = must_keys & taken
            top = max((sites[i].score for i in chosen), default=0.0)
            inst = _day_instance(creq, sites, homes, state, chosen, must_today, day, limit, boost=2 * top)
            try:
                searched = _searched_day(inst, tick, cancel)
            except InstanceError as e:  # the search found no plan with the day's required visits: the greedy's
                say(f"day {day}: {e}; the greedy plan is kept")
                rule = "greedy_time"
            else:
                if (sum(sites[index[k]].score for r in searched.values() for k in r)
                        >= sum(sites[index[k]].score for r in routes.values() for k in r) - 1e-9):
                    routes = searched
                else:
                    say(f"day {day}: the search covered less risk than the greedy plan, which is kept")
                    rule = "greedy_time"
        if creq.solver == "search" and cancel and cancel() and interrupted_at is None:
            interrupted_at = day + 1  # this day kept the best routes its search found
        if rule == "search":
            overhead = max(0.0, time.monotonic() - day_started - limit)
        solvers_used.append(rule)
        by_id = {s.id: s for s in inst.sites}
        for t, team in enumerate(inst.teams):
            visits = [by_id[k] for k in routes[team.id]]
            spent = route_time(inst, team, visits)
            if spent > team.budget + 1e-9:
                raise RuntimeError(f"internal: {team.id}'s route takes {spent} h > {team.budget} h")
            doc, sleep = _day_doc(creq, inst, team, [sites[index[k]] for k in routes[team.id]], t, homes[t],
                                  dates[day - 1], day, rule)
            day_docs[t].append(doc)
            for k in routes[team.id]:
                i = index[k]
                state.left[i] -= 1
                state.last[i] = day
                state.need[i] = max(0, state.need[i] - 1)
                covered += sites[i].score
            state.starts[t] = sleep
        say(f"day {day} ({dates[day - 1]}): {sum(len(r) for r in routes.values())} visits, "
            f"{time.monotonic() - day_started:.1f} s, {rule}; risk covered so far {covered:,.1f}")
        if progress is not None:
            progress(day, req.days, time.monotonic() - started, creq.time_limit_s, covered)
    return _document(creq, cands, homes, dates, day_docs, covered, solvers_used, interrupted_at,
                     time.monotonic() - started, state)



def _clock(hours: float) -> str:
    minutes = int(round(hours * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_doc(creq: CampaignRequest, inst: Instance, team: Team, visits: list[SiteInfo], t: int,
             home: tuple[float, float], date: dt.date, day: int, rule: str) -> tuple[dict, tuple[float, float]]:
    """One team's day as people read it, and where the team sleeps after it."""
    req = creq.sites
    day0 = clock_hours(req.day_start, "day_start")
    here, clock_h, km, risk, stops = team.start, 0.0, 0.0, 0.0, []
    for seq, s in enumerate(visits, 1):
        leg = inst.travel(here, (s.lon, s.lat))
        arrive = clock_h + leg
        begin = max(arrive, s.tw[0]) if s.tw else arrive
        depart = begin + s.service
        stops.append({"seq": seq, "kind": s.kind, "id": s.id, "source_id": s.source_id, "name": s.name,
                      "level": s.level, "score": round(s.score, 2), "lon": s.lon, "lat": s.lat,
                      "arrival": _clock(day0 + arrive), "start": _clock(day0 + begin),
                      "departure": _clock(day0 + depart), "inspection_h": s.service,
                      "km_from_previous": round(leg * req.speed_kmh, 1), "must_visit": s.must_visit,
                      "time_window": [_clock(day0 + s.tw[0]), _clock(day0 + s.tw[1])] if s.tw else None,
                      "last_inspection": s.last_inspection.isoformat() if s.last_inspection else None,
                      "next_due": s.next_due.isoformat() if s.next_due else None})
        km += leg * req.speed_kmh
        risk += s.score
        clock_h, here = depart, (s.lon, s.lat)
    home_h = inst.travel(here, home) if here != home else 0.0
    stays_out = home_h > creq.overnight_h + 1e-12
    if not stays_out:
        clock_h += home_h
        km += home_h * req.speed_kmh
    sleep = here if stays_out else home
    # the line the day follows, straight legs from where the team started to home or to where it sleeps (what
    # the stored plan's maps, GeoJSON and route layer draw: a day need not start or end at the base)
    path = [list(team.start), *([s["lon"], s["lat"]] for s in stops)] + ([list(home)] if not stays_out else [])
    doc = {"day": day, "date": date.isoformat(), "solver": rule, "start_point": list(team.start),
           "starts_at_base": team.start == home, "leave": _clock(day0), "end": _clock(day0 + clock_h),
           "back": _clock(day0 + clock_h) if stops and not stays_out else None,
           "path": path if stops and len(path) >= 2 else None,
           "hours": round(clock_h, 3), "km": round(km, 1), "risk": round(risk, 2), "visits": len(stops),
           "overnight": ({"lon": here[0], "lat": here[1], "hours_from_base": round(home_h, 2),
                          "after": stops[-1]["kind"] + "." + str(stops[-1]["id"]) if stops else None}
                         if stays_out else None),
           "stops": stops}
    return doc, sleep


def _document(creq: CampaignRequest, cands: Candidates, homes, dates, day_docs, covered: float,
              solvers_used: list[str], interrupted_at: int | None, seconds: float, state: _State) -> dict:
    req = creq.sites
    count: dict[str, int] = {}
    for day in range(req.days):  # in the order of the days: each stop says which visit of its site it is
        for team in day_docs:
            for s in team[day]["stops"]:
                key = f"{s['kind']}.{s['id']}"
                count[key] = count.get(key, 0) + 1
                s["visit"] = count[key]
    levels = {}
    for level in LEVELS:
        of_level = [s for s in cands.sites if s.level == level]
        want = creq.visits_of(level)
        levels[level] = {"sites": len(of_level), "visits_each": want,
                         "visits": sum(count.get(s.key, 0) for s in of_level),
                         "at_frequency": sum(1 for s in of_level if count.get(s.key, 0) >= want),
                         "never_visited": sum(1 for s in of_level if not count.get(s.key)),
                         # (as a plan's totals say it)
                         "candidates": len(of_level), "visited": sum(1 for s in of_level if count.get(s.key))}
    must = [s for s in cands.sites if s.must_visit]
    wanted = sum(s.score * max(creq.visits_of(s.level), creq.required_of(s)) for s in cands.sites)
    team_days = req.teams * req.days
    teams = [{"team": t + 1, "name": f"team {t + 1}", "base": list(homes[t]), "days": days,
              "visits": sum(d["visits"] for d in days), "km": round(sum(d["km"] for d in days), 1),
              "risk": round(sum(d["risk"] for d in days), 2),
              "overnight_stays": sum(1 for d in days if d["overnight"])} for t, days in enumerate(day_docs)]
    return {
        "kind": "campaign",
        "request": {"area": req.area, "teams": req.teams, "days": req.days, "first_day": dates[0].isoformat(),
                    "last_day": dates[-1].isoformat(), "bases": [list(b) for b in dict.fromkeys(homes)],
                    "hours_per_day": req.hours_per_day, "day_start": req.day_start, "speed_kmh": req.speed_kmh,
                    "circuity": req.circuity, "kinds": list(req.kinds), "min_level": req.min_level,
                    "max_sites": req.max_sites, "visits": {lv: creq.visits_of(lv) for lv in LEVELS},
                    "required_levels": list(creq.required_levels), "spacing_days": creq.spacing_days,
                    "overnight_h": creq.overnight_h,
                    "must_visit": list(req.must_visit), "overdue": req.overdue, "overdue_days": req.overdue_days,
                    "look_back": req.look_back, "time_limit_s": creq.time_limit_s, "seed": req.seed,
                    "solver": creq.solver},
        "model_version": cands.model_version,
        "travel": "great-circle distance x circuity at the teams' speed",
        "decomposition": "rolling horizon: one team orienteering instance a day (PyVRP), each team from where it "
                         "slept; visits left and spacing carried from day to day; must-visit sites shared over "
                         "the days left as required clients",
        "teams": teams,
        "totals": {
            "candidates": len(cands.sites), "visits": sum(count.values()), "sites_visited": len(count),
            "candidate_risk": round(sum(s.score for s in cands.sites), 2),
            "risk_covered": round(covered, 2), "risk_wanted": round(wanted, 2),
            "risk_share": round(covered / wanted, 4) if wanted else 0.0,
            "team_days": team_days, "risk_per_team_day": round(covered / team_days, 3),
            "km": round(sum(t["km"] for t in teams), 1),
            "overnight_stays": sum(t["overnight_stays"] for t in teams),
            "by_level": levels,
            "must_visit": len(must), "must_visit_visited": sum(1 for s in must if count.get(s.key)),
            "must_visit_missed": [s.key for s in must if not count.get(s.key)],
            "required_visits": sum(creq.required_of(s) for s in cands.sites),
            "required_visits_missed": {cands.sites[i].key: int(state.need[i]) for i in np.flatnonzero(state.need)},
            "red_beyond_max_sites": cands.red_cut_off,
            "red_left_out": _red_left_out(creq, cands, homes, count),
        },
        "solver": {"seconds": round(seconds, 1), "time_limit_s": creq.time_limit_s,
                   "interrupted": interrupted_at is not None,
                   "greedy_from_day": interrupted_at if interrupted_at is not None and interrupted_at <= req.days
                   else None,
                   "days_searched": sum(1 for r in solvers_used if r == "search"),
                   "days_greedy": sum(1 for r in solvers_used if r != "search")},
    }


def _red_left_out(creq: CampaignRequest, cands: Candidates, homes, count: dict[str, int]) -> list[dict]:
    """The red sites the campaign never visits, and why (a plan's ``red_left_out``): too far to reach and inspect
    in a day from the nearest base, else the days were full."""
    req = creq.sites
    never = [s for s in cands.sites if s.level == "red" and not count.get(s.key)]
    if not never:
        return []
    reach = hours_between(list(dict.fromkeys(homes)), [(s.lon, s.lat) for s in never], req.speed_kmh,
                          req.circuity).min(axis=0)
    out = []
    for s, h in zip(never, reach, strict=True):
        if h + s.service > req.hours_per_day + 1e-9:
            reason, detail = "beyond_a_day", (f"reaching it from the nearest base ({h:.1f} h) and inspecting it "
                                              f"({s.service:g} h) take more than the {req.hours_per_day:g} h "
                                              f"working day")
        else:
            reason, detail = "days_full", (f"the campaign's {req.teams * req.days} team-days were full; the days "
                                           f"covered more risk with other visits")
        out.append({"kind": s.kind, "id": s.id, "source_id": s.source_id, "name": s.name,
                    "score": round(s.score, 2), "reason": reason, "detail": detail})
    return out
