"""Inspection plans from the stored risks (issue 6, item 2).

The sites of an area at or above a level, each with its risk score as the prize and an inspection duration by
class and size, are visited by teams that leave their base each working day and are back within the day's hours.
Overdue inspections (past the due date of the site's level under precise supervision, geo/supervision; or, as an
explicit override, last inspected more than a number of days ago), look-back sites (回头看: a major hidden danger
rectified, an enforcement measure lifted, a hidden danger open past its deadline) and any site named can be made
must-visit; a site may be given a time window.  Solved
as a team orienteering instance (geo/planning/instance.py: one route per team and day); travel by great-circle
distance times a circuity factor at the teams' speed.  A greedy plan is the baseline.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field
from importlib import resources

from geo.planning.instance import (
    Instance,
    InstanceError,
    Plan,
    Route,
    Site,
    Team,
    TravelTable,
    depot_points,
    greedy_routes,
    hours_matrix,
    must_visit_hours,
    route_time,
    solve,
    unreachable_must_visits,
)
from geo.risk.framework import LEVELS
from geo.supervision.config import SupervisionConfig, shipped_supervision
from geo.supervision.rules import FIRST_DAY, LAST_DAY, LookBack, is_overdue, next_due
from geo.supervision.sites import look_back_sites

PLAN_KINDS = ("enterprise", "tailings_pond", "venue")
MAX_SITES = 5000  # candidate sites at most (the solver's travel matrix grows with the square)
MAX_ROUTES = 1000  # team-days at most
TRAVEL_MODES = ("auto", "roads", "great_circle")

# Hours an inspection takes, by class and size: (the size attribute, ((smallest size, hours), ...)).  A site of
# unknown size gets its class's longest inspection, so that a day never runs over.  [assumption: a site visit
# with document review for a hazardous-chemicals enterprise takes 2-3 h, about 1 h for a small workshop; ponds and
# crowded venues by capacity and floor area likewise; to be set by each bureau]
SERVICE_HOURS: dict[str, tuple[str, tuple[tuple[float, float], ...]]] = {
    "enterprise": ("employees", ((0, 1.5), (100, 2.0), (1000, 3.0))),
    "tailings_pond": ("capacity_10k_m3", ((0, 1.0), (100, 1.5), (1000, 2.0))),
    "venue": ("floor_area_m2", ((0, 1.0), (5000, 1.5), (50000, 2.5))),
}


def service_hours(kind: str, size: float | None, table=None) -> float:
    """The inspection hours of a site of ``kind`` and ``size`` (the band whose smallest size it reaches)."""
    _, bands = (table or SERVICE_HOURS)[kind]
    if size is None or not math.isfinite(size):
        return max(h for _, h in bands)
    hours = bands[0][1]
    for smallest, h in bands:
        if size >= smallest:
            hours = h
    return hours


def check_service_table(table) -> None:
    for kind, entry in table.items():
        if kind not in PLAN_KINDS:
            raise InstanceError(f"service_hours: {kind!r} is not a kind a plan visits ({', '.join(PLAN_KINDS)})")
        _, bands = entry
        if not bands:
            raise InstanceError(f"service_hours.{kind}: expected at least one [smallest size, hours] band")
        for smallest, hours in bands:
            if not (math.isfinite(smallest) and math.isfinite(hours)) or smallest < 0 or not 0 < hours <= 24:
                raise InstanceError(f"service_hours.{kind}: a band needs a size >= 0 and hours in (0, 24], "
                                    f"got [{smallest}, {hours}]")
        sizes = [s for s, _ in bands]
        if sizes != sorted(sizes) or len(set(sizes)) != len(sizes):
            raise InstanceError(f"service_hours.{kind}: the bands' smallest sizes must increase, got {sizes}")


@dataclass(frozen=True)
class PlanRequest:
    teams: int
    days: int
    bases: tuple[tuple[float, float], ...] = ()  # lon, lat: one for every team, or one each; () = the area's
    hours_per_day: float = 8.0
    day_start: str = "08:30"
    speed_kmh: float = 40.0
    circuity: float = 1.3
    area: str | None = None  # admin code; None: everywhere
    kinds: tuple[str, ...] = PLAN_KINDS
    min_level: str = "yellow"
    max_sites: int = 2000
    time_limit_s: float = 30.0
    seed: int = 1
    must_visit: tuple[str, ...] = ()  # 'kind.id' of sites that must be inspected
    overdue: bool = False  # sites past their level's due date (precise supervision) are must-visit
    overdue_days: int | None = None  # override: sites not inspected for longer than this are must-visit instead
    look_back: bool = False  # look-back sites of the area (geo/supervision) are must-visit
    look_back_days: int | None = None  # the look-back window; None: the supervision settings' window
    supervision: SupervisionConfig | None = None  # frequencies and look-back window; None: the shipped settings
    time_windows: dict = field(default_factory=dict)  # 'kind.id' -> (from, to) as "HH:MM" clock times
    service_hours: dict = field(default_factory=lambda: dict(SERVICE_HOURS))
    today: dt.date | None = None  # the plan's first day (overdue is counted to it); None: today
    travel: str = "auto"  # roads (pgRouting over the stored network), great_circle, or auto: roads when loaded
    iterations: int | None = None  # a cap on the search's iterations: with it binding, the plan depends on the seed
    searches: int = 1  # independent searches side by side, a process (and a core) each; the best plan kept

    def check(self) -> None:
        if self.teams < 1:
            raise InstanceError(f"teams: at least one team is needed, got {self.teams}")
        if self.days < 1:
            raise InstanceError(f"days: at least one day is needed, got {self.days}")
        if not 0 < self.hours_per_day <= 24:
            raise InstanceError(f"hours_per_day: expected more than 0 and at most 24, got {self.hours_per_day}")
        start = clock_hours(self.day_start, "day_start")
        if start + self.hours_per_day > 24:
            raise InstanceError(f"hours_per_day: a day starting at {self.day_start} cannot last "
                                f"{self.hours_per_day:g} h (it would end after midnight)")
        if not (math.isfinite(self.speed_kmh) and self.speed_kmh > 0):
            raise InstanceError(f"speed_kmh: expected a positive speed, got {self.speed_kmh}")
        if not (math.isfinite(self.circuity) and 1 <= self.circuity <= 5):
            raise InstanceError(f"circuity: expected a factor from 1 to 5, got {self.circuity}")
        if self.min_level not in LEVELS:
            raise InstanceError(f"min_level: expected one of {', '.join(LEVELS)}, got {self.min_level!r}")
        if not self.kinds:
            raise InstanceError("kinds: expected at least one kind of site to visit")
        unknown = [k for k in self.kinds if k not in PLAN_KINDS]
        if unknown:
            raise InstanceError(f"kinds: cannot plan visits to {', '.join(unknown)} "
                                f"(plans visit {', '.join(PLAN_KINDS)})")
        if self.teams * self.days > MAX_ROUTES:
            raise InstanceError(f"teams x days: at most {MAX_ROUTES:,} team-days in one plan, got "
                                f"{self.teams * self.days:,}")
        if not 1 <= self.max_sites <= MAX_SITES:
            raise InstanceError(f"max_sites: expected 1 to {MAX_SITES:,}, got {self.max_sites}")
        if not 0 < self.time_limit_s <= 600:
            raise InstanceError(f"time_limit_s: expected more than 0 and at most 600 s, got {self.time_limit_s}")
        if self.seed < 0:
            raise InstanceError(f"seed: expected a non-negative integer, got {self.seed}")
        if self.bases and len(self.bases) not in (1, self.teams):
            raise InstanceError(f"bases: give one base for every team or one for each of the {self.teams} teams, "
                                f"not {len(self.bases)}")
        for i, (lon, lat) in enumerate(self.bases):
            if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
                raise InstanceError(f"bases[{i}]: lon must lie in [-180, 180] and lat in [-90, 90], got {lon}, {lat}")
        if self.overdue_days is not None and self.overdue_days < 0:
            raise InstanceError(f"overdue_days: expected a number of days >= 0, got {self.overdue_days}")
        if self.look_back_days is not None and not 1 <= self.look_back_days <= 3650:
            raise InstanceError(f"look_back_days: expected 1 to 3650 days, got {self.look_back_days}")
        if (self.look_back or self.overdue) and self.today is not None and not FIRST_DAY <= self.today <= LAST_DAY:
            raise InstanceError(f"first day: overdue and look-back sites are judged on a day from {FIRST_DAY} to "
                                f"{LAST_DAY}, got {self.today}")
        for key in (*self.must_visit, *self.time_windows):
            site_key(key)
        for key, (a, b) in self.time_windows.items():
            lo, hi = clock_hours(a, f"time_windows[{key}]"), clock_hours(b, f"time_windows[{key}]")
            if lo > hi:
                raise InstanceError(f"time_windows[{key}]: from {a} is after to {b}")
        check_service_table(self.service_hours)
        if self.iterations is not None and not 1 <= self.iterations <= 10_000_000:
            raise InstanceError(f"iterations: expected 1 to 10,000,000, got {self.iterations}")
        cores = os.cpu_count() or 1
        if not 1 <= self.searches <= cores:
            raise InstanceError(f"searches: expected 1 to {cores} (the machine's cores), got {self.searches}")
        if self.travel not in TRAVEL_MODES:
            raise InstanceError(f"travel: expected one of {', '.join(TRAVEL_MODES)}, got {self.travel!r}")

    def settings(self) -> SupervisionConfig:
        """The supervision settings the request uses (its own, else the shipped ones)."""
        return self.supervision or shipped_supervision()

    def window(self) -> int:
        """The look-back window in days."""
        return self.settings().look_back_days if self.look_back_days is None else self.look_back_days

    def team_bases(self, default: tuple[float, float]) -> list[tuple[float, float]]:
        if not self.bases:
            return [default] * self.teams
        return list(self.bases) * self.teams if len(self.bases) == 1 else list(self.bases)


def clock_hours(value: str, what: str) -> float:
    """'08:30' -> 8.5 (InstanceError naming ``what`` when it is no clock time)."""
    try:
        h, m = str(value).split(":")
        hours, minutes = int(h), int(m)
        if not (0 <= hours <= 24 and 0 <= minutes < 60 and (hours < 24 or minutes == 0)) or len(m) != 2:
            raise ValueError
    except ValueError:
        raise InstanceError(f"{what}: expected a clock time HH:MM, got {value!r}") from None
    return hours + minutes / 60


def site_key(key: str) -> tuple[str, int]:
    """'enterprise.12' -> ('enterprise', 12)."""
    kind, _, fid = str(key).partition(".")
    if kind not in PLAN_KINDS or not fid.isdigit():
        raise InstanceError(f"site {key!r}: expected kind.id with kind one of {', '.join(PLAN_KINDS)}, "
                            f"e.g. enterprise.12")
    return kind, int(fid)


@dataclass(frozen=True)
class SiteInfo:
    """What a plan shows of a site besides the solver's view of it."""

    key: str  # kind.id
    kind: str
    id: int
    source_id: str
    name: str
    lon: float
    lat: float
    score: float
    level: str
    size: float | None
    last_inspection: dt.date | None
    service: float  # hours
    must_visit: str | None = None  # why it must be visited: 'named', 'look_back' or 'overdue'
    tw: tuple[float, float] | None = None  # hours after the day's start
    next_due: dt.date | None = None  # when it is due: its level's frequency, or overdue_days, after the last inspection
    days_overdue: int | None = None  # an overdue must-visit: days from its due date to the first day (None: never
    # inspected, so overdue whatever the date)
    look_back: tuple[LookBack, ...] = ()  # why it is a look-back site (when look-backs are asked for)


