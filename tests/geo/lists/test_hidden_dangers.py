"""The hidden-danger lists (geo/lists/hidden_dangers.py) on the small campaign of tests/geo/lists/campaign.py, in a
real PostGIS: overdue as the date moves, each filter, areas at each admin level, the order and the keyset pages,
and the counts per area."""

from __future__ import annotations

import datetime as dt

import pytest

from geo.errors import NotFound
from geo.lists.hidden_dangers import (
    DangerFilter,
    DangerPageKey,
    FilterError,
    danger_item,
    danger_page,
    danger_rows,
    danger_summary,
    days_overdue,
    is_overdue,
)
from tests.geo.lists.campaign import build, d


@pytest.fixture
def campaign(db):
    return build(db)


def names(conn, **filters) -> list[str]:
    """The source ids of the dangers a filter lists, in the list's order."""
    return [r["source_id"] for r in danger_rows(conn, DangerFilter(**filters))]


# --- the rule ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "deadline", "as_of", "overdue", "days"), [
    ("open", d(4, 1), d(4, 1), False, None),  # the deadline day itself is still in time
    ("open", d(4, 1), d(4, 2), True, 1),
    ("open", d(4, 1), d(6, 1), True, 61),
    ("reopened", d(3, 1), d(5, 2), True, 62),
    ("rectified", d(4, 1), d(6, 1), False, None),
    ("verified", d(4, 1), d(6, 1), False, None),
    ("open", None, d(6, 1), False, None),  # no deadline: never overdue
])
def test_overdue_rule(status, deadline, as_of, overdue, days):
    """Overdue: open or reopened and the deadline before the date; the days overdue count from the deadline."""
    assert is_overdue(status, deadline, as_of) is overdue
    assert days_overdue(status, deadline, as_of) == days


# --- overdue as the date moves -------------------------------------------------------------------------------------


FOUND = {"D1": d(3, 1), "D2": d(5, 1), "D3": d(4, 1), "D4": d(2, 1), "D5": d(1, 10), "D6": d(5, 10),
         "D7": d(5, 20), "D8": d(5, 2)}


@pytest.mark.parametrize(("as_of", "overdue"), [
    (d(2, 15), []),
    (d(3, 2), []),  # D4 is past its deadline of 03-01 but was rectified on 02-20 (reopened only on 05-01)
    (d(4, 1), []),  # D1's deadline day: still in time
    (d(4, 2), ["D1"]),
    (d(5, 2), ["D4", "D1"]),  # D4 reopened on 05-01, past its deadline: most overdue first
    (d(6, 11), ["D4", "D1", "D8"]),
    (d(7, 2), ["D4", "D1", "D8", "D2", "D7"]),  # D3 rectified, D5 verified, D6 without deadline: never
])
def test_overdue_dangers_as_the_date_moves(db, campaign, as_of, overdue):
    """The list as of a date: overdue=true lists exactly the dangers open or reopened on that day (a later
    rectification or reopening not yet counted) past their deadline, oldest deadline first; overdue=false lists
    all the others found by that day, and none found after it."""
    assert names(db, as_of=as_of, overdue=True) == overdue
    assert set(names(db, as_of=as_of, overdue=False)) == {n for n, f in FOUND.items() if f <= as_of} - set(overdue)


def test_the_list_as_of_a_past_day_shows_each_status_of_that_day(db, campaign):
    """D4 (found 02-01, rectified 02-20, reopened 05-01) is open on 02-10, rectified on 03-10 and reopened on
    05-10; D5 (rectified and verified in February) is open on 01-20; D2 (found 05-01) is not listed on 04-30;
    the status filter and the counts per area follow the status of the day."""
    def status(day, name):
        return {r["source_id"]: r["status"] for r in danger_rows(db, DangerFilter(as_of=day))}.get(name)

    assert [status(day, "D4") for day in (d(1, 31), d(2, 10), d(3, 10), d(5, 10))] == [
        None, "open", "rectified", "reopened"]
    assert status(d(1, 20), "D5") == "open" and status(d(2, 5), "D5") == "verified"
    assert status(d(4, 30), "D2") is None and status(d(5, 1), "D2") == "open"
    assert names(db, as_of=d(3, 10), statuses=("rectified",)) == ["D4"]
    open_on = {day: sum(r["open"] for r in danger_summary(db, DangerFilter(as_of=day), "county"))
               for day in (d(2, 10), d(3, 10))}
    assert open_on == {d(2, 10): 1, d(3, 10): 1}  # D4 alone, then D1 alone (D4 rectified, D5 verified)


