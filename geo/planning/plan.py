"""Inspection plans from the stored risks (issue 6, item 2): the sites of an area at or above a level, each with
its risk score as the prize and an inspection duration by class, visited by teams that leave a base each working
day; solved as a team orienteering instance (geo/planning/instance.py), travel by great-circle distance times a
circuity factor at the teams' speed.  A greedy plan (the highest risk per minute next) is the baseline."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from geo.planning.instance import Instance, InstanceError, Plan, Route, Site, Team, route_time, solve
from geo.risk.framework import LEVELS

# hours an inspection takes, by class [assumption: a day's visit for a hazardous-chemicals enterprise is 2-3 h;
# a pond and a venue about 1.5 h]
SERVICE_HOURS = {"enterprise": 2.0, "tailings_pond": 1.5, "venue": 1.5}


@dataclass(frozen=True)
class PlanRequest:
    teams: int
    days: int
    base: tuple[float, float]  # lon, lat: where every team starts and ends each day
    hours_per_day: float = 8.0
    speed_kmh: float = 40.0
    circuity: float = 1.3
    area: str | None = None  # admin code; None: everywhere
    kinds: tuple[str, ...] = ("enterprise", "tailings_pond", "venue")
    min_level: str = "yellow"
    max_sites: int = 2000
    time_limit_s: float = 30.0
    seed: int = 1
    service_hours: dict = field(default_factory=lambda: dict(SERVICE_HOURS))

    def check(self) -> None:
        if self.teams < 1:
            raise InstanceError(f"teams: at least one team is needed, got {self.teams}")
        if self.days < 1:
            raise InstanceError(f"days: at least one day is needed, got {self.days}")
        if not 0 < self.hours_per_day <= 24:
            raise InstanceError(f"hours per day: expected more than 0 and at most 24, got {self.hours_per_day}")
        if self.min_level not in LEVELS:
            raise InstanceError(f"min_level: expected one of {', '.join(LEVELS)}, got {self.min_level!r}")
        unknown = [k for k in self.kinds if k not in self.service_hours]
        if unknown:
            raise InstanceError(f"kinds: cannot plan visits to {', '.join(unknown)}")


def candidate_sites(conn, req: PlanRequest) -> list[Site]:
    """The sites the request may visit, worst first (InstanceError for an unknown area or none at all)."""
    req.check()
    if req.area is not None:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM area WHERE admin_code = %s", (req.area,))
            if cur.fetchone() is None:
                raise InstanceError(f"area: no admin area with code {req.area!r} is stored")
    query = resources.files("geo.planning").joinpath("sql/candidate_sites.sql").read_text(encoding="utf-8")
    with conn.cursor() as cur:
        cur.execute(query, {"area": req.area, "kinds": list(req.kinds), "levels": list(LEVELS),
                            "min_pos": LEVELS.index(req.min_level) + 1, "limit": req.max_sites})
        rows = cur.fetchall()
    if not rows:
        raise InstanceError(f"no scored {', '.join(req.kinds)} at level {req.min_level} or above"
                            + (f" in area {req.area}" if req.area else ""))
    return [Site(f"{kind}.{fid}", x, y, float(score), req.service_hours[kind]) for kind, fid, _, x, y, score, _ in rows]


def build_instance(req: PlanRequest, sites: list[Site]) -> Instance:
    """One route per team and day, each from the base and back within the day's hours."""
    req.check()
    teams = [Team(f"team{t}/day{d}", req.base, req.base, req.hours_per_day)
             for t in range(1, req.teams + 1) for d in range(1, req.days + 1)]
    return Instance(sites, teams, "haversine", req.speed_kmh, req.circuity, req.time_limit_s, req.seed)


def greedy(inst: Instance) -> Plan:
    """The baseline: each route in turn takes, next, the site with the most prize per hour of detour and
    inspection that still lets it return within its budget."""
    left = {s.id: s for s in inst.sites}
    routes = []
    for team in inst.teams:
        chosen: list[Site] = []
        here, elapsed = team.start, 0.0
        while True:
            best, best_rate = None, 0.0
            for s in left.values():
                go = inst.travel(here, (s.x, s.y))
                if elapsed + go + s.service + inst.travel((s.x, s.y), team.end) > team.budget + 1e-9:
                    continue
                rate = s.prize / max(go + s.service, 1e-9)
                if rate > best_rate:
                    best, best_rate = s, rate
            if best is None:
                break
            elapsed += inst.travel(here, (best.x, best.y)) + best.service
            here = (best.x, best.y)
            chosen.append(best)
            del left[best.id]
        r = Route(team.id, [s.id for s in chosen], route_time(inst, team, chosen), sum(s.prize for s in chosen))
        routes.append(r)
    return Plan(routes, sum(r.prize for r in routes))


def plan(conn, req: PlanRequest) -> tuple[Instance, Plan]:
    inst = build_instance(req, candidate_sites(conn, req))
    return inst, solve(inst)