@dataclass
class Candidates:
    sites: list[SiteInfo]
    default_base: tuple[float, float]
    red_cut_off: int  # red sites matching the request but beyond max_sites
    model_version: str  # of the risk scores


def candidate_sites(conn, req: PlanRequest) -> Candidates:
    """The sites the request may visit, worst first (InstanceError for an unknown area, an unknown named site,
    or none at all)."""
    req.check()
    if req.area is not None:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM area WHERE admin_code = %s", (req.area,))
            if cur.fetchone() is None:
                raise InstanceError(f"area: no admin area with code {req.area!r} is stored")
    today = req.today or dt.date.today()
    look_backs = (look_back_sites(conn, today, req.settings(), area=req.area, kinds=req.kinds,
                                  window_days=req.window()) if req.look_back else {})
    asked = set(req.must_visit) | set(req.time_windows)
    named = sorted(asked | set(look_backs))
    query = resources.files("geo.planning").joinpath("sql/candidate_sites.sql").read_text(encoding="utf-8")
    with conn.cursor() as cur:
        cur.execute(query, {"area": req.area, "kinds": list(req.kinds), "levels": list(LEVELS),
                            "min_pos": LEVELS.index(req.min_level) + 1, "limit": req.max_sites,
                            "named": named, "named_any": bool(named)})
        rows = cur.fetchall()
    found = {f"{r[0]}.{r[1]}" for r in rows if r[10]}
    missing = [k for k in named if k not in found and k in asked]
    beyond = [k for k in named if k not in found and k not in asked]
    if beyond:
        raise InstanceError(f"{len(look_backs)} look-back sites and {len(asked)} named sites are more than max_sites "
                            f"({req.max_sites}): raise max_sites or plan a smaller area")
    if missing:
        raise InstanceError(f"no scored site {', '.join(missing)}: a must-visit or time-window site must be a "
                            f"stored, scored feature" + (" (and named sites count toward max_sites)"
                                                         if len(named) > req.max_sites else ""))
    if not rows:
        raise InstanceError(f"no scored {', '.join(req.kinds)} at level {req.min_level} or above"
                            + (f" in area {req.area}" if req.area else ""))
    day0 = clock_hours(req.day_start, "day_start")
    sites = []
    for kind, fid, source_id, name, x, y, score, level, size, last, _, _, _ in rows:
        key = f"{kind}.{fid}"
        due = None
        if req.overdue_days is not None:  # the explicit override: one number of days for every level
            due = last + dt.timedelta(days=req.overdue_days) if last is not None else None
        elif req.overdue:
            due = next_due(last, level, req.settings())
        why = None
        if key in req.must_visit:
            why = "named"
        elif key in look_backs:
            why = "look_back"
        elif req.overdue_days is not None:
            if due is not None and is_overdue(due, today):  # a site with no inspection date is not counted
                why = "overdue"
        elif req.overdue and is_overdue(due, today):
            why = "overdue"
        tw = None
        if key in req.time_windows:
            a, b = req.time_windows[key]
            tw = (clock_hours(a, key) - day0, clock_hours(b, key) - day0)
        late = (today - due).days if why == "overdue" and due is not None else None
        sites.append(SiteInfo(key, kind, fid, source_id, name, x, y, float(score), level, size, last,
                              service_hours(kind, size, req.service_hours), why, tw, due, late,
                              tuple(look_backs.get(key, ()))))
    sites.sort(key=lambda s: (-s.score, s.kind, s.id))
    red_in = sum(1 for s in sites if s.level == "red" and s.key not in named)
    return Candidates(sites, default_base(conn, req.area, sites), max(0, int(rows[0][11]) - red_in),
                      max(r[12] for r in rows))


