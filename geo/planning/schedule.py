"""A solved plan as people read it (issue 6, item 3): per team and day the ordered stops with arrival and
departure times, km travelled and risk covered; totals (the share of the candidates' risk covered, visits per
level, the red sites left out and why).  Pure: the plan document built here is what is stored, served as JSON and
turned into GeoJSON, CSV and the printable schedule."""

from __future__ import annotations

import datetime as dt

from geo.planning.instance import Instance, Plan, round_trip
from geo.planning.plan import Candidates, PlanRequest, clock_hours, route_id
from geo.risk.framework import LEVELS
from geo.spreadsheet import csv_bytes

# Why a red site was left out of a plan
BEYOND_A_DAY = "beyond_a_day"
TIME_WINDOW = "time_window"
DAYS_FULL = "days_full"
NO_ROAD = "no_road"


def clock(hours: float) -> str:
    """8.5 -> '08:30' (rounded to the minute)."""
    minutes = int(round(hours * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def build(req: PlanRequest, cands: Candidates, inst: Instance, solution: Plan, km=None, path=None,
          travel: str = "great-circle distance x circuity at the teams' speed") -> dict:
    """The plan document: request, teams (days, stops), totals.  ``km(a, b)``: the km of a leg (default: its
    travel time at the teams' speed); ``path(a, b)``: the line a leg follows, [lon, lat] pairs (a road path; by
    default none, and maps draw the leg straight); ``travel``: how travel times were found, as the plan states
    it."""
    if km is None:
        km = lambda a, b: inst.travel(a, b) * inst.speed_kmh  # noqa: E731
    day0 = clock_hours(req.day_start, "day_start")
    info = {s.key: s for s in cands.sites}
    routes = {r.team: r for r in solution.routes}
    teams_out = []
    visited: set[str] = set()
    total_km = 0.0
    for t in range(1, req.teams + 1):
        days = []
        base = None
        for d in range(1, req.days + 1):
            team = next(x for x in inst.teams if x.id == route_id(t, d))
            base = team.start
            stops, here, clock_h, day_km, risk = [], team.start, 0.0, 0.0, 0.0
            line: list = []
            for seq, key in enumerate(routes[team.id].sites, 1):
                s = info[key]
                leg = inst.travel(here, (s.lon, s.lat))
                arrive = clock_h + leg
                begin = max(arrive, s.tw[0]) if s.tw else arrive
                depart = begin + s.service
                leg_km = km(here, (s.lon, s.lat))
                stops.append({"seq": seq, "kind": s.kind, "id": s.id, "source_id": s.source_id, "name": s.name,
                              "level": s.level, "score": round(s.score, 2), "lon": s.lon, "lat": s.lat,
                              "arrival": clock(day0 + arrive), "start": clock(day0 + begin),
                              "departure": clock(day0 + depart), "inspection_h": s.service,
                              "km_from_previous": round(leg_km, 1), "must_visit": s.must_visit,
                              "time_window": [clock(day0 + s.tw[0]), clock(day0 + s.tw[1])] if s.tw else None,
                              "last_inspection": s.last_inspection.isoformat() if s.last_inspection else None,
                              "next_due": s.next_due.isoformat() if s.next_due else None,
                              "days_overdue": s.days_overdue,
                              "look_back": [lb.as_dict() for lb in s.look_back] or None})
                day_km += leg_km
                if path is not None:
                    line += path(here, (s.lon, s.lat))[1 if line else 0:]
                risk += s.score
                clock_h, here = depart, (s.lon, s.lat)
                visited.add(key)
            back = inst.travel(here, team.end) if stops else 0.0
            day_km += km(here, team.end) if stops else 0.0
            if path is not None and stops:
                line += path(here, team.end)[1:]
            total_km += day_km
            days.append({"day": d, "leave": clock(day0), "back": clock(day0 + clock_h + back) if stops else None,
                         "hours": round(clock_h + back, 2), "km": round(day_km, 1), "risk": round(risk, 2),
                         "path": line or None,
                         "stops": stops})
        teams_out.append({"team": t, "name": f"team {t}", "base": list(base), "days": days,
                          "km": round(sum(d["km"] for d in days), 1), "risk": round(sum(d["risk"] for d in days), 2),
                          "visits": sum(len(d["stops"]) for d in days)})
    candidate_risk = sum(s.score for s in cands.sites)
    covered = sum(info[k].score for k in visited)
    by_level = {lv: {"candidates": 0, "visited": 0} for lv in reversed(LEVELS)}
    for s in cands.sites:
        by_level[s.level]["candidates"] += 1
        by_level[s.level]["visited"] += s.key in visited
    red_left = [left_out(req, inst, s, len(visited)) for s in cands.sites if s.level == "red" and s.key not in visited]
    totals = {"candidates": len(cands.sites), "candidate_risk": round(candidate_risk, 2),
              "risk_covered": round(covered, 2), "risk_share": round(covered / candidate_risk, 4)
              if candidate_risk else 0.0, "visits": len(visited), "km": round(total_km, 1), "by_level": by_level,
              "red_left_out": red_left, "red_beyond_max_sites": cands.red_cut_off,
              "must_visit": sum(1 for s in cands.sites if s.must_visit),
              "look_back": sum(1 for s in cands.sites if s.look_back),
              "overdue": sum(1 for s in cands.sites if s.must_visit == "overdue")}
    return {"request": {**request_doc(req, cands), "travel": travel}, "model_version": cands.model_version,
            "teams": teams_out, "totals": totals}


def left_out(req: PlanRequest, inst: Instance, s, visits: int) -> dict:
    """A red site the plan does not visit, and why."""
    day = req.hours_per_day
    blocked, over = round_trip(inst, (s.lon, s.lat), s.service, s.tw)
    if blocked == NO_ROAD:
        reason, detail = NO_ROAD, "no road joins it to a team's base"
    elif blocked == TIME_WINDOW:
        reason, detail = TIME_WINDOW, (f"no team can arrive from its base before its time window closes "
                                       f"({clock(clock_hours(req.day_start, 'day_start') + s.tw[1])})")
    elif over > 1e-9:
        reason = BEYOND_A_DAY if not s.tw else TIME_WINDOW
        detail = (f"going there from the base, the {s.service:g} h inspection and the way back take "
                  f"{day + over:.1f} h, more than the {day:g} h working day")
    else:
        reason, detail = DAYS_FULL, (f"the teams' {len(inst.teams)} working days were full ({visits} visits); the "
                                     f"plan covered more risk with other sites")
    return {"kind": s.kind, "id": s.id, "source_id": s.source_id, "name": s.name, "score": round(s.score, 2),
            "reason": reason, "detail": detail}


def request_doc(req: PlanRequest, cands: Candidates) -> dict:
    """The request as stored with the plan (defaults filled in)."""
    return {"teams": req.teams, "days": req.days, "bases": [list(b) for b in req.team_bases(cands.default_base)],
            "hours_per_day": req.hours_per_day, "day_start": req.day_start, "speed_kmh": req.speed_kmh,
            "circuity": req.circuity, "area": req.area, "kinds": list(req.kinds), "min_level": req.min_level,
            "max_sites": req.max_sites, "time_limit_s": req.time_limit_s, "seed": req.seed,
            "iterations": req.iterations, "searches": req.searches,
            "must_visit": list(req.must_visit), "overdue": req.overdue, "overdue_days": req.overdue_days,
            "frequency_months": dict(req.settings().frequency_months)
            if req.overdue and req.overdue_days is None else None,
            "look_back": req.look_back, "look_back_days": req.window() if req.look_back else None,
            "first_day": (req.today or dt.date.today()).isoformat(),
            "time_windows": {k: list(v) for k, v in req.time_windows.items()},
            "service_hours": {k: {"size": a, "bands": [list(b) for b in bands]}
                              for k, (a, bands) in req.service_hours.items()},
            "travel_mode": req.travel}


# ----- formats ---------------------------------------------------------------------------------------------------

CSV_COLUMNS = ("team", "day", "seq", "kind", "id", "source_id", "name", "level", "score", "arrival", "start",
               "departure", "inspection_h", "km_from_previous", "must_visit", "lon", "lat", "look_back",
               "last_inspection", "next_due", "days_overdue")


def as_csv(doc: dict) -> bytes:
    """One row per stop, in team, day and visiting order, through the one formula-safe writer
    (geo/spreadsheet.py: text a spreadsheet would read as a formula gets a leading apostrophe)."""
    columns = CSV_COLUMNS
    if doc.get("kind") == "campaign":  # its days have dates, and a site may be visited more than once
        columns = (*CSV_COLUMNS[:2], "date", *CSV_COLUMNS[2:6], "visit", *CSV_COLUMNS[6:])
    rows = []
    for team in doc["teams"]:
        for day in team["days"]:
            for s in day["stops"]:
                row = {**s, "team": team["team"], "day": day["day"], "date": day.get("date"),
                       "must_visit": s["must_visit"] or "",
                       "look_back": look_back_text(s.get("look_back")), "last_inspection": s.get("last_inspection"),
                       "next_due": s.get("next_due"), "days_overdue": s.get("days_overdue")}
                rows.append([row.get(c) for c in columns])
    return csv_bytes(columns, rows)


def look_back_text(reasons: list[dict] | None) -> str:
    """A stop's look-back reasons in one line: 'major_danger_rectified 2026-03-02 hidden_danger HD-7 (...)'."""
    return "; ".join(f"{r['reason']} {r['date']} {r['record']} {r['source_id']} ({r['detail']})"
                     for r in reasons or ())


def as_geojson(doc: dict) -> dict:
    """Routes (one LineString per team and day, base to base) and stops (Points with their order), RFC 7946."""
    features = []
    for team in doc["teams"]:
        base = team["base"]
        for day in team["days"]:
            if not day["stops"]:
                continue
            # the road path when the plan has one, else straight legs
            coords = day.get("path") or [base, *([s["lon"], s["lat"]] for s in day["stops"]), base]
            features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                             "properties": {"role": "route", "team": team["team"], "day": day["day"],
                                            "km": day["km"], "risk": day["risk"], "visits": len(day["stops"]),
                                            "leave": day["leave"], "back": day["back"]}})
            for s in day["stops"]:
                props = {k: v for k, v in s.items() if k not in ("lon", "lat", "id")}
                features.append({"type": "Feature", "id": f"{team['team']}/{day['day']}/{s['seq']}",
                                 "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                                 "properties": {"role": "stop", "team": team["team"], "day": day["day"],
                                                "feature_id": s["id"], **props}})
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": base},
                         "properties": {"role": "base", "team": team["team"]}})
    return {"type": "FeatureCollection", "features": features,
            "plan": {"id": doc.get("id"), "totals": {k: v for k, v in doc["totals"].items() if k != "red_left_out"}}}
