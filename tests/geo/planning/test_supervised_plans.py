"""Plans under precise supervision (issue 14 items 3 and 4): overdue by the frequency of each site's level,
look-back sites as must-visit with the reason on their stop, in a real PostGIS with records written in SQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import warnings

import pytest

from geo.planning import schedule
from geo.planning.instance import InstanceError
from geo.planning.plan import PlanRequest, candidate_sites, plan
from maps.basemaps import basemap
from maps.plan_page import plan_page
from tests.geo.supervision import records as r

D = dt.date
FIRST_DAY = D(2026, 6, 1)
AREA = "100001"


@pytest.fixture
def conn(db):
    db.autocommit = True
    r.area(db, AREA, "West county", (118.0, 39.0, 118.5, 39.5))
    return db


def request(**kw) -> PlanRequest:
    return PlanRequest(**{"teams": 1, "days": 1, "bases": ((118.25, 39.25),), "area": AREA, "time_limit_s": 1,
                          "iterations": 200, "today": FIRST_DAY, **kw})


def solved(conn, req: PlanRequest):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cands, inst, p = plan(conn, req)
    return cands, schedule.build(req, cands, inst, p)


def stops(doc: dict) -> dict:
    return {s["id"]: s for t in doc["teams"] for d in t["days"] for s in d["stops"]}


def test_a_rectified_major_danger_makes_a_must_visit_look_back_stop(conn):
    """A blue enterprise whose major hidden danger was rectified on 2026-05-10 is a look-back site on 2026-06-01:
    with look_back, it joins a plan of red sites only as must-visit, is visited, and its stop says why (the
    danger, its record id and source id, the date), in the CSV and under its name on the printed schedule;
    without look_back it is not a candidate at all."""
    reds = [r.enterprise(conn, 118.1 + 0.02 * i, 39.2, "red", score=90 - i, last_inspection=D(2026, 5, 20))
            for i in range(3)]
    blue = r.enterprise(conn, 118.3, 39.3, "blue", score=5)
    hd_id, hd = r.danger(conn, "enterprise", blue, grade="major", status="rectified", found_on=D(2026, 4, 1),
                         deadline=D(2026, 5, 15), rectified_on=D(2026, 5, 10), description="gas detector missing")
    plain = candidate_sites(conn, request(min_level="red"))
    assert {s.id for s in plain.sites} == set(reds) and not any(s.must_visit for s in plain.sites)
    req = request(min_level="red", look_back=True)
    cands, doc = solved(conn, req)
    site = next(s for s in cands.sites if s.id == blue)
    assert site.must_visit == "look_back"
    stop = stops(doc)[blue]
    assert stop["must_visit"] == "look_back" and stop["level"] == "blue"
    assert stop["look_back"] == [{"reason": "major_danger_rectified", "record": "hidden_danger", "record_id": hd_id,
                                  "source_id": hd, "date": "2026-05-10", "detail": "gas detector missing"}]
    assert all(stops(doc)[e]["look_back"] is None for e in reds if e in stops(doc))
    assert doc["totals"]["look_back"] == 1 and doc["request"]["look_back_days"] == 90
    text = schedule.as_csv(doc).decode("utf-8-sig")
    row = next(x for x in csv.DictReader(io.StringIO(text)) if x["id"] == str(blue))
    assert row["must_visit"] == "look_back" and f"major_danger_rectified 2026-05-10 hidden_danger {hd}" in row[
        "look_back"]
    page = plan_page(doc, basemap("none"), "en")
    assert f"look-back</b> major hidden danger rectified 2026-05-10: {hd} gas detector missing" in page
    # a window that ends before the rectification: no look-back
    assert not any(s.id == blue for s in candidate_sites(conn, request(min_level="red", look_back=True,
                                                                       today=D(2026, 5, 9))).sites)


def test_a_lifted_suspension_and_an_overdue_danger_are_look_backs_until_inspected(conn):
    """A venue whose suspension was lifted (复产复工) a week before is a look-back stop; an enterprise with a danger
    open past its deadline too; a look-back inspection after the lifting ends the venue's look-back."""
    venue = r.venue(conn, 118.2, 39.1, "yellow")
    _, ea = r.action(conn, "venue", venue, "suspension", D(2026, 4, 1), lifted_on=D(2026, 5, 25))
    late = r.enterprise(conn, 118.3, 39.2, "orange")
    _, hd = r.danger(conn, "enterprise", late, found_on=D(2026, 4, 1), deadline=D(2026, 5, 1))
    cands = candidate_sites(conn, request(min_level="red", look_back=True))
    why = {s.key: (s.must_visit, [(lb.reason, lb.source_id) for lb in s.look_back]) for s in cands.sites}
    assert why == {f"venue.{venue}": ("look_back", [("enforcement_lifted", ea)]),
                   f"enterprise.{late}": ("look_back", [("danger_overdue", hd)])}
    r.inspection(conn, "venue", venue, D(2026, 5, 28), inspection_type="look_back")
    assert {s.key for s in candidate_sites(conn, request(min_level="red", look_back=True)).sites} == {
        f"enterprise.{late}"}


