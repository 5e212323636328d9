"""The pure rules of precise supervision (geo/supervision/rules.py), on hand-made site states and fixed dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from geo.supervision.config import SupervisionConfigError, load_supervision, parse_supervision
from geo.supervision.rules import (
    Action,
    Danger,
    SiteState,
    add_months,
    light,
    look_back,
    recommend,
)

D = dt.date
CONFIG = load_supervision()


def site(level: str = "yellow", **kw) -> SiteState:
    return SiteState(kind="enterprise", id=1, level=level, **kw)


def major(status: str = "open", **kw) -> Danger:
    return Danger(**{"id": 7, "source_id": "HD-7", "grade": "major", "status": status,
                     "description": "storage tank without level alarm", "found_on": D(2026, 3, 1), **kw})


@pytest.mark.parametrize(("level", "months", "due"), [
    ("red", 1, D(2026, 2, 28)),
    ("orange", 3, D(2026, 4, 30)),
    ("yellow", 6, D(2026, 7, 31)),
    ("blue", 12, D(2027, 1, 31)),
])
def test_due_dates_per_level(level, months, due):
    """With the shipped frequencies (red monthly, orange quarterly, yellow half-yearly, blue yearly), a site last
    inspected on 31 January 2026 is next due that many calendar months later, on the month's last day when the
    31st does not exist."""
    rec = recommend(site(level, records_last=D(2026, 1, 31)), D(2026, 2, 1), CONFIG)
    assert rec.frequency_months == months
    assert rec.next_due == due
    assert rec.last_inspection_source == "records"


def test_add_months_keeps_the_day_or_takes_the_months_last():
    """Calendar months: the same day, or the last day of a shorter month; across year ends; leap years."""
    assert add_months(D(2026, 3, 10), 1) == D(2026, 4, 10)
    assert add_months(D(2026, 11, 30), 3) == D(2027, 2, 28)
    assert add_months(D(2027, 11, 30), 3) == D(2028, 2, 29)
    assert add_months(D(2026, 8, 31), 12) == D(2027, 8, 31)


def test_overdue_flips_as_the_date_moves():
    """A red site inspected on 10 March is due on 10 April: on time on the due date itself, one day overdue the
    day after, thirty days a month after; its light goes from yellow (red level, on time) to red."""
    s = site("red", records_last=D(2026, 3, 10))
    on_time = recommend(s, D(2026, 4, 10), CONFIG)
    assert (on_time.next_due, on_time.overdue, on_time.days_overdue) == (D(2026, 4, 10), False, 0)
    assert (on_time.light, on_time.light_reasons) == ("yellow", ("red_level",))
    late = recommend(s, D(2026, 4, 11), CONFIG)
    assert (late.overdue, late.days_overdue, late.light, late.light_reasons) == (True, 1, "red",
                                                                                 ("red_level_overdue",))
    assert recommend(s, D(2026, 5, 10), CONFIG).days_overdue == 30
    blue = site("blue", records_last=D(2026, 3, 10))
    assert recommend(blue, D(2027, 3, 10), CONFIG).light == "green"
    assert recommend(blue, D(2027, 3, 11), CONFIG).light == "yellow"


def test_the_records_last_inspection_comes_before_the_registers():
    """The last inspection is the recorded one when there is one (even if the register's date is later), else
    the register's; with neither the site is overdue at once, with no due date."""
    both = recommend(site("orange", records_last=D(2026, 1, 5), register_last=D(2026, 5, 1)), D(2026, 6, 1), CONFIG)
    assert (both.last_inspection, both.last_inspection_source, both.next_due) == (D(2026, 1, 5), "records",
                                                                                 D(2026, 4, 5))
    register = recommend(site("orange", register_last=D(2026, 5, 1)), D(2026, 6, 1), CONFIG)
    assert (register.last_inspection, register.last_inspection_source, register.overdue) == (D(2026, 5, 1),
                                                                                            "register", False)
    never = recommend(site("blue"), D(2026, 6, 1), CONFIG)
    assert (never.last_inspection, never.next_due, never.overdue, never.light) == (None, None, True, "yellow")


def test_frequencies_come_from_the_settings_passed_in():
    """A bureau's own frequencies (red every two months) change the due date; nothing is read from a global."""
    mine = replace(CONFIG, frequency_months={**CONFIG.frequency_months, "red": 2})
    assert recommend(site("red", records_last=D(2026, 1, 15)), D(2026, 2, 1), mine).next_due == D(2026, 3, 15)


@pytest.mark.parametrize(("level", "major_open", "overdue", "danger_late", "expected"), [
    ("blue", True, False, False, ("red", ("open_major_danger",))),
    ("red", False, True, False, ("red", ("red_level_overdue",))),
    ("red", True, True, True, ("red", ("open_major_danger", "red_level_overdue"))),
    ("red", False, False, False, ("yellow", ("red_level",))),
    ("orange", False, True, False, ("yellow", ("inspection_overdue",))),
    ("yellow", False, False, True, ("yellow", ("danger_overdue",))),
    ("orange", False, False, False, ("green", ())),
    ("blue", False, False, False, ("green", ())),
])
def test_lights(level, major_open, overdue, danger_late, expected):
    """Red: an open major danger, or a red site overdue; yellow: a red site on time, another site overdue, or a
    danger past its deadline; green: none of these."""
    assert light(level, major_open, overdue, danger_late) == expected


def test_an_open_major_danger_before_its_deadline_is_rectified_by_the_deadline():
    """An open major danger within its deadline: rectification by that deadline, for the site alone, naming the
    danger and its responsible people; the site's light is red."""
    s = site("red", records_last=D(2026, 3, 1), danger_records=1,
             dangers=(major(deadline=D(2026, 4, 30), responsible_unit="works", responsible_person="Li"),))
    rec = recommend(s, D(2026, 3, 20), CONFIG)
    assert rec.light == "red" and rec.open_major_dangers == 1
    m = rec.measure.as_dict()
    assert (m["action"], m["scope"], m["deadline"]) == ("rectify_by_deadline", "site", "2026-04-30")
    assert [(d["source_id"], d["responsible_person"]) for d in m["dangers"]] == [("HD-7", "Li")]


@pytest.mark.parametrize("danger", [major(deadline=D(2026, 4, 30)), major("reopened", deadline=D(2026, 9, 30),
                                                                           rectified_on=D(2026, 4, 1))])
def test_a_major_danger_late_or_reopened_suspends_that_site(danger):
    """Past its deadline, or reopened after a rectification that did not hold: suspend that site (not its area)."""
    rec = recommend(site("red", danger_records=1, dangers=(danger,)), D(2026, 5, 1), CONFIG)
    assert rec.measure.action == "suspend_site" and rec.measure.scope == "site"
    assert "HD-7" in rec.measure.basis and "not its area" in rec.measure.basis


def test_a_suspension_in_force_is_kept_until_verified():
    """A suspension decided and not lifted: keep it; once lifted, the late danger suspends the site again."""
    s = site("red", danger_records=1, dangers=(major(deadline=D(2026, 3, 20)),),
             actions=(Action(3, "EA-3", "suspension", D(2026, 3, 25)),))
    assert recommend(s, D(2026, 4, 1), CONFIG).measure.action == "keep_suspended"
    lifted = replace(s, actions=(Action(3, "EA-3", "suspension", D(2026, 3, 25), D(2026, 3, 31)),))
    rec = recommend(lifted, D(2026, 4, 1), CONFIG)
    assert rec.measure.action == "suspend_site" and rec.active_measures == ()


def test_no_major_danger_no_measure_and_the_register_is_the_fallback():
    """A general danger gives no measure; a site without hidden-danger records falls back on the register's
    major-danger flag (measure: rectify, deadline to be set); with records, the register's flag is ignored."""
    general = Danger(1, "HD-1", "general", "open", "a blocked aisle", D(2026, 3, 1), D(2026, 3, 10))
    assert recommend(site(danger_records=1, dangers=(general,)), D(2026, 3, 5), CONFIG).measure is None
    flagged = recommend(site(register_major=True), D(2026, 3, 5), CONFIG)
    assert flagged.light == "red" and flagged.open_major_dangers == 1
    assert flagged.measure.action == "rectify_by_deadline" and flagged.measure.deadline is None
    closed = Danger(2, "HD-2", "major", "verified", "fixed", D(2026, 1, 1), None, D(2026, 1, 5), D(2026, 1, 9))
    recorded = recommend(site(register_major=True, danger_records=1, dangers=(closed,)), D(2026, 3, 5), CONFIG)
    assert recorded.measure is None and recorded.open_major_dangers == 0


def test_look_back_after_a_major_danger_is_rectified():
    """A major danger rectified within the window (90 days) makes a look-back site, naming the danger and the
    date, until an inspection is recorded after that date; not once the window has passed; not for a general
    danger."""
    rectified = major("rectified", deadline=D(2026, 4, 30), rectified_on=D(2026, 4, 10))
    s = site(records_last=D(2026, 4, 1), danger_records=1, dangers=(rectified,))
    (lb,) = look_back(s, D(2026, 5, 1), 90)
    assert (lb.reason, lb.record, lb.record_id, lb.source_id, lb.date) == ("major_danger_rectified", "hidden_danger",
                                                                          7, "HD-7", D(2026, 4, 10))
    assert look_back(s, D(2026, 7, 9), 90) and not look_back(s, D(2026, 7, 10), 90)
    assert look_back(replace(s, records_last=D(2026, 4, 10)), D(2026, 5, 1), 90)  # the same day is no look-back
    assert not look_back(replace(s, records_last=D(2026, 4, 11)), D(2026, 5, 1), 90)
    general = replace(rectified, grade="general")
    assert not look_back(replace(s, dangers=(general,)), D(2026, 5, 1), 90)


def test_look_back_after_a_measure_is_lifted_and_for_an_overdue_danger():
    """A suspension lifted (复产复工) within the window is a look-back; so is any danger open past its deadline,
    however long ago, until it is rectified."""
    s = site(actions=(Action(4, "EA-4", "suspension", D(2026, 1, 10), D(2026, 2, 1)),))
    (lb,) = look_back(s, D(2026, 3, 1), 90)
    assert (lb.reason, lb.source_id, lb.date, lb.detail) == ("enforcement_lifted", "EA-4", D(2026, 2, 1),
                                                             "suspension")
    old = Danger(5, "HD-5", "general", "open", "a blocked exit", D(2024, 1, 1), D(2024, 2, 1))
    (late,) = look_back(site(danger_records=1, dangers=(old,)), D(2026, 3, 1), 90)
    assert (late.reason, late.date) == ("danger_overdue", D(2024, 2, 1))
    assert not look_back(site(danger_records=1, dangers=(replace(old, deadline=D(2026, 3, 1)),)), D(2026, 3, 1), 90)


def test_bad_settings_name_the_key():
    """A missing level, a month count out of range, an unknown kind: errors naming the key."""
    good = {"frequency_months": {"red": 1, "orange": 3, "yellow": 6, "blue": 12},
            "staffing": {"inspection_hours": {"enterprise": 2, "tailings_pond": 1.5, "pipeline": 4, "venue": 1.5}}}
    assert parse_supervision(good).frequency("orange") == 3
    with pytest.raises(SupervisionConfigError, match="frequency_months.*blue"):
        parse_supervision({**good, "frequency_months": {"red": 1, "orange": 3, "yellow": 6}})
    with pytest.raises(SupervisionConfigError, match=r"frequency_months\.red.*0"):
        parse_supervision({**good, "frequency_months": {**good["frequency_months"], "red": 0}})
    with pytest.raises(SupervisionConfigError, match="staffing.inspection_hours.*mine"):
        parse_supervision({**good, "staffing": {"inspection_hours": {**good["staffing"]["inspection_hours"],
                                                                     "mine": 3}}})
    with pytest.raises(SupervisionConfigError, match="staff.130203"):
        parse_supervision({**good, "staff": {"130203": -1}})