def test_the_sql_and_the_rule_agree_every_day(db, campaign):
    """On every day from January to August, each listed danger's overdue flag and days overdue are the rule's."""
    day = d(1, 1)
    while day <= d(8, 31):
        for row in danger_rows(db, DangerFilter(as_of=day)):
            assert row["overdue"] is is_overdue(row["status"], row["deadline"], day), (day, row["source_id"])
            assert row["days_overdue"] == days_overdue(row["status"], row["deadline"], day)
        day += dt.timedelta(days=7)


def test_order_is_overdue_first_then_deadline(db, campaign):
    """The whole list on 06-12: overdue first (oldest deadline first), then by deadline, no deadline last."""
    assert names(db, as_of=d(6, 12)) == ["D4", "D1", "D8", "D5", "D3", "D2", "D7", "D6"]


# --- filters ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("filters", "expected"), [
    ({"statuses": ["open", "reopened"]}, ["D4", "D1", "D8", "D2", "D7", "D6"]),
    ({"statuses": ["verified"]}, ["D5"]),
    ({"grades": ["major"]}, ["D4", "D1", "D3", "D7"]),
    ({"grades": ["major"], "statuses": ["open", "reopened"]}, ["D4", "D1", "D7"]),
    ({"kinds": ["enterprise"]}, ["D1", "D3", "D8", "D2", "D7"]),
    ({"kinds": ["pipeline", "tailings_pond"]}, ["D4", "D6"]),
    ({"levels": ["red"]}, ["D1", "D5", "D7"]),  # E1, V1 and E4 are red
    ({"levels": ["orange"]}, ["D8", "D2", "D6"]),
    ({"found_from": d(5, 1), "found_to": d(5, 10)}, ["D8", "D2", "D6"]),  # both ends included
    ({"found_to": d(2, 1)}, ["D4", "D5"]),
    ({"overdue": True, "kinds": ["enterprise"]}, ["D1"]),
])
def test_filters(db, campaign, filters, expected):
    """Each filter, alone and with others, on 05-20 (every danger found by then; D4 and D1 overdue)."""
    assert names(db, as_of=d(5, 20), **filters) == expected


@pytest.mark.parametrize(("area", "expected"), [
    ("130202", ["D1", "D5", "D6"]),  # E1, V1, and P1 by its point on surface
    ("130203", ["D8", "D3", "D2"]),
    ("130204", ["D4"]),
    ("130200", ["D4", "D1", "D8", "D5", "D3", "D2", "D6"]),  # the city: its three counties
    ("130000", ["D4", "D1", "D8", "D5", "D3", "D2", "D6"]),  # the province: E4 at 118.8 E is outside it
])
def test_area_filter_by_admin_code_at_every_level(db, campaign, area, expected):
    """An admin code keeps the dangers whose site's point lies in that county, city or province."""
    assert names(db, as_of=d(6, 12), area=area) == expected


def test_a_pipeline_lies_where_its_point_on_surface_lies(db, campaign):
    """The pipeline crossing two counties is placed in the one holding its point on surface, the point the area
    risk assigns it by, and nowhere else."""
    with db.cursor() as cur:
        cur.execute("SELECT a.admin_code FROM pipeline p JOIN area a ON a.level = 'county' "
                    "AND ST_Intersects(a.geom, ST_PointOnSurface(p.geom)) WHERE p.source_id = 'P1'")
        (county,) = cur.fetchone()
    assert "D6" in names(db, as_of=d(6, 12), area=county)
    other = {"130202": "130203", "130203": "130202"}[county]
    assert "D6" not in names(db, as_of=d(6, 12), area=other)


def test_unknown_area_is_not_found(db, campaign):
    """An admin code no area has is NotFound, naming the code."""
    with pytest.raises(NotFound, match="999999"):
        danger_rows(db, DangerFilter(as_of=d(6, 1), area="999999"))


@pytest.mark.parametrize(("filters", "field"), [
    ({"statuses": ["closed"]}, "status"),
    ({"grades": ["minor"]}, "grade"),
    ({"kinds": ["settlement"]}, "kind"),
    ({"levels": ["purple"]}, "level"),
    ({"found_from": d(5, 2), "found_to": d(5, 1)}, "found_from"),
])
def test_bad_filters_name_their_field(filters, field):
    """An unknown value, or a found range the wrong way round, is a FilterError naming the field."""
    with pytest.raises(FilterError) as e:
        DangerFilter(as_of=d(6, 1), **filters)
    assert e.value.field == field


def test_bbox_and_one_site(db, campaign):
    """A box keeps the dangers whose site's point is inside it; a site keeps that site's dangers."""
    assert names(db, as_of=d(6, 12), bbox=(118.14, 39.6, 118.2, 39.7)) == ["D8", "D3", "D2"]
    assert names(db, as_of=d(6, 12), site=campaign.sites["E2"]) == ["D8", "D2"]


