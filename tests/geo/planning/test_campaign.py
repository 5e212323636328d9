"""A city's campaign (issue 17, item 3): several weeks of working days, red sites visited at their frequency and
with the spacing asked, must-visit sites always, teams sleeping where their day ended when the base is far, and
an interrupted campaign keeping its best plan; in a real PostGIS with the sites written in SQL."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from geo.planning.campaign import CampaignRequest, make_campaign, working_days
from geo.planning.instance import EARTH_RADIUS_KM, InstanceError
from geo.planning.plan import PlanRequest
from tests.geo.supervision import records as r

D = dt.date
FIRST_DAY = D(2026, 6, 1)  # a Monday
AREA = "100001"
BASE = (118.02, 39.02)
FAR = (118.45, 39.45)  # about 2 h of travel from the base at 40 km/h x 1.3
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def conn(db):
    db.autocommit = True
    r.area(db, AREA, "West county", (118.0, 39.0, 118.5, 39.5))
    return db


def sites(conn) -> dict[str, list[int]]:
    """Five red enterprises near the base, a cluster of orange ones far from it, yellow and blue ones between,
    two blue ones last inspected long ago (overdue with overdue_days=365)."""
    made = {"red": [], "orange": [], "yellow": [], "blue": [], "old": []}
    for i in range(5):
        made["red"].append(r.enterprise(conn, 118.05 + 0.02 * i, 39.06, "red", score=90 - i,
                                        last_inspection=D(2026, 5, 1)))
    for i in range(6):
        made["orange"].append(r.enterprise(conn, FAR[0] - 0.01 * i, FAR[1] - 0.01 * (i % 2), "orange",
                                           score=70 - i, last_inspection=D(2026, 5, 1)))
    for i in range(8):
        made["yellow"].append(r.enterprise(conn, 118.1 + 0.03 * i, 39.15 + 0.02 * (i % 3), "yellow",
                                           score=40 - i, last_inspection=D(2026, 5, 1)))
    for i in range(8):
        made["blue"].append(r.enterprise(conn, 118.2 + 0.02 * i, 39.3, "blue", score=10 - i / 2,
                                         last_inspection=D(2026, 5, 1)))
    for i in range(2):
        made["old"].append(r.enterprise(conn, 118.3 + 0.05 * i, 39.1, "blue", score=3,
                                        last_inspection=D(2024, 1, 10)))
    return made


def request(**kw) -> PlanRequest:
    return PlanRequest(**{"teams": 2, "days": 10, "bases": (BASE,), "area": AREA, "min_level": "blue",
                          "today": FIRST_DAY, "travel": "great_circle", **kw})


def hours(a, b, req: PlanRequest) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h))) * req.circuity / req.speed_kmh


def check_feasible(doc: dict, req: PlanRequest, overnight_h: float) -> int:
    """Every team-day checked again from the stops alone: it starts at the base on the first day and where the
    team slept after that; its travel (great-circle), inspections and the way home (when home is near) fit in
    the working day; the team sleeps out only when home is further than overnight_h.  Returns the nights out."""
    nights = 0
    for team in doc["teams"]:
        here = tuple(team["base"])
        assert here == BASE
        assert [d["day"] for d in team["days"]] == list(range(1, req.days + 1))
        for d in team["days"]:
            assert tuple(d["start_point"]) == here, f"team {team['team']} day {d['day']} starts elsewhere"
            spent = 0.0
            for s in d["stops"]:
                spent += hours(here, (s["lon"], s["lat"]), req) + s["inspection_h"]
                here = (s["lon"], s["lat"])
            home = hours(here, BASE, req)
            if d["overnight"] is None:
                assert home <= overnight_h + 1e-9
                spent += home
                here = BASE
            else:
                nights += 1
                assert home > overnight_h and tuple((d["overnight"]["lon"], d["overnight"]["lat"])) == here
            assert spent <= req.hours_per_day + 1e-9, f"team {team['team']} day {d['day']}: {spent} h"
            assert abs(spent - d["hours"]) < 1e-3
    return nights


def visits(doc: dict) -> dict[int, list[int]]:
    """Enterprise id -> the days it is visited."""
    seen: dict[int, list[int]] = {}
    for team in doc["teams"]:
        for d in team["days"]:
            for s in d["stops"]:
                seen.setdefault(s["id"], []).append(d["day"])
    return seen


def campaign(conn, req: PlanRequest, **kw) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_campaign(conn, CampaignRequest(req, **{"time_limit_s": 8, **kw}))


def test_a_two_week_campaign_visits_red_sites_at_their_frequency_and_must_visit_sites_always(conn):
    """2 teams x 10 working days: every red site three times, at least 3 working days apart; the overdue and
    the named site (blue, the lowest scores: nothing but the must-visit rule brings them in) each visited; no
    site more often than its level's frequency; every day feasible, far sites reached by sleeping out."""
    made = sites(conn)
    named = made["blue"][-1]
    req = request(overdue_days=365, must_visit=(f"enterprise.{named}",))
    doc = campaign(conn, req, visits={"red": 3, "orange": 1, "yellow": 1, "blue": 1}, spacing_days=3)
    seen = visits(doc)
    for e in made["red"]:
        days = sorted(seen[e])
        assert len(days) == 3, f"red {e} visited on days {days}"
        assert all(b - a >= 3 for a, b in zip(days, days[1:], strict=False)), days
    for e in [*made["old"], named]:
        assert len(seen.get(e, [])) == 1, f"must-visit {e} visited on {seen.get(e)}"
    for e in made["orange"] + made["yellow"] + made["blue"]:
        assert len(seen.get(e, [])) <= 1
    t = doc["totals"]
    assert t["by_level"]["red"] == {"sites": 5, "visits_each": 3, "visits": 15, "at_frequency": 5,
                                    "never_visited": 0, "candidates": 5, "visited": 5}
    for e in made["red"]:  # each stop says which visit of its site it is, in day order
        assert [s["visit"] for _, s in sorted((d["day"], s) for tm in doc["teams"] for d in tm["days"]
                                              for s in d["stops"] if s["id"] == e)] == [1, 2, 3]
    assert t["red_left_out"] == []
    assert t["must_visit"] == 3 and t["must_visit_visited"] == 3 and t["must_visit_missed"] == []
    assert {s["must_visit"] for tm in doc["teams"] for d in tm["days"] for s in d["stops"]
            if s["id"] in made["old"]} == {"overdue"}
    assert check_feasible(doc, req, 1.0) >= 1  # the far orange cluster is worth a night out
    assert all(e in seen for e in made["orange"])
    assert [d["date"] for d in doc["teams"][0]["days"]][:6] == [
        "2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04", "2026-06-05", "2026-06-08"]
    assert doc["solver"]["interrupted"] is False and doc["solver"]["days_searched"] == 10


