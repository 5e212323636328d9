"""A self-contained inspection-planning instance (issue 6, item 5): the team orienteering problem with time
windows, as `riskmap plan-instance FILE.json` reads it, solved with PyVRP.

    {"metric": "euclidean",
     "sites": [{"id": "s1", "x": 15.52, "y": 28.03, "prize": 7, "service": 0, "tw": [0, 100]}],
     "teams": [{"id": "t1", "start": {"x": 18.19, "y": 6.32}, "end": {"x": 18.19, "y": 6.32}, "budget": 70.0}],
     "time_limit_s": 10, "seed": 1}

``metric`` is ``euclidean`` (travel time = distance) or ``haversine`` (points as ``lon``/``lat``; travel time =
great-circle km x ``circuity`` / ``speed_kmh``, in hours).  ``"travel_decimals": k`` with ``"travel_rounding":
"down"`` (or ``"up"``, ``"nearest"``) rounds every travel time to k decimals, as a benchmark's convention may ask
(the Cordeau TOPTW instances truncate distances to two decimals); by default travel times are exact.  A team's
``budget`` bounds its route's travel plus service time (waiting for a time window counts too).  Sites are
optional (a prize for visiting) unless ``"must_visit": true``.

PyVRP works in integers.  Times are scaled by ``SCALE`` and rounded *up* (travel, service, the start of a time
window) or *down* (a budget, the end of a window), so that every route the solver accepts is feasible for the
exact, unrounded times; each route is checked again with exact times before it is returned.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from geo.errors import PlanningError

SCALE = 10_000  # time units per instance time unit (1e-4 resolution)
PRIZE_WEIGHT = 0.3  # stage 1: the largest prize is worth this much of one budget of travel (see solve)
STAGE_ONE_SHARE = 0.3  # of the time limit (and of the iteration cap)
STAGE_ONE_STARTS = 1  # stage-1 runs from different seeds, sharing its time (more did not help on TOP)
STAGE_ONE_STARTS_WINDOWS = 2  # the same with time windows: there stage 1 decides the basin (see solve)
WARP_PENALTY = 0.3  # with time windows, the search's first price of a unit of time late: this many mean prizes
# with time windows, each of the parallel searches (see solve), in turn: the lateness penalty's start (mean prizes
# per unit late) and the length of the late-acceptance history of PyVRP's search (its default: 300)
SEARCH_SETTINGS = ((WARP_PENALTY, 300), (1.0, 300), (WARP_PENALTY, 1500))
SEARCH_SEED_STEP = 104_729  # parallel search j starts from seeds this far apart (stage seeds are 7,919 apart)
MAX_SEARCHES = 64  # parallel searches at most (each is a process)
CANCEL_WAIT_S = 10.0  # a cancelled solve waits this long for each parallel search's plan, then kills it
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
METRICS = ("euclidean", "haversine")
ROUNDINGS = ("down", "up", "nearest")
FLOAT_SLACK = 1e-9  # in units of the last decimal kept: a float a hair off an exact value rounds as the value
STAGE_TWO_ROUNDS = 4  # with time windows: stage 2 in this many searches, each from the polished best so far
FINAL_POLISH_SHARE = 0.05  # with time windows, of the time limit kept for the last polish (runs of up to 3 visits)
UNREACHABLE_H = 1e5  # travel time given to the solver where no road joins two points (more than any budget)


class InstanceError(PlanningError, ValueError):
    """An instance that cannot be solved as given; the message names the field."""


@dataclass(frozen=True)
class Site:
    id: str
    x: float  # x, or longitude
    y: float  # y, or latitude
    prize: float
    service: float = 0.0
    tw: tuple[float, float] | None = None
    must_visit: bool = False


@dataclass(frozen=True)
class Team:
    id: str
    start: tuple[float, float]
    end: tuple[float, float]
    budget: float


@dataclass(frozen=True)
class TravelTable:
    """Travel times between given points, in hours, exact (from a road network); inf where no road joins two."""

    index: dict  # (x, y) -> row of ``hours``
    hours: object  # numpy array (n, n)

    def time(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        return float(self.hours[self.index[a], self.index[b]])


@dataclass(frozen=True)
class Instance:
    sites: list[Site]
    teams: list[Team]
    metric: str = "euclidean"
    speed_kmh: float = 40.0
    circuity: float = 1.3
    time_limit_s: float = 10.0
    seed: int = 1
    iterations: int | None = None  # an iteration cap: with it binding, the answer depends on the seed alone
    table: TravelTable | None = None  # travel times given (a road network) instead of the metric's
    travel_decimals: int | None = None  # travel times rounded to this many decimals (None: exact)
    travel_rounding: str = "nearest"  # down, up or nearest, with travel_decimals
    searches: int = 1  # independent searches run side by side, each a process of its own (see solve)

    def travel(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """Travel time between two points, exact (or rounded as the instance says)."""
        if self.table is not None:
            return self._rounded(self.table.time(a, b))
        if self.metric == "euclidean":
            return self._rounded(math.hypot(a[0] - b[0], a[1] - b[1]))
        lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
        h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
        return self._rounded(km * self.circuity / self.speed_kmh)

    def _rounded(self, t):
        """``t`` (a number or a numpy array) rounded to travel_decimals as travel_rounding says."""
        if self.travel_decimals is None:
            return t
        import numpy as np

        unit = 10.0 ** self.travel_decimals
        scaled = np.asarray(t, dtype=np.float64) * unit
        if self.travel_rounding == "down":
            out = np.floor(scaled + FLOAT_SLACK)
        elif self.travel_rounding == "up":
            out = np.ceil(scaled - FLOAT_SLACK)
        else:
            out = np.floor(scaled + 0.5)
        out = out / unit
        return float(out) if np.ndim(out) == 0 else out


@dataclass
class Route:
    team: str
    sites: list[str]
    time: float = 0.0  # travel + waiting + service, exact
    prize: float = 0.0


@dataclass
class Plan:
    routes: list[Route]
    total_prize: float

    def as_json(self) -> dict:
        return {"routes": [{"team": r.team, "sites": r.sites} for r in self.routes],
                "total_prize": _number(self.total_prize)}


def _number(v: float) -> float | int:
    return int(v) if float(v).is_integer() else round(v, 9)


def _point(obj, what: str, metric: str) -> tuple[float, float]:
    keys = ("x", "y") if metric == "euclidean" else ("lon", "lat")
    if not isinstance(obj, dict) or any(k not in obj for k in keys):
        raise InstanceError(f"{what}: expected an object with {keys[0]!r} and {keys[1]!r}")
    x, y = (_finite(obj[k], f"{what}.{k}") for k in keys)
    if metric == "haversine" and not (-180 <= x <= 180 and -90 <= y <= 90):
        raise InstanceError(f"{what}: lon must lie in [-180, 180] and lat in [-90, 90]; got {x}, {y}")
    return x, y


def _finite(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InstanceError(f"{what}: expected a finite number, got {v!r}")
    return float(v)


def _new_id(obj, where: str, seen: set[str]) -> str:
    """The non-empty, not yet seen ``id`` of an instance entry (added to ``seen``)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
        raise InstanceError(f"{where}.id: expected a non-empty string")
    if obj["id"] in seen:
        raise InstanceError(f"{where}.id: {obj['id']!r} appears twice")
    seen.add(obj["id"])
    return obj["id"]