def default_base(conn, area: str | None, sites: list[SiteInfo]) -> tuple[float, float]:
    """Where the teams leave from when the request gives no base (lon, lat).

    With an area: in the area's part (an area may be several polygons: a county with an exclave) that holds the
    most candidate sites, the larger part on a tie, the point nearest to the centre of the candidates inside that
    part (their mean longitude and latitude; the centre itself when it lies in the part, else the nearest point of
    the part's outline, measured in metres).  So a small detached part far from the sites never gets the base, and
    the base sits among the sites rather than at an arbitrary point inside the area.  When no candidate lies in any
    part (only named sites outside the area), the largest part, nearest to the centre of all the candidates.
    Without an area: the centre of the candidates."""
    if area is None:
        return (sum(s.lon for s in sites) / len(sites), sum(s.lat for s in sites) / len(sites))
    query = resources.files("geo.planning").joinpath("sql/default_base.sql").read_text(encoding="utf-8")
    with conn.cursor() as cur:
        cur.execute(query, {"area": area, "lons": [s.lon for s in sites], "lats": [s.lat for s in sites]})
        lon, lat = cur.fetchone()
    return (lon, lat)


def build_instance(req: PlanRequest, cands: Candidates, table: TravelTable | None = None) -> Instance:
    """One route per team and day, each from the team's base and back within the day's hours; travel by
    great-circle distance, or from ``table`` (a road network) when given."""
    req.check()
    bases = req.team_bases(cands.default_base)
    teams = [Team(route_id(t, d), bases[t - 1], bases[t - 1], req.hours_per_day)
             for t in range(1, req.teams + 1) for d in range(1, req.days + 1)]
    sites = [Site(s.key, s.lon, s.lat, s.score, s.service, s.tw, s.must_visit is not None) for s in cands.sites]
    return Instance(sites, teams, "haversine", req.speed_kmh, req.circuity, req.time_limit_s, req.seed,
                    req.iterations, table, searches=req.searches)