def test_danger_of_a_deleted_site_stays_listed_without_place(db, campaign):
    """A record outlives its site: its danger is listed with no site name and no point, and no area holds it."""
    with db.cursor() as cur:
        cur.execute("DELETE FROM venue WHERE source_id = 'V1'")
    row = next(r for r in danger_rows(db, DangerFilter(as_of=d(6, 12))) if r["source_id"] == "D5")
    assert row["site_name"] is None and row["lon"] is None and row["county_code"] is None
    assert "D5" not in names(db, as_of=d(6, 12), area="130202")


def test_item_shape(db, campaign):
    """A listed danger carries its site (kind, id, name, level, score), its county and its point."""
    row = danger_rows(db, DangerFilter(as_of=d(6, 12), site=campaign.sites["E1"]))[0]
    item = danger_item(row)
    assert item["site"] == {"kind": "enterprise", "id": campaign.sites["E1"][1], "source_id": "E1",
                            "name": "冀东化工", "level": "red", "score": 80.0}
    assert item["county"] == {"admin_code": "130202", "name": "路南区"}
    assert (item["lon"], item["lat"]) == (118.05, 39.65)
    assert item["overdue"] is True and item["days_overdue"] == 72 and item["deadline"] == d(4, 1)


# --- pages --------------------------------------------------------------------------------------------------------


def test_keyset_pages_cover_the_list_once(db, campaign):
    """Pages of 3 (then of 1) followed to the end give the whole list, in its order, each danger once."""
    flt = DangerFilter(as_of=d(6, 12))
    whole = names(db, as_of=d(6, 12))
    for size in (3, 1):
        seen, after = [], None
        while True:
            page, after = danger_page(db, flt, size, after)
            seen += [r["source_id"] for r in page]
            if after is None:
                break
            after = DangerPageKey.parse(after.text())  # as the next link carries it
        assert seen == whole


def test_pages_are_stable_while_dangers_are_added(db, campaign):
    """A danger added between two pages before the page boundary is not listed on the next page, and none of
    those listed before is repeated or skipped."""
    flt = DangerFilter(as_of=d(6, 12))
    first, after = danger_page(db, flt, 3, None)
    assert [r["source_id"] for r in first] == ["D4", "D1", "D8"]
    with db.cursor() as cur:  # most overdue of all: it sorts before the first page's end
        cur.execute("INSERT INTO hidden_danger (source_id, site_kind, site_id, description, grade, found_on, "
                    "deadline, status, status_changed_on) VALUES ('D9', 'enterprise', %s, 'late', 'general', "
                    "'2026-01-01', '2026-01-02', 'open', '2026-01-01')", (campaign.sites["E3"][1],))
    rest, _ = danger_page(db, flt, 100, after)
    assert [r["source_id"] for r in rest] == ["D5", "D3", "D2", "D7", "D6"]


@pytest.mark.parametrize("text", ["", "2.2026-01-01.1", "0.2026-13-01.1", "0.none", "x.none.1", "0.none.-1"])
def test_bad_page_keys_are_refused(text):
    """A key that is not one of ours is a FilterError naming after."""
    with pytest.raises(FilterError) as e:
        DangerPageKey.parse(text)
    assert e.value.field == "after"


def test_page_keys_round_trip():
    """A key reads back from its text."""
    for key in (DangerPageKey(0, d(3, 1), 17), DangerPageKey(1, None, 2**62)):
        assert DangerPageKey.parse(key.text()) == key


# --- counts per area ---------------------------------------------------------------------------------------------


def test_summary_per_county(db, campaign):
    """Per county on 06-12: all, open, overdue and open major dangers; the danger in no county last."""
    rows = danger_summary(db, DangerFilter(as_of=d(6, 12)))
    assert [(r["admin_code"], r["name"], r["total"], r["open"], r["overdue"], r["major"]) for r in rows] == [
        ("130202", "路南区", 3, 2, 1, 1),  # D1 (open, overdue, major), D5 (verified), D6 (open)
        ("130203", "路北区", 3, 2, 1, 0),  # D8 (overdue), D2, D3 (rectified, major)
        ("130204", "古冶区", 1, 1, 1, 1),  # D4 (reopened, overdue, major)
        (None, None, 1, 1, 0, 1),  # D7 at E4, in no county
    ]


def test_summary_follows_the_filters_and_the_level(db, campaign):
    """The counts take the list's filters (here the city, open only) and group by the level asked."""
    rows = danger_summary(db, DangerFilter(as_of=d(6, 12), area="130200", statuses=["open", "reopened"]), "city")
    assert [(r["admin_code"], r["total"], r["open"], r["overdue"], r["major"]) for r in rows] == [
        ("130200", 5, 5, 3, 2)]
    with pytest.raises(FilterError):
        danger_summary(db, DangerFilter(as_of=d(6, 12)), "village")