def parse(doc: dict) -> Instance:
    """The instance in ``doc`` (the JSON format above), validated: InstanceError names the first bad field."""
    if not isinstance(doc, dict):
        raise InstanceError("the instance must be a JSON object")
    metric = doc.get("metric", "euclidean")
    if metric not in METRICS:
        raise InstanceError(f"metric: expected one of {', '.join(METRICS)}, got {metric!r}")
    sites_in, teams_in = doc.get("sites"), doc.get("teams")
    if not isinstance(sites_in, list):
        raise InstanceError("sites: expected a list")
    if not isinstance(teams_in, list) or not teams_in:
        raise InstanceError("teams: expected a non-empty list (no team can visit anything)")
    sites, seen = [], set()
    for i, s in enumerate(sites_in):
        where = f"sites[{i}]"
        site_id = _new_id(s, where, seen)
        x, y = _point(s, where, metric)
        prize = _finite(s.get("prize", 0), f"{where}.prize")
        service = _finite(s.get("service", 0), f"{where}.service")
        if prize < 0 or service < 0:
            raise InstanceError(f"{where}: prize and service must not be negative")
        tw = s.get("tw")
        if tw is not None:
            if not isinstance(tw, list) or len(tw) != 2:
                raise InstanceError(f"{where}.tw: expected [earliest, latest]")
            tw = (_finite(tw[0], f"{where}.tw[0]"), _finite(tw[1], f"{where}.tw[1]"))
            if tw[0] > tw[1]:
                raise InstanceError(f"{where}.tw: earliest {tw[0]} is after latest {tw[1]}")
        sites.append(Site(site_id, x, y, prize, service, tw, bool(s.get("must_visit", False))))
    teams, team_ids = [], set()
    for i, t in enumerate(teams_in):
        where = f"teams[{i}]"
        team_id = _new_id(t, where, team_ids)
        start = _point(t.get("start"), f"{where}.start", metric)
        end = _point(t.get("end", t.get("start")), f"{where}.end", metric)
        budget = _finite(t.get("budget"), f"{where}.budget")
        if budget <= 0:
            raise InstanceError(f"{where}.budget: must be positive, got {budget}")
        teams.append(Team(team_id, start, end, budget))
    speed = _finite(doc.get("speed_kmh", 40.0), "speed_kmh")
    circuity = _finite(doc.get("circuity", 1.3), "circuity")
    if speed <= 0 or circuity < 1:
        raise InstanceError("speed_kmh must be positive and circuity at least 1")
    limit = _finite(doc.get("time_limit_s", 10.0), "time_limit_s")
    if limit <= 0:
        raise InstanceError(f"time_limit_s: must be positive, got {limit}")
    seed = doc.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InstanceError(f"seed: expected a non-negative integer, got {seed!r}")
    iterations = doc.get("iterations")
    if iterations is not None and (isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1):
        raise InstanceError(f"iterations: expected a positive integer, got {iterations!r}")
    decimals = doc.get("travel_decimals")
    if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int)
                                 or not 0 <= decimals <= 6):
        raise InstanceError(f"travel_decimals: expected an integer from 0 to 6, got {decimals!r}")
    rounding = doc.get("travel_rounding", "nearest")
    if rounding not in ROUNDINGS:
        raise InstanceError(f"travel_rounding: expected one of {', '.join(ROUNDINGS)}, got {rounding!r}")
    if "travel_rounding" in doc and decimals is None:
        raise InstanceError("travel_rounding: given without travel_decimals (how many decimals to keep)")
    searches = check_searches(doc.get("searches", 1), "searches")
    return Instance(sites, teams, metric, speed, circuity, limit, seed, iterations, travel_decimals=decimals,
                    travel_rounding=rounding, searches=searches)


