"""Supervision read from a real PostGIS (geo/supervision/sites.py and site_states.sql): the sites, their records
written with plain SQL, the recommendations, the filters and the look-back search."""

from __future__ import annotations

import datetime as dt

import pytest

from geo.errors import NotFound
from geo.supervision.config import load_supervision
from geo.supervision.sites import look_back_sites, recommendations, site_recommendation
from tests.geo.supervision import records as r

D = dt.date
CONFIG = load_supervision()
AS_OF = D(2026, 6, 1)


@pytest.fixture
def conn(db):
    db.autocommit = True
    r.area(db, "100001", "West county", (118.0, 39.0, 118.5, 39.5))
    r.area(db, "100002", "East county", (118.5, 39.0, 119.0, 39.5))
    return db


def test_records_drive_the_recommendation(conn):
    """A red enterprise whose last recorded inspection (2026-04-20) is later than its register's date, with an
    open major danger past its deadline and a general one still in time: overdue since 2026-05-20, red light,
    suspension of that site; an attempt that found nobody there ('not_inspected') does not count as an inspection."""
    e = r.enterprise(conn, 118.1, 39.1, "red", last_inspection=D(2026, 1, 1))
    r.inspection(conn, "enterprise", e, D(2026, 4, 20))
    r.inspection(conn, "enterprise", e, D(2026, 5, 25), outcome="not_inspected")
    _, late = r.danger(conn, "enterprise", e, grade="major", found_on=D(2026, 4, 20), deadline=D(2026, 5, 20))
    r.danger(conn, "enterprise", e, found_on=D(2026, 4, 20), deadline=D(2026, 6, 30))
    r.danger(conn, "enterprise", e, status="verified", found_on=D(2025, 1, 1), rectified_on=D(2025, 1, 5),
             verified_on=D(2025, 1, 6))
    rec = site_recommendation(conn, "enterprise", e, AS_OF, CONFIG)
    assert (rec.last_inspection, rec.last_inspection_source) == (D(2026, 4, 20), "records")
    assert (rec.next_due, rec.overdue, rec.days_overdue) == (D(2026, 5, 20), True, 12)
    assert (rec.open_dangers, rec.open_major_dangers, rec.overdue_dangers) == (2, 1, 1)
    assert rec.light == "red" and rec.light_reasons == ("open_major_danger", "red_level_overdue")
    assert rec.measure.action == "suspend_site" and [d.source_id for d in rec.measure.dangers] == [late]
    d = rec.as_dict()
    assert d["county"] == {"admin_code": "100001", "name": "West county"}
    assert [lb["reason"] for lb in d["look_back"]] == ["danger_overdue"]


def test_the_register_is_the_fallback_per_class(conn):
    """Without records: an enterprise's and a pond's last_inspection, a venue's last_fire_inspection; a pipeline
    has none (due at once).  A pipeline is placed in the county of its point on the line."""
    e = r.enterprise(conn, 118.1, 39.1, "yellow", last_inspection=D(2026, 1, 10))
    v = r.venue(conn, 118.2, 39.2, "orange", last_fire_inspection=D(2026, 3, 1))
    t = r.pond(conn, 118.3, 39.3, "blue", last_inspection=D(2025, 5, 31))
    p = r.pipeline(conn, [(118.6, 39.1), (118.7, 39.2)], "yellow")
    got = {(x.site.kind, x.site.id): x for x in recommendations(conn, AS_OF, CONFIG)}
    assert got[("enterprise", e)].next_due == D(2026, 7, 10) and not got[("enterprise", e)].overdue
    assert got[("venue", v)].next_due == D(2026, 6, 1) and not got[("venue", v)].overdue
    assert got[("tailings_pond", t)].next_due == D(2026, 5, 31) and got[("tailings_pond", t)].days_overdue == 1
    pipe = got[("pipeline", p)]
    assert (pipe.last_inspection, pipe.next_due, pipe.overdue) == (None, None, True)
    assert pipe.site.county_code == "100002"
    assert all(x.last_inspection_source in ("register", None) for x in got.values())


def test_filters_and_order(conn):
    """Area, kind, level, light and overdue filters; red lights first, then the longest overdue."""
    red_late = r.enterprise(conn, 118.1, 39.1, "red", last_inspection=D(2026, 1, 1))
    red_ok = r.enterprise(conn, 118.2, 39.1, "red", last_inspection=D(2026, 5, 15))
    blue_late = r.enterprise(conn, 118.3, 39.1, "blue", last_inspection=D(2025, 1, 1))
    green = r.venue(conn, 118.3, 39.2, "blue", last_fire_inspection=D(2026, 5, 1))
    east = r.enterprise(conn, 118.7, 39.1, "red", last_inspection=D(2026, 5, 20))
    west = recommendations(conn, AS_OF, CONFIG, area="100001")
    assert [(x.site.kind, x.site.id) for x in west] == [("enterprise", red_late), ("enterprise", blue_late),
                                                       ("enterprise", red_ok), ("venue", green)]
    assert [x.light for x in west] == ["red", "yellow", "yellow", "green"]
    assert [x.site.id for x in recommendations(conn, AS_OF, CONFIG, overdue=True)] == [red_late, blue_late]
    assert [x.site.id for x in recommendations(conn, AS_OF, CONFIG, lights=("green",))] == [green]
    assert {x.site.id for x in recommendations(conn, AS_OF, CONFIG, levels=("red",))} == {red_late, red_ok, east}
    assert [x.site.id for x in recommendations(conn, AS_OF, CONFIG, kinds=("venue",))] == [green]
    with pytest.raises(NotFound, match="999999"):
        recommendations(conn, AS_OF, CONFIG, area="999999")
    with pytest.raises(NotFound, match="no scored venue"):
        site_recommendation(conn, "venue", 10**9, AS_OF, CONFIG)