def test_a_short_overnight_threshold_only_changes_where_teams_sleep(conn):
    """With overnight_h 0 every team-day ends where its last inspection was (a night out whenever it went
    anywhere, or was away already), and the next day starts there; the plan stays feasible."""
    sites(conn)
    req = request(days=5)
    doc = campaign(conn, req, overnight_h=0.0, spacing_days=2)
    nights = check_feasible(doc, req, 0.0)
    away = sum(1 for tm in doc["teams"] for d in tm["days"] if d["stops"] or tuple(d["start_point"]) != BASE)
    assert nights == away and nights >= 8


def test_an_interrupted_campaign_keeps_the_best_plan_found(conn):
    """Cancelled while day 2 is searched (its first progress report, after day 1's): days 1 and 2 keep their
    searched routes, days 3 to 10 are planned by the greedy rule; the plan is whole and feasible, and the
    must-visit sites are still visited."""
    made = sites(conn)
    req = request(overdue_days=365)
    reports = []

    def progress(day, days, seconds, limit, risk):
        reports.append((day, risk))

    doc = make_campaign(conn, CampaignRequest(req, time_limit_s=60), progress=progress,
                        cancel=lambda: sum(1 for day, _ in reports if day == 1) >= 2)
    s = doc["solver"]
    assert s["interrupted"] is True and s["greedy_from_day"] == 3
    # day 2 keeps the better of its search's best routes so far and its greedy plan
    rules = [d["solver"] for d in doc["teams"][0]["days"]]
    assert rules[0] == "search" and rules[1] in ("search", "greedy_time") and rules[2:] == ["greedy_time"] * 8
    assert s["days_searched"] + s["days_greedy"] == 10 and s["days_greedy"] >= 8
    check_feasible(doc, req, 1.0)
    seen = visits(doc)
    assert all(e in seen for e in made["old"]) and doc["totals"]["must_visit_missed"] == []
    assert doc["totals"]["risk_covered"] == pytest.approx(sum(d["risk"] for tm in doc["teams"]
                                                               for d in tm["days"]))
    assert reports[-1][0] == 10 and reports[-1][1] == pytest.approx(doc["totals"]["risk_covered"], abs=0.1)