def check_must_visits(req: PlanRequest, cands: Candidates, inst: Instance) -> None:
    """InstanceError when the must-visit sites cannot all be visited, as far as simple checks tell, saying why in
    the plan's terms and what to change: a site no team can reach and inspect within a day (and its window), or
    more hours of inspection than the teams' working days hold (in hours and team-days, naming the options that
    give more time or fewer must-visit sites, as the API and the command line spell them)."""
    problems = unreachable_must_visits(inst)
    count, need, have = must_visit_hours(inst)
    if need > have + 1e-9:
        problems.append(capacity_problem(req, cands, count, need, have))
    if problems:
        raise InstanceError("no plan can visit every must-visit site: " + "; ".join(problems))


def capacity_problem(req: PlanRequest, cands: Candidates, count: int, need: float, have: float,
                     also: dict[str, int] | None = None) -> str:
    """Why the must-visit sites do not fit in the teams' days, with the hours, the team-days and what to do;
    ``also``: further reasons a site must be visited, each with its number of sites (a campaign's levels)."""
    reasons = {why: sum(1 for s in cands.sites if s.must_visit == why) for why in ("overdue", "look_back", "named")}
    labels = {"overdue": "overdue", "look_back": "look-back", "named": "named"}
    split = ", ".join([f"{n} {labels[why]}" for why, n in reasons.items() if n]
                      + [f"{n} {label}" for label, n in (also or {}).items() if n])
    team_days = req.teams * req.days
    needed_days = math.ceil(need / req.hours_per_day - 1e-9)
    fewer = []
    if reasons["overdue"]:
        fewer.append("a number of days in overdue_days (--overdue-days) instead of the levels' frequencies, or "
                     "no overdue (--overdue)" if req.overdue_days is None else "a larger overdue_days (--overdue-days)")
    if reasons["look_back"]:
        fewer.append("a shorter look_back_days (--look-back-days), or no look_back (--look-back)")
    if reasons["named"]:
        fewer.append("fewer sites in must_visit (--must-visit)")
    return (f"the {count} must-visit sites{f' ({split})' if split else ''} need {need:g} h of inspection alone "
            f"(travel not counted), more than the {have:g} h the teams have ({_n(req.teams, 'team')} x "
            f"{_n(req.days, 'day')} = {_n(team_days, 'team-day')} of {req.hours_per_day:g} h); their inspections "
            f"alone take at least {needed_days} team-days of {req.hours_per_day:g} h. Give more teams (teams, "
            f"--teams), more days (days, --days) or longer days (hours_per_day, --hours)"
            + (", or make fewer sites must-visit: " + "; ".join(fewer) if fewer else ""))


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def plan_points(req: PlanRequest, cands: Candidates) -> list[tuple[float, float]]:
    return list(dict.fromkeys([*req.team_bases(cands.default_base), *((s.lon, s.lat) for s in cands.sites)]))


