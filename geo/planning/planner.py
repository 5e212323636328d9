"""Making a plan from a request (what `riskmap plan` and POST /plans run): the candidate sites, the travel times
(fastest paths over the stored road network when there is one and the request allows it, else
great-circle distance x circuity), the solver, and the plan document with its times, km and totals."""

from __future__ import annotations

from geo.errors import PlanningError
from geo.planning import schedule
from geo.planning.instance import solve
from geo.planning.plan import PlanRequest, build_instance, candidate_sites, check_must_visits, plan_points
from geo.planning.roads import RoadTravel, network_size


def make_plan(conn, req: PlanRequest, progress=None, notes=None) -> dict:
    """The plan document for ``req`` (not stored).  ``progress(seconds, limit)`` follows the search; ``notes(text)``
    hears what the planner is doing."""
    say = notes or (lambda _text: None)
    req.check()
    cands = candidate_sites(conn, req)
    road, travel = None, "great-circle distance x circuity at the teams' speed"
    if req.travel != "great_circle":
        edges = network_size(conn)
        if edges:
            say(f"travel times over the road network ({edges:,} edges)")
            road = RoadTravel(conn, plan_points(req, cands), req.speed_kmh, req.circuity)
            how = ("by contraction hierarchies, to within a second" if road.engine == "cch" else "by Dijkstra")
            travel = (f"road network ({edges:,} edges; fastest paths {how} over the stored roads at each "
                      f"road's speed), and great-circle distance x circuity at the teams' speed between a site and "
                      f"its nearest road")
        elif req.travel == "roads":
            raise PlanningError("travel: roads asked for, but no road network is stored (load one with "
                                "`riskmap roads import FILE`)")
    inst = build_instance(req, cands, road.table if road else None)
    check_must_visits(req, cands, inst)
    say(f"{len(cands.sites)} candidate sites, {req.teams} teams x {req.days} days; solving for "
        f"{req.time_limit_s:g} s (seed {req.seed})")
    solution = solve(inst, progress)
    km = path = None
    if road is not None:
        by_id = {s.id: (s.x, s.y) for s in inst.sites}
        legs = []
        for r, team in zip(solution.routes, inst.teams, strict=True):
            stops = [team.start, *(by_id[i] for i in r.sites), team.end]
            legs += list(zip(stops[:-1], stops[1:], strict=True)) if r.sites else []
        table = road.legs(legs)
        km = lambda a, b: table[(a, b)][0]  # noqa: E731
        path = lambda a, b: table[(a, b)][1]  # noqa: E731
    return schedule.build(req, cands, inst, solution, km=km, path=path, travel=travel)
