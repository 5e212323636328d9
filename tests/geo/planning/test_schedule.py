"""The plan document (geo/planning/schedule.py) built from a solved instance, without a database: stop times,
km and risk per day, totals, the red sites left out and why, and the CSV and GeoJSON made from it."""

from __future__ import annotations

import csv
import io
import warnings

import pytest

from geo.planning import schedule
from geo.planning.instance import InstanceError, Plan, Route, solve
from geo.planning.plan import Candidates, PlanRequest, SiteInfo, build_instance, greedy, service_hours

BASE = (118.0, 39.0)


def site(i: int, dlon: float, dlat: float, score: float, level: str, service: float = 1.0, tw=None, must=None,
         kind: str = "enterprise", name: str | None = None) -> SiteInfo:
    return SiteInfo(f"{kind}.{i}", kind, i, f"S{i}", name or f"site {i}", BASE[0] + dlon, BASE[1] + dlat, score,
                    level, None, None, service, must, tw)


def solved(req: PlanRequest, sites: list[SiteInfo]):
    cands = Candidates(sites, BASE, 0, "test-1")
    inst = build_instance(req, cands)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cands, inst, solve(inst)


def request(**kw) -> PlanRequest:
    return PlanRequest(**{"teams": 1, "days": 1, "bases": (BASE,), "hours_per_day": 8.0, "speed_kmh": 40.0,
                          "circuity": 1.3, "time_limit_s": 1.0, **kw})


def test_stop_times_follow_travel_inspection_and_windows():
    """Each stop's arrival is the previous departure plus the travel time; the inspection starts at arrival or
    when the window opens; departure = start + inspection; the day is back within its hours, and its km and
    risk are the sums over its legs and stops."""
    sites = [site(1, 0.05, 0.0, 80, "red", 2.0), site(2, 0.1, 0.05, 60, "orange", 1.5, tw=(4.0, 6.0)),
             site(3, 0.0, 0.08, 40, "yellow", 1.0)]
    req = request(day_start="08:00")
    cands, inst, sol = solved(req, sites)
    doc = schedule.build(req, cands, inst, sol)
    day = doc["teams"][0]["days"][0]
    assert [s["seq"] for s in day["stops"]] == list(range(1, len(day["stops"]) + 1))
    assert {s["id"] for s in day["stops"]} == {1, 2, 3}  # all fit in 8 h

    def minutes(c: str) -> int:
        h, m = c.split(":")
        return int(h) * 60 + int(m)

    here, clock_min, km = BASE, 8 * 60.0, 0.0
    for s in day["stops"]:
        leg = inst.travel(here, (s["lon"], s["lat"]))
        assert abs(minutes(s["arrival"]) - (clock_min + leg * 60)) <= 1
        assert abs(s["km_from_previous"] - leg * 40) < 0.06
        if s["id"] == 2:
            assert minutes(s["start"]) >= 12 * 60 and minutes(s["start"]) <= 14 * 60  # window 12:00-14:00
            assert s["time_window"] == ["12:00", "14:00"]
        assert minutes(s["departure"]) - minutes(s["start"]) == pytest.approx(s["inspection_h"] * 60, abs=1)
        clock_min = 8 * 60 + (minutes(s["departure"]) - 8 * 60)
        km += leg * 40
        here = (s["lon"], s["lat"])
    km += inst.travel(here, BASE) * 40
    assert day["km"] == pytest.approx(km, abs=0.1)
    assert minutes(day["back"]) <= 16 * 60 and day["hours"] <= 8
    assert day["risk"] == pytest.approx(180)
    t = doc["totals"]
    assert t["risk_covered"] == pytest.approx(180) and t["risk_share"] == 1.0 and t["visits"] == 3
    assert t["by_level"]["red"] == {"candidates": 1, "visited": 1} and t["red_left_out"] == []