def route_id(team: int, day: int) -> str:
    return f"team{team}/day{day}"


def greedy(inst: Instance, rate: str = "travel") -> Plan:
    """A greedy baseline: each route in turn takes, next, the site with the most prize per hour of travel to it
    (``rate="travel"``: the issue's baseline, "highest risk per travel minute next", with travel counted as at
    least one minute) or per hour of travel, waiting and inspection (``rate="time"``: a stronger one), among
    those that still let the team return within its budget (geo/planning/instance.py greedy_routes, in exact
    times).  Time windows are honoured; must-visit flags are not."""
    matrix = hours_matrix(inst, [*depot_points(inst), *((s.x, s.y) for s in inst.sites)])
    by_team = dict(greedy_routes(inst, matrix, rate=rate))
    routes = []
    for i, team in enumerate(inst.teams):
        chosen = [inst.sites[k] for k in by_team[i]]
        routes.append(Route(team.id, [s.id for s in chosen], route_time(inst, team, chosen),
                            sum(s.prize for s in chosen)))
    return Plan(routes, sum(r.prize for r in routes))


def plan(conn, req: PlanRequest, progress=None) -> tuple[Candidates, Instance, Plan]:
    """Candidates, instance (great-circle travel) and solution; geo/planning/planner.py adds the road network."""
    cands = candidate_sites(conn, req)
    inst = build_instance(req, cands)
    check_must_visits(req, cands, inst)
    return cands, inst, solve(inst, progress)