def test_look_back_sites_of_an_area(conn):
    """The look-back search finds, in the area asked, the site whose major danger was rectified and the one whose
    suspension was lifted within the window, and not the one inspected since, nor the one of the other county;
    a wider window reaches an older lifting."""
    rectified = r.enterprise(conn, 118.1, 39.1, "blue")
    _, hd = r.danger(conn, "enterprise", rectified, grade="major", status="rectified", found_on=D(2026, 3, 1),
                     deadline=D(2026, 4, 30), rectified_on=D(2026, 4, 25), description="no gas detector")
    resumed = r.venue(conn, 118.2, 39.2, "yellow")
    _, ea = r.action(conn, "venue", resumed, "suspension", D(2026, 3, 1), lifted_on=D(2026, 5, 2))
    seen = r.enterprise(conn, 118.3, 39.3, "orange")
    r.danger(conn, "enterprise", seen, grade="major", status="verified", found_on=D(2026, 3, 1),
             rectified_on=D(2026, 4, 1), verified_on=D(2026, 4, 5))
    r.inspection(conn, "enterprise", seen, D(2026, 5, 1), inspection_type="look_back")
    old = r.enterprise(conn, 118.4, 39.4, "blue")
    r.action(conn, "enterprise", old, "rectify_order", D(2025, 10, 1), lifted_on=D(2026, 1, 15))
    r.action(conn, "enterprise", old, "fine", D(2026, 5, 1), fine_yuan=5000)
    other = r.enterprise(conn, 118.7, 39.1, "red")
    r.danger(conn, "enterprise", other, grade="major", status="rectified", found_on=D(2026, 5, 1),
             rectified_on=D(2026, 5, 10))
    found = look_back_sites(conn, AS_OF, CONFIG, area="100001")
    assert set(found) == {f"enterprise.{rectified}", f"venue.{resumed}"}
    assert [(lb.reason, lb.source_id, lb.date, lb.detail) for lb in found[f"enterprise.{rectified}"]] == [
        ("major_danger_rectified", hd, D(2026, 4, 25), "no gas detector")]
    assert [(lb.reason, lb.source_id, lb.date) for lb in found[f"venue.{resumed}"]] == [
        ("enforcement_lifted", ea, D(2026, 5, 2))]
    wider = look_back_sites(conn, AS_OF, CONFIG, area="100001", window_days=200)
    assert f"enterprise.{old}" in wider and f"enterprise.{other}" not in wider
    assert set(look_back_sites(conn, AS_OF, CONFIG, kinds=("venue",))) == {f"venue.{resumed}"}


def test_an_earlier_date_is_judged_on_the_records_as_they_stood_then(conn):
    """As of 2026-03-01, a red enterprise inspected on 2026-01-15 and again on 2026-04-20 was last inspected on
    2026-01-15 (overdue since 2026-02-15); its major danger found 2026-01-15 and rectified 2026-04-20 was still open
    then (red light, suspension in force: lifted only on 2026-05-01), and a danger found after that day does not
    exist yet.  As of 2026-05-10 the same site is seen with everything: rectified, lifted, inspected, and a
    look-back site for both."""
    e = r.enterprise(conn, 118.1, 39.1, "red", last_inspection=D(2025, 6, 1))
    r.inspection(conn, "enterprise", e, D(2026, 1, 15))
    r.inspection(conn, "enterprise", e, D(2026, 4, 20))
    _, major = r.danger(conn, "enterprise", e, grade="major", status="verified", found_on=D(2026, 1, 15),
                        deadline=D(2026, 2, 15), rectified_on=D(2026, 4, 20), verified_on=D(2026, 4, 25))
    r.danger(conn, "enterprise", e, found_on=D(2026, 4, 20), deadline=D(2026, 6, 30))
    r.action(conn, "enterprise", e, "suspension", D(2026, 2, 20), lifted_on=D(2026, 5, 1))
    r.action(conn, "enterprise", e, "rectify_order", D(2026, 4, 20))
    then = site_recommendation(conn, "enterprise", e, D(2026, 3, 1), CONFIG)
    assert (then.last_inspection, then.next_due, then.overdue) == (D(2026, 1, 15), D(2026, 2, 15), True)
    assert (then.open_dangers, then.open_major_dangers, then.overdue_dangers) == (1, 1, 1)
    assert then.light == "red" and then.measure.action == "keep_suspended"
    assert [a.measure for a in then.active_measures] == ["suspension"]
    assert [(lb.reason, lb.source_id) for lb in then.look_back] == [("danger_overdue", major)]
    later = site_recommendation(conn, "enterprise", e, D(2026, 5, 10), CONFIG)
    assert (later.last_inspection, later.open_dangers, later.open_major_dangers) == (D(2026, 4, 20), 1, 0)
    assert [a.measure for a in later.active_measures] == ["rectify_order"]
    # (the inspection of the rectification's own day does not count as the look-back: it must come after)
    assert [lb.reason for lb in later.look_back] == ["major_danger_rectified", "enforcement_lifted"]