def test_red_sites_left_out_say_why():
    """A red site too far for a day is 'beyond_a_day' with its round-trip hours; one whose window cannot be met
    is 'time_window'; one that fits alone but not with the rest is 'days_full'."""
    sites = [site(1, 0.02, 0.0, 90, "red", 3.0), site(2, 0.0, 0.02, 89, "red", 3.0),
             site(3, 0.03, 0.03, 88, "red", 3.0),  # only two 3-h inspections fit in 8 h
             site(4, 3.0, 0.0, 95, "red", 1.0),  # ~250 km away: over 6 h each way
             site(5, 0.01, 0.0, 92, "red", 1.0, tw=(0.0, 0.0001))]  # the window closes before anyone arrives
    req = request()
    cands, inst, sol = solved(req, sites)
    doc = schedule.build(req, cands, inst, sol)
    left = {r["id"]: r for r in doc["totals"]["red_left_out"]}
    visited = {s["id"] for s in doc["teams"][0]["days"][0]["stops"]}
    assert len(visited) == 2 and visited <= {1, 2, 3}
    assert left[4]["reason"] == "beyond_a_day" and "8 h working day" in left[4]["detail"]
    assert left[5]["reason"] == "time_window"
    (full,) = {1, 2, 3} - visited
    assert left[full]["reason"] == "days_full"
    assert doc["totals"]["by_level"]["red"] == {"candidates": 5, "visited": 2}


def test_must_visit_out_of_reach_names_the_site_and_why():
    """A must-visit site no team can reach and inspect within a day is an error naming it, with the hours."""
    sites = [site(1, 0.02, 0.0, 50, "orange"), site(2, 3.0, 0.0, 40, "yellow", must="overdue")]
    with pytest.raises(InstanceError, match=r"enterprise\.2: going there from the base.*takes"):
        solved(request(), sites)


def test_must_visit_sites_are_visited_even_when_worth_less():
    """Must-visit sites are in the plan even when other sites would cover more risk."""
    sites = [site(1, 0.02, 0.0, 99, "red", 3.0), site(2, 0.0, 0.02, 98, "red", 3.0),
             site(3, -0.02, 0.0, 10, "blue", 3.0, must="named")]
    req = request()
    cands, inst, sol = solved(req, sites)
    doc = schedule.build(req, cands, inst, sol)
    stops = doc["teams"][0]["days"][0]["stops"]
    assert 3 in {s["id"] for s in stops} and len(stops) == 2
    assert next(s for s in stops if s["id"] == 3)["must_visit"] == "named"