def check_searches(value, what: str) -> int:
    """``value`` as a count of parallel searches (1 to MAX_SEARCHES); InstanceError naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEARCHES:
        raise InstanceError(f"{what}: expected an integer from 1 to {MAX_SEARCHES}, got {value!r}")
    return value


def load(path: Path) -> Instance:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InstanceError(f"{path}: not JSON ({e})") from None
    return parse(doc)


def hours_matrix(inst: Instance, points: list[tuple[float, float]]):
    """Exact travel times between all points (numpy, the same formulas as Instance.travel; inf where no road joins
    two points)."""
    import numpy as np

    p = np.asarray(points, dtype=np.float64)
    if inst.table is not None:
        rows = [inst.table.index[tuple(q)] for q in points]
        return inst._rounded(np.asarray(inst.table.hours)[np.ix_(rows, rows)])
    if inst.metric == "euclidean":
        return inst._rounded(np.hypot(p[:, None, 0] - p[None, :, 0], p[:, None, 1] - p[None, :, 1]))
    lon, lat = np.radians(p[:, 0]), np.radians(p[:, 1])
    h = (np.sin((lat[None, :] - lat[:, None]) / 2) ** 2
         + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin((lon[None, :] - lon[:, None]) / 2) ** 2)
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return inst._rounded(km * inst.circuity / inst.speed_kmh)


def _travel_matrix(inst: Instance, points: list[tuple[float, float]]):
    """Travel times between all points, scaled and rounded up, as the solver takes them."""
    import numpy as np

    scaled = np.ceil(np.minimum(hours_matrix(inst, points), UNREACHABLE_H) * SCALE - 1e-9).astype(np.int64)
    np.fill_diagonal(scaled, 0)
    return scaled


def _groups(inst: Instance) -> list[list[int]]:
    """The teams in groups of the same start, end and budget (indices into inst.teams, in order): each group is
    one PyVRP vehicle type with as many vehicles.  A plan's days from one base are one group, not a vehicle type
    and two depots each, which the search handles far faster."""
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(inst.teams):
        groups.setdefault((t.start, t.end, _down(t.budget)), []).append(i)
    return list(groups.values())


def _data(inst: Instance, prizes: list[int], matrix=None):
    """PyVRP's problem data for ``inst`` with these (integer) prizes, and the travel matrix (computed once; the
    edges are given as one array rather than one call each)."""
    from pyvrp import Model

    m = Model()
    points = depot_points(inst)
    depot_at = {p: m.add_depot(m.add_location(p[0], p[1])) for p in points}
    ends = [(group, depot_at[inst.teams[group[0]].start], depot_at[inst.teams[group[0]].end], inst.teams[group[0]])
            for group in _groups(inst)]
    for s, prize in zip(inst.sites, prizes, strict=True):
        early, late = (_up(s.tw[0]), _down(s.tw[1])) if s.tw else (0, 2**62)
        m.add_client(m.add_location(s.x, s.y), service_duration=_up(s.service), tw_early=early, tw_late=late,
                     prize=prize, required=s.must_visit, name=s.id)
        points.append((s.x, s.y))
    for group, start, end, t in ends:
        # the route leaves at 0 and is back by the budget: without tw_late PyVRP may start a route later to
        # shorten its waiting for a window, and a route could then end after the budget
        m.add_vehicle_type(num_available=len(group), start_depot=start, end_depot=end, tw_early=0,
                           tw_late=_down(t.budget), shift_duration=_down(t.budget), unit_distance_cost=1, name=t.id)
    if matrix is None:
        matrix = _travel_matrix(inst, points)
    return m.data().replace(distance_matrices=[matrix], duration_matrices=[matrix]), matrix


def depot_points(inst: Instance) -> list[tuple[float, float]]:
    """The depots' points in the order _data adds them (the first rows of its travel matrix)."""
    points: dict[tuple[float, float], None] = {}
    for group in _groups(inst):
        t = inst.teams[group[0]]
        points.setdefault(t.start)
        points.setdefault(t.end)
    return list(points)