def test_overdue_by_the_frequency_of_each_level(conn):
    """With overdue, a red site inspected 40 days before the first day (monthly: overdue) and a blue one never
    inspected are must-visit, a red one inspected 20 days before and a blue one inspected 300 days before (yearly)
    are not; the recorded inspection counts before the register's date; the stops carry the due date.  With
    overdue_days=100 (the explicit override) only the blue one inspected 300 days before is overdue; with
    neither, nothing is."""
    red_late = r.enterprise(conn, 118.1, 39.1, "red", last_inspection=D(2026, 5, 25))
    r.inspection(conn, "enterprise", red_late, D(2026, 4, 22))
    red_ok = r.enterprise(conn, 118.2, 39.1, "red", last_inspection=D(2026, 5, 12))
    blue_never = r.enterprise(conn, 118.3, 39.1, "blue")
    blue_old = r.enterprise(conn, 118.4, 39.1, "blue", last_inspection=D(2025, 8, 5))
    cands, doc = solved(conn, request(min_level="blue", overdue=True))
    must = {s.id: s.must_visit for s in cands.sites}
    assert must == {red_late: "overdue", red_ok: None, blue_never: "overdue", blue_old: None}
    late = next(s for s in cands.sites if s.id == red_late)
    assert (late.last_inspection, late.next_due) == (D(2026, 4, 22), D(2026, 5, 22))
    assert stops(doc)[red_late]["next_due"] == "2026-05-22" and stops(doc)[red_late]["must_visit"] == "overdue"
    assert doc["request"]["frequency_months"] == {"blue": 12, "yellow": 6, "orange": 3, "red": 1}
    assert doc["totals"]["overdue"] == 2
    override = candidate_sites(conn, request(min_level="blue", overdue=True, overdue_days=100))
    assert {s.id for s in override.sites if s.must_visit} == {blue_old}
    assert not any(s.must_visit for s in candidate_sites(conn, request(min_level="blue")).sites)


def test_too_many_must_visit_hours_say_the_units_and_what_to_change(conn):
    """Three must-visit enterprises of 1.5 h each (two overdue, never inspected; one named) in one 2-hour day:
    the error gives the hours needed and had, the team-days, and names the options that give more time or fewer
    must-visit sites, as the API and the command line spell them."""
    overdue = [r.enterprise(conn, 118.25 + 0.001 * i, 39.25, "red") for i in range(2)]
    named = r.enterprise(conn, 118.251, 39.251, "blue", last_inspection=D(2026, 5, 30))
    with pytest.raises(InstanceError) as e:
        plan(conn, request(min_level="red", overdue=True, must_visit=(f"enterprise.{named}",), hours_per_day=2))
    text = str(e.value)
    assert "the 3 must-visit sites (2 overdue, 1 named) need 4.5 h of inspection alone" in text
    assert "more than the 2 h the teams have (1 team x 1 day = 1 team-day of 2 h)" in text
    assert "at least 3 team-days of 2 h" in text
    for option in ("teams, --teams", "days, --days", "hours_per_day, --hours", "overdue_days (--overdue-days)",
                   "no overdue (--overdue)", "must_visit (--must-visit)"):
        assert option in text
    assert overdue


def test_every_must_visit_stop_says_why_on_the_printed_schedule(conn):
    """Overdue stops say since when they are due and how many days overdue (to the first day), their last
    inspection and their level's frequency, or that no inspection is on record; a named stop says it was named;
    the JSON stop carries the due date and the days overdue; with overdue_days the due date is that many days
    after the last inspection.  In English and in Chinese."""
    red_late = r.enterprise(conn, 118.2, 39.2, "red", last_inspection=D(2026, 4, 22))
    blue_never = r.enterprise(conn, 118.22, 39.2, "blue")
    named = r.enterprise(conn, 118.24, 39.2, "blue", last_inspection=D(2026, 5, 30))
    req = request(min_level="blue", overdue=True, must_visit=(f"enterprise.{named}",))
    _, doc = solved(conn, req)
    got = stops(doc)
    assert (got[red_late]["must_visit"], got[red_late]["next_due"], got[red_late]["days_overdue"]) == (
        "overdue", "2026-05-22", 10)
    assert (got[blue_never]["must_visit"], got[blue_never]["next_due"], got[blue_never]["days_overdue"]) == (
        "overdue", None, None)
    assert got[named]["must_visit"] == "named"
    en = plan_page(doc, basemap("none"), "en")
    assert ("overdue</b> due 2026-05-22, 10 days overdue; last inspected 2026-04-22; Major: every month"
            in en)
    assert "overdue</b> no inspection on record" in en
    assert "named</b> named as must-visit in the plan&#x27;s request" in en
    zh = plan_page(doc, basemap("none"), "zh")
    assert "逾期未检</b> 应检日期 2026-05-22，已逾期 10 天，上次检查 2026-04-22，重大风险每 1 个月检查一次" in zh
    assert "逾期未检</b> 无检查记录，应尽快检查" in zh
    assert "指定必检</b> 计划条件中指定的必检对象" in zh
    text = schedule.as_csv(doc).decode("utf-8-sig")
    row = next(x for x in csv.DictReader(io.StringIO(text)) if x["id"] == str(red_late))
    assert (row["next_due"], row["days_overdue"], row["last_inspection"]) == ("2026-05-22", "10", "2026-04-22")
    _, doc = solved(conn, request(min_level="blue", overdue_days=30))
    assert (stops(doc)[red_late]["next_due"], stops(doc)[red_late]["days_overdue"]) == ("2026-05-22", 10)
    assert ("due 2026-05-22, 10 days overdue; last inspected 2026-04-22; more than 30 days without inspection "
            "(overdue_days)") in plan_page(doc, basemap("none"), "en")