def test_days_are_routes_from_the_base():
    """Two teams x three days: six routes, each from its team's base; no site twice."""
    sites = [site(i, 0.01 * (i % 7), 0.01 * (i // 7), 100 - i, "orange", 2.0) for i in range(1, 40)]
    req = request(teams=2, days=3, bases=((118.0, 39.0), (118.05, 39.05)))
    cands, inst, sol = solved(req, sites)
    doc = schedule.build(req, cands, inst, sol)
    assert [t["base"] for t in doc["teams"]] == [[118.0, 39.0], [118.05, 39.05]]
    assert [[d["day"] for d in t["days"]] for t in doc["teams"]] == [[1, 2, 3], [1, 2, 3]]
    ids = [s["id"] for t in doc["teams"] for d in t["days"] for s in d["stops"]]
    assert len(ids) == len(set(ids)) == doc["totals"]["visits"] == 18  # 3 two-hour inspections and the travel a day


def test_csv_has_a_row_per_stop_and_defuses_formulas():
    """The CSV lists every stop in order with its team and day; a name starting with = is quoted."""
    sites = [site(1, 0.02, 0.0, 90, "red", name="=HYPERLINK(1)"), site(2, 0.0, 0.02, 50, "orange")]
    req = request()
    cands, inst, sol = solved(req, sites)
    doc = schedule.build(req, cands, inst, sol)
    rows = list(csv.DictReader(io.StringIO(schedule.as_csv(doc).decode("utf-8-sig"))))
    assert len(rows) == 2 and [r["seq"] for r in rows] == ["1", "2"]
    assert {r["name"] for r in rows} == {"'=HYPERLINK(1)", "site 2"}
    assert all(r["team"] == "1" and r["day"] == "1" for r in rows)


def test_geojson_routes_start_and_end_at_the_base():
    """One LineString per team-day from the base through the stops in order and back; a numbered Point per
    stop; the base as a Point."""
    sites = [site(1, 0.02, 0.0, 90, "red"), site(2, 0.0, 0.02, 50, "orange")]
    req = request()
    cands, inst, sol = solved(req, sites)
    gj = schedule.as_geojson(schedule.build(req, cands, inst, sol))
    routes = [f for f in gj["features"] if f["properties"]["role"] == "route"]
    stops = [f for f in gj["features"] if f["properties"]["role"] == "stop"]
    assert len(routes) == 1 and len(stops) == 2
    line = routes[0]["geometry"]["coordinates"]
    assert line[0] == line[-1] == list(BASE)
    assert line[1:-1] == [f["geometry"]["coordinates"] for f in sorted(stops, key=lambda f: f["properties"]["seq"])]


def test_greedy_baselines():
    """The issue's greedy takes the most risk per travel minute next; the stronger one counts the inspection
    too.  Both keep to the day."""
    # a big prize with a long inspection next to the base, and small quick ones a little farther
    sites = [site(1, 0.001, 0.0, 60, "red", 6.0)] + [site(i, 0.02 * i, 0.0, 20, "yellow", 0.5) for i in range(2, 6)]
    req = request()
    inst = build_instance(req, Candidates(sites, BASE, 0, "t"))
    by_travel, by_time = greedy(inst, "travel"), greedy(inst, "time")
    assert by_travel.routes[0].sites[0] == "enterprise.1"  # nearest per minute of travel, whatever it takes
    assert by_time.routes[0].sites[0] != "enterprise.1"
    for p in (by_travel, by_time):
        assert p.routes[0].time <= 8 + 1e-9


@pytest.mark.parametrize(("kind", "size", "hours"), [
    ("enterprise", 20, 1.5), ("enterprise", 100, 2.0), ("enterprise", 5000, 3.0), ("enterprise", None, 3.0),
    ("tailings_pond", 50, 1.0), ("tailings_pond", float("nan"), 2.0), ("venue", 60000, 2.5)])
def test_inspection_hours_by_class_and_size(kind, size, hours):
    """The band whose smallest size the site reaches; an unknown size takes the longest."""
    assert service_hours(kind, size) == hours


@pytest.mark.parametrize(("kw", "words"), [
    ({"teams": 0}, "teams"), ({"days": 0}, "days"), ({"hours_per_day": 0}, "hours_per_day"),
    ({"day_start": "25:00"}, "day_start"), ({"day_start": "20:00", "hours_per_day": 6}, "after midnight"),
    ({"speed_kmh": 0}, "speed_kmh"), ({"circuity": 0.5}, "circuity"), ({"kinds": ("pipeline",)}, "pipeline"),
    ({"bases": ((1.0, 2.0), (3.0, 4.0))}, "bases"), ({"bases": ((200.0, 0.0),)}, r"bases\[0\]"),
    ({"must_visit": ("enterprise.x",)}, "enterprise.x"), ({"time_windows": {"venue.1": ("11:00", "09:00")}}, "after"),
    ({"teams": 100, "days": 20}, "team-days"), ({"max_sites": 0}, "max_sites"),
    ({"service_hours": {"enterprise": ("employees", ((100, 2.0), (0, 1.0)))}}, "increase")])
def test_bad_requests_name_the_field(kw, words):
    with pytest.raises(InstanceError, match=words):
        request(**kw).check()


def test_clock_times_round_to_the_minute():
    assert schedule.clock(8.5) == "08:30" and schedule.clock(16 + 59.6 / 60) == "17:00"


def test_plan_route_ids_match_teams_and_days():
    """Routes are named team{t}/day{d} in team-major order (what schedule.build reads)."""
    req = request(teams=2, days=2)
    inst = build_instance(req, Candidates([site(1, 0.01, 0, 10, "blue")], BASE, 0, "t"))
    assert [t.id for t in inst.teams] == ["team1/day1", "team1/day2", "team2/day1", "team2/day2"]
    empty = Plan([Route(t.id, []) for t in inst.teams], 0)
    doc = schedule.build(req, Candidates([site(1, 0.01, 0, 10, "blue")], BASE, 0, "t"), inst, empty)
    assert doc["totals"]["visits"] == 0 and doc["teams"][0]["days"][0]["back"] is None