def greedy_routes(inst: Instance, matrix, up=lambda v: v, down=lambda v: v + 1e-9,
                  rate: str = "time") -> list[tuple[int, list[int]]]:
    """Greedy routes: each team in turn (by vehicle group) takes, next, the site with the most prize per hour of
    travel, waiting and inspection (``rate="time"``) or per hour of travel to it, at least a minute
    (``rate="travel"``), among those that still let it return within its budget; time windows are honoured,
    must-visit flags are not.  Vectorised over the sites.  ``matrix``: travel between the depots
    (depot_points) then the sites, in the units ``up`` and ``down`` turn hours into (rounding up and down: the
    solver's integers, or exact hours with a tolerance).  As (team index, site indices), every team."""
    import numpy as np

    if rate not in ("travel", "time"):
        raise ValueError(f"rate: travel or time, not {rate!r}")
    first = matrix.shape[0] - len(inst.sites)  # rows before the sites' are the depots'
    depot_row = {p: i for i, p in enumerate(depot_points(inst))}
    service = np.array([up(s.service) for s in inst.sites])
    prize = np.array([s.prize for s in inst.sites], dtype=np.float64)
    early = np.array([up(s.tw[0]) if s.tw else 0 for s in inst.sites])
    late = np.array([down(s.tw[1]) if s.tw else math.inf for s in inst.sites])
    least = up(1 / 60) if rate == "travel" else up(1e-9)
    left = prize > 0
    routes = []
    for group in _groups(inst):
        t = inst.teams[group[0]]
        start, end, budget = depot_row[t.start], depot_row[t.end], down(t.budget)
        back = matrix[first:, end]
        for team in group:
            here, elapsed, visits = start, 0, []
            while True:
                go = matrix[here, first:]
                arrive = elapsed + go
                begin = np.maximum(arrive, early)
                ok = left & (arrive <= late) & (begin + service + back <= budget)
                if not ok.any():
                    break
                cost = go if rate == "travel" else begin - elapsed + service
                k = int(np.argmax(np.where(ok, prize / np.maximum(cost, least), -1.0)))
                visits.append(k)
                left[k] = False
                elapsed, here = begin[k] + service[k], first + k
            routes.append((team, visits))
    return routes


def _up(v: float) -> int:
    return math.ceil(v * SCALE - 1e-9)


def _down(v: float) -> int:
    return math.floor(v * SCALE + 1e-9)


def round_trip(inst: Instance, point: tuple[float, float], service: float,
               tw: tuple[float, float] | None) -> tuple[str | None, float]:
    """How far the quickest team overruns its budget going from its start to ``point``, inspecting it for
    ``service`` within the window ``tw`` and going on to its end (negative: time to spare): (None, overrun), or
    ("no_road", inf) when no team's start and end are joined to the point, or ("time_window", inf) when no team can
    arrive before the window closes."""
    best, connected = math.inf, False
    for t in inst.teams:
        arrive, back = inst.travel(t.start, point), inst.travel(point, t.end)
        if math.isinf(arrive) or math.isinf(back):
            continue
        connected = True
        if tw and arrive > tw[1] + 1e-9:
            continue
        begin = max(arrive, tw[0]) if tw else arrive
        best = min(best, begin + service + back - t.budget)
    if not connected:
        return "no_road", math.inf
    if math.isinf(best):
        return "time_window", math.inf
    return None, best


def time_unit(inst: Instance) -> str:
    """The unit of the instance's times as a suffix: ' h' when travel is great-circle km at a speed in km/h or a
    road network's hours; '' for euclidean instances (times are distances there, in the instance's own unit)."""
    return " h" if inst.metric == "haversine" or inst.table is not None else ""