def test_ctrl_c_on_the_command_line_writes_the_best_plan_so_far(conn, db_url, tmp_path):
    """`riskmap campaign` stops its search at Ctrl-C (SIGINT) once a day is planned and still writes and stores
    the whole campaign, saying that it was interrupted."""
    sites(conn)
    out = tmp_path / "campaign.json"
    env = {**os.environ, "RISKMAP_DATABASE_URL": db_url}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "campaign", "--teams", "2", "--days", "10",
                             "--area", AREA, "--base", f"{BASE[0]},{BASE[1]}", "--first-day", "2026-06-01",
                             "--time-limit", "120", "--out", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = ""
    while "day 1 (" not in line:  # the first day is planned
        line = proc.stderr.readline()
        assert line or proc.poll() is None, "the command ended before planning a day"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "interrupted: keeping the best plan so far" in stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["solver"]["interrupted"] is True and doc["solver"]["days_searched"] >= 1
    assert all(len(tm["days"]) == 10 for tm in doc["teams"])
    check_feasible(doc, request(), 1.0)
    assert "interrupted" in stdout
    plan_id = int(stdout.split("stored as plan ")[1].split()[0])  # stored as `riskmap plan` stores its plans
    with conn.cursor() as cur:
        cur.execute("SELECT document -> 'solver', document ->> 'kind', days FROM inspection_plan WHERE id = %s",
                    (plan_id,))
        assert cur.fetchone() == (doc["solver"], "campaign", 10)


@pytest.mark.parametrize(("kw", "words"), [
    ({"visits": {"purple": 2}}, "visits: unknown level purple"),
    ({"visits": {"red": 4}, "spacing_days": 5}, "visits[red]: 4 visits 5 working days apart do not fit in 10"),
    ({"overnight_h": 9.0}, "overnight_h: expected 0 to hours_per_day (8)"),
    ({"time_limit_s": 0}, "time_limit_s: expected more than 0"),
])
def test_bad_campaign_requests_are_clear_errors(conn, kw, words):
    sites(conn)
    with pytest.raises(InstanceError) as e:
        campaign(conn, request(), **kw)
    assert words in str(e.value)


def test_must_visit_sites_beyond_the_teams_hours_are_an_error_before_any_search(conn):
    """More overdue inspections than one team-day holds: an error giving the hours and what to change."""
    for i in range(6):
        r.enterprise(conn, 118.1 + 0.01 * i, 39.1, "blue", last_inspection=D(2024, 1, 1))
    with pytest.raises(InstanceError) as e:
        campaign(conn, request(teams=1, days=1, overdue_days=365), visits={"red": 1})
    assert "the 6 must-visit sites (6 overdue) need 9 h of inspection alone" in str(e.value)


def test_red_visits_beyond_the_teams_hours_name_their_level_in_the_error(conn):
    """Red sites whose every visit is required, more than the team-days hold, and no overdue, look-back or named
    site: the error counts them under their level and offers no empty list of must-visit reasons."""
    for i in range(6):
        r.enterprise(conn, 118.1 + 0.01 * i, 39.1, "red")
    with pytest.raises(InstanceError) as e:
        campaign(conn, request(teams=1, days=1), visits={"red": 1})
    text = str(e.value)
    assert "the 6 must-visit sites (6 red, each visit required) need 9 h of inspection alone" in text
    assert "()" not in text and ": ;" not in text and "must-visit: " not in text
    assert "require fewer visits of the levels red (6 visits of 6 sites are required in all)" in text


def test_working_days_skip_weekends():
    assert working_days(D(2026, 6, 5), 3) == [D(2026, 6, 5), D(2026, 6, 8), D(2026, 6, 9)]