def unreachable_must_visits(inst: Instance) -> list[str]:
    """The must-visit sites no team can reach and inspect within its budget (and the site's time window), and
    why."""
    problems = []
    unit = time_unit(inst)
    for s in (s for s in inst.sites if s.must_visit):
        blocked, over = round_trip(inst, (s.x, s.y), s.service, s.tw)
        if blocked == "no_road":
            problems.append(f"{s.id}: no road joins it to a team's base")
        elif blocked == "time_window":
            problems.append(f"{s.id}: no team can arrive before its time window closes at {s.tw[1]:g}")
        elif over > 1e-9:
            problems.append(f"{s.id}: going there from the base, inspecting it ({s.service:g}{unit}) and coming "
                            f"back takes {over:.2f}{unit} more than a team's budget allows")
    return problems


def must_visit_hours(inst: Instance) -> tuple[int, float, float]:
    """The must-visit sites: how many, the time their inspections alone take, and the time all the teams have."""
    must = [s for s in inst.sites if s.must_visit]
    return len(must), sum(s.service for s in must), sum(t.budget for t in inst.teams)


def must_visit_problems(inst: Instance) -> list[str]:
    """Why the must-visit sites cannot all be visited, as far as simple checks tell: a site no team can reach and
    inspect within its budget (and the site's time window), or more inspection time than the teams have."""
    problems = unreachable_must_visits(inst)
    count, need, have = must_visit_hours(inst)
    if need > have + 1e-9:
        unit = time_unit(inst)
        problems.append(f"the {count} must-visit sites need {need:g}{unit} of inspection alone, more than the "
                        f"{have:g}{unit} all the teams have")
    return problems


def solve(inst: Instance, progress=None, cancel=None) -> Plan:
    """The routes that collect the most prize within every team's budget and the time windows.

    PyVRP's objective is prize-collecting: the travel plus the prizes left out.  The search starts from the
    greedy plan (most prize per hour next: greedy_routes, in the solver's integer times), and two stages share
    the time limit:
      1. (STAGE_ONE_SHARE of it) the largest prize is worth PRIZE_WEIGHT of a budget of travel: travel still
         guides the search, and the penalties for a broken budget stay in scale (with prizes worth far more they
         cannot keep up, and with no travel cost the search wanders: both measured on the TOP instances of
         bench/plan);
      2. starting from the best plan of stage 1, with the same prizes and the travel shrunk so that a whole
         plan's travel is worth less than the smallest prize: no prize is ever given up to save travel (stage 1
         may do that on a tight budget), travel still breaks ties, and the penalties for a missed window stay
         in scale with the prizes (before issue 17, stage 2 scaled the prizes up instead, out of reach of
         PyVRP's largest penalty: on the TOPTW instances the search then wandered among plans a little late).
    Stage 2 is so when sites have time windows; both stages then use stage 1's granular neighbourhood and start
    the penalty for time warp at WARP_PENALTY mean prizes per unit of time late (see _search).  Without windows
    (time warp is then only a budget overrun) the search is as before issue 17: stage 2's prizes scaled up until
    the smallest outweighs all travel, and PyVRP's own penalties, far higher, which keep the search within the
    budgets (measured on the TOP instances of bench/plan: with the proportional start p6.2.j scored 936-942
    instead of 948, and with the shrunk stage 2 p4.2.j 961 for two seeds of three instead of 962).
    Teams with the same start, end and budget (a plan's team-days from one base) are one vehicle type.

    The best plan of each search is polished (geo/planning/polish.py): every site left out is tried at every
    position of every route, and every visit swapped for left-out sites worth more, checked exactly in the
    solver's integers; PyVRP's search, which prices a missed window with a penalty and looks only among each
    site's nearest neighbours, leaves such room near the windows' edges (issue 17: on the TOPTW benchmark the
    polish alone added 1-3 % of prize to a search's best plan).  With time windows stage 2 runs as
    STAGE_TWO_ROUNDS searches sharing its time, each from the polished best plan so far (so the search goes on
    from the plan the polish filled; measured on six of the weakest TOPTW instances at a cap of 3,000
    iterations, mean gap: 4.48 % without the polish, 3.76 % with it once at the end, 2.69 % in 4 rounds, 2.86 %
    and 3.06 % in 8 and 16).  With time windows stage 1 runs from STAGE_ONE_STARTS_WINDOWS seeds sharing its time,
    the best kept: the basin stage 1 ends in stays for the rest of the search (pr03-3 with seed 1 ended at 970 in
    1 round or 4, at 1,005 from two stage-1 seeds; over 28 runs of ten TOPTW instances at 3,000 iterations, mean
    gap 2.11 % against 2.44 % from one).

    ``progress(seconds, limit)``, when given, is called about once a second while the search runs.
    ``cancel()``, when given, is asked at every iteration: once it returns true the search stops and the best plan
    found so far is returned (a campaign interrupted by Ctrl-C or a cancel, geo/planning/campaign.py).

    With ``inst.searches`` = n > 1, n such searches run side by side to the same limit, each in a process of its
    own (so n cores are busy for the whole limit): the j-th from its own seeds and, with time windows, with the
    lateness penalty's start and the late-acceptance history of SEARCH_SETTINGS[j] in turn; the plan of the most
    prize is kept.  On the TOPTW instances the runs of one instance end in different basins by seed, penalty start
    and history, as far apart as the gap to the best-known score, and a longer search rarely leaves its basin;
    which setting does best depends on the instance (docs/benchmarks.md, part 4).
    """
    problems = must_visit_problems(inst)
    if problems:
        raise InstanceError("no plan can visit every must-visit site: " + "; ".join(problems))
    started = time.monotonic()
    others = _Searches(inst, started) if inst.searches > 1 else None
    try:
        found = _best_visits(inst, 0, started, progress, cancel)
    except BaseException:
        if others is not None:
            others.abandon()
        raise
    elsewhere = others.results(cancelled=cancel is not None and bool(cancel())) if others else []
    for other in elsewhere:  # the plan of the most prize; on a tie the first search's
        if other is not None and (found is None or other[1] > found[1]):
            found = other
    if found is None:
        must = [s.id for s in inst.sites if s.must_visit]
        raise InstanceError("no plan found visits every must-visit site within the teams' budgets and the time "
                            "windows: each can be reached alone, but not all of them together"
                            + (f" (must-visit: {', '.join(must)})" if must else ""))
    visits_by_team = found[0]
    routes_by_team = {t.id: [inst.sites[v].id for v in visits_by_team.get(i, [])] for i, t in enumerate(inst.teams)}
    by_id = {s.id: s for s in inst.sites}
    routes = []
    for t in inst.teams:
        r = Route(t.id, routes_by_team[t.id])
        r.time, r.prize = route_time(inst, t, [by_id[i] for i in r.sites]), sum(by_id[i].prize for i in r.sites)
        if r.time > t.budget + 1e-9:
            raise RuntimeError(f"internal: team {t.id}'s route takes {r.time} > budget {t.budget}")
        routes.append(r)
    return Plan(routes, sum(r.prize for r in routes))


class _Searches:
    """Searches 1 .. inst.searches - 1 of solve, each in a forked process (PyVRP holds the GIL while it
    searches), started at once and asked for their plans with ``results``.  Forked, not spawned: a child needs
    nothing but the instance, and a spawned one would first run the parent's entry point again."""

    def __init__(self, inst: Instance, started: float):
        import multiprocessing

        import pyvrp  # noqa: F401  (imported before the fork: the children then import nothing)

        from geo.planning import polish  # noqa: F401

        ctx = multiprocessing.get_context("fork")
        self.stop = ctx.Event()
        self.children = []
        for j in range(1, inst.searches):
            mine, theirs = ctx.Pipe(duplex=False)
            child = ctx.Process(target=_search_elsewhere, args=(inst, j, started, self.stop, theirs), daemon=True)
            child.start()
            theirs.close()
            self.children.append((child, mine))
        self.deadline = started + inst.time_limit_s

    def abandon(self) -> None:
        """Stop every child at once (the parent's search failed or was interrupted)."""
        for child, pipe in self.children:
            child.kill()
            child.join()
            pipe.close()

    def results(self, cancelled: bool = False) -> list:
        """Each child's plan (visits by team, prize), or None where it found none or failed; a cancelled solve
        asks the children to stop and takes the best plan each found so far."""
        if cancelled:
            self.stop.set()
        out = []
        for child, pipe in self.children:
            # a child keeps to the time limit (the last polish included), or stops within an iteration once asked:
            # past that by a margin it is stuck
            wait = CANCEL_WAIT_S if cancelled else max(0.0, self.deadline - time.monotonic()) + 60.0
            got = None
            if pipe.poll(wait):
                try:
                    got = pipe.recv()
                except EOFError:  # the child died without an answer
                    got = None
            if child.is_alive() and got is None:
                child.kill()
            child.join()
            out.append(got)
        return out


def _search_elsewhere(inst: Instance, search: int, started: float, stop, pipe) -> None:
    """A child process's search (see _Searches): its plan, or None, sent back through ``pipe``.  Ctrl-C reaches
    the whole process group: the child leaves it to the parent, which cancels (stop) or kills its searches."""
    import signal
    import warnings

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyVRP's search notes; the answer is checked by the parent
            found = _best_visits(inst, search, started, cancel=stop.is_set)
    except Exception:  # noqa: BLE001  the parent's own search stands; a child's failure only loses its plan
        found = None
    pipe.send(found)
    pipe.close()


def _best_visits(inst: Instance, search: int, started: float, progress=None, cancel=None):
    """One whole search (both stages, the rounds and the polishes; see solve), the ``search``-th of
    ``inst.searches``: its visits (site indices) by team index and their prize, or None if it found no feasible
    plan.  Search j > 0 starts from its own seeds and, with time windows, prices lateness at first at
    the penalty and the late-acceptance history of SEARCH_SETTINGS[j % len(SEARCH_SETTINGS)]."""
    from pyvrp import Route as PyVRPRoute
    from pyvrp import Solution
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

    seed = inst.seed + SEARCH_SEED_STEP * search
    positive = [s.prize for s in inst.sites if s.prize > 0]
    budget_max = max(_down(t.budget) for t in inst.teams)
    weighted = [round(s.prize * PRIZE_WEIGHT * budget_max / max(positive)) if positive else 0 for s in inst.sites]
    smallest = min((w for w in weighted if w > 0), default=1)
    dominant_unit = (sum(_down(t.budget) for t in inst.teams) + 1) / min(positive) if positive else 0.0

    def stop(share: float, deadline: float | None = None, parts: int = 1):
        """Stop after ``share`` of the time limit (and of the iteration cap), or with a deadline, after this part
        of the time left before it."""
        seconds = inst.time_limit_s * share if deadline is None else max(0.0, deadline - time.monotonic()) / parts
        criteria = [MaxRuntime(seconds)]
        if inst.iterations:
            criteria.append(MaxIterations(max(1, int(inst.iterations * share))))
        return _Reporting(MultipleCriteria(criteria), progress, started, inst.time_limit_s, cancel)

    # stage 1, from the greedy plan (from several seeds: the search lands in different places; the best is kept)
    first_data, matrix = _data(inst, weighted)
    windows = any(s.tw is not None for s in inst.sites)
    start_warp, history = SEARCH_SETTINGS[search % len(SEARCH_SETTINGS)]
    warp = start_warp * statistics.fmean(w for w in weighted if w > 0) / SCALE if positive and windows else None
    group_of = {i: g for g, members in enumerate(_groups(inst)) for i in members}
    seeded = Solution(first_data, [PyVRPRoute(first_data, visits, group_of[team])
                                   for team, visits in greedy_routes(inst, matrix, _up, _down) if visits])
    first = seeded if seeded.is_feasible() else None
    starts = STAGE_ONE_STARTS_WINDOWS if windows else STAGE_ONE_STARTS
    for k in range(starts):
        found = _search(first_data, first_data, stop(STAGE_ONE_SHARE / starts), seed + 7919 * k,
                        seeded, warp, history if windows else None)
        if found.is_feasible() and (first is None or (found.uncollected_prizes(), found.distance_cost())
                                    < (first.uncollected_prizes(), first.distance_cost())):
            first = found
    if windows:
        # stage 2: the same prizes; travel shrunk so that a whole plan's travel costs less than the smallest prize
        # (a route's travel is at most its budget)
        import numpy as np

        shrink = smallest / (sum(_down(t.budget) for t in inst.teams) + 1)
        data = first_data.replace(distance_matrices=[np.floor(matrix * shrink).astype(np.int64)])
    else:  # stage 2 as before issue 17: prizes scaled up until the smallest outweighs all travel
        data, _ = _data(inst, [round(s.prize * dominant_unit) for s in inst.sites], matrix)

    def visits_of(solution) -> dict[int, list[int]]:
        """The solution's visits (site indices) by team index."""
        by_team: dict[int, list[int]] = {}
        free = [list(group) for group in _groups(inst)]  # the teams of each vehicle type not yet given a route
        for route in solution.routes():
            by_team[free[route.vehicle_type()].pop(0)] = [a.idx for a in route if a.is_client()]
        return by_team

    def solution_of(by_team: dict[int, list[int]]):
        return Solution(data, [PyVRPRoute(data, visits, group_of[team]) for team, visits in by_team.items() if visits])

    # the searches' deadline; the last polish's is the limit (without windows the search keeps all its time, as
    # before issue 17: the TOP benchmark's hardest instances need it)
    deadline = started + inst.time_limit_s * (1 - FINAL_POLISH_SHARE if windows else 1)
    polished = None  # the best plan so far after polishing (visits by team), and its prize
    start = solution_of(visits_of(first)) if first is not None else None
    rounds = STAGE_TWO_ROUNDS if windows else 1
    for k in range(rounds):
        share = (1 - STAGE_ONE_SHARE) / rounds
        found = _search(data, first_data if windows else data, stop(share, deadline, rounds - k), seed + 7919 * k,
                        start, warp, history if windows else None)
        if not found.is_feasible():
            continue
        last = k == rounds - 1
        by_team = _polished(inst, matrix, visits_of(found), started + inst.time_limit_s if last else deadline,
                            width=3 if last else 1)
        prize = sum(inst.sites[v].prize for visits in by_team.values() for v in visits)
        if polished is None or prize > polished[1]:
            polished = by_team, prize
        start = solution_of(polished[0])
        if cancel is not None and cancel():
            break
    return polished


def _polished(inst: Instance, matrix, visits_by_team: dict[int, list[int]], deadline: float | None = None,
              width: int = 3) -> dict[int, list[int]]:
    """The teams' visits (site indices) after the exact insertions and swaps of geo/planning/polish.py, in the
    solver's integer times."""
    import numpy as np

    from geo.planning.polish import Shift, Sites, polish

    depot_row = {p: i for i, p in enumerate(depot_points(inst))}
    sites = Sites(travel=matrix, first=len(depot_row),
                  service=np.array([_up(s.service) for s in inst.sites], dtype=np.int64),
                  early=np.array([_up(s.tw[0]) if s.tw else 0 for s in inst.sites], dtype=np.int64),
                  late=np.array([_down(s.tw[1]) if s.tw else 2**62 for s in inst.sites], dtype=np.int64),
                  prize=np.array([s.prize for s in inst.sites], dtype=np.float64),
                  must_visit=np.array([s.must_visit for s in inst.sites], dtype=bool))
    shifts = [Shift(depot_row[t.start], depot_row[t.end], _down(t.budget)) for t in inst.teams]
    routes = polish(sites, shifts, [visits_by_team.get(i, []) for i in range(len(inst.teams))], width=width,
                    deadline=deadline)
    return dict(enumerate(routes))


def _search(data, neighbours_of, stop, seed: int, initial, warp: float | None, history: int | None = None):
    """PyVRP's iterated local search on ``data``, as pyvrp.solve runs it, but with the granular neighbourhood of
    ``neighbours_of`` (problem data with the same clients: stage 2's travel is shrunk to almost nothing, so its
    own would hardly know near from far) and ``warp`` as the first penalty for a unit of time warp (a window
    missed or a budget overrun).  PyVRP starts it half way to its cap whatever the scale of the prizes, and
    adapts it only every 500 solutions: in a TOPTW search of a few thousand iterations it stays far too high
    (the search keeps away from the windows' edges) or, with prizes that dwarf it, too low.  ``history``: the
    length of the late-acceptance history (None: PyVRP's default)."""
    from pyvrp import (
        IteratedLocalSearch,
        IteratedLocalSearchParams,
        PenaltyManager,
        PenaltyParams,
        RandomNumberGenerator,
        Solution,
    )
    from pyvrp.search import OPERATORS, LocalSearch, PerturbationManager, PerturbationParams, compute_neighbours

    rng = RandomNumberGenerator(seed=seed)
    ls = LocalSearch(data, rng, compute_neighbours(neighbours_of), PerturbationManager(PerturbationParams()))
    for op in OPERATORS:
        if op.supports(data):
            ls.add_operator(op(data))
    params = PenaltyParams()
    loads, tw, dist = params.midpoint_penalties(data)
    pm = PenaltyManager((loads, tw if warp is None else warp, dist), params)
    if initial is None:
        initial = ls(Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    ils = IteratedLocalSearchParams() if history is None else IteratedLocalSearchParams(history_length=history)
    return IteratedLocalSearch(data, pm, ls, initial, ils).run(stop, collect_stats=False).best


class _Reporting:
    """A PyVRP stopping criterion that also reports progress about once a second, and stops when ``cancel()``
    says so."""

    def __init__(self, inner, progress, started: float, limit: float, cancel=None):
        self.inner, self.progress, self.started, self.limit = inner, progress, started, limit
        self.cancel = cancel
        self.last = 0.0

    def __call__(self, best_cost: float) -> bool:
        done = self.inner(best_cost) or (self.cancel is not None and bool(self.cancel()))
        if self.progress is not None:
            now = time.monotonic()
            if now - self.last >= 1.0:
                self.last = now
                self.progress(min(now - self.started, self.limit), self.limit)
        return done


def route_time(inst: Instance, team: Team, sites: list[Site]) -> float:
    """The exact time of a route: travel, waiting for windows and service; inf if a window is missed."""
    t, here = 0.0, team.start
    for s in sites:
        t += inst.travel(here, (s.x, s.y))
        if s.tw:
            if t > s.tw[1] + 1e-9:
                return math.inf
            t = max(t, s.tw[0])
        t += s.service
        here = (s.x, s.y)
    return t + inst.travel(here, team.end)
