"""The list of major risks and hidden dangers (geo/lists/major_risks.py) on the small campaign of
tests/geo/lists/campaign.py: which rows, in which order, and why; who is responsible and who supervises."""

from __future__ import annotations

import pytest

from geo.errors import NotFound
from geo.lists.hidden_dangers import FilterError
from geo.lists.major_risks import (
    major_risk_list,
    responsible_unit,
    supervising_department,
    supervision_measures,
    why_site,
)
from tests.geo.lists.campaign import build, d

E1_WHY = ("重大事故隐患未整改 (open major hidden danger, domain.md §2) ; Major hazard: 4 (30 pts) ; "
          "People within 500 m: 1200 (20.5 pts) ; Time since inspection: 400 (10 pts)")


@pytest.fixture
def campaign(db):
    return build(db)


def rows(lst) -> list[tuple]:
    """(entry, site source id, danger source id or None) of each row, in order."""
    return [(it["entry"], it["site"]["source_id"], (it["hidden_danger"] or {}).get("source_id"))
            for it in lst.items]


def test_every_red_or_orange_site_and_every_open_major_danger_once(db, campaign):
    """Everywhere on 06-12: the red sites (E1, E4, V1: same score, by kind and id), the orange ones (E2, P1),
    then the open or reopened major dangers, overdue first (D4, D1) then by deadline (D7); not the yellow or blue
    sites, not the general dangers, not D3 (a major danger rectified)."""
    lst = major_risk_list(db, d(6, 12))
    assert rows(lst) == [("major_risk", "E1", None), ("major_risk", "E4", None), ("major_risk", "V1", None),
                         ("major_risk", "E2", None), ("major_risk", "P1", None),
                         ("major_hidden_danger", "T1", "D4"), ("major_hidden_danger", "E1", "D1"),
                         ("major_hidden_danger", "E4", "D7")]
    assert [it["rank"] for it in lst.items] == list(range(1, 9))
    assert lst.counts == {"major_risk": 5, "major_hidden_danger": 3, "red": 3, "orange": 2, "overdue": 2}


def test_a_site_row_says_why_who_and_who_supervises(db, campaign):
    """E1's row: its direct-red rule and top three factors with their points as the reason, its county, the
    responsible unit (the enterprise itself) and person, the supervising department and the control measures
    from its register, no deadline."""
    e1 = major_risk_list(db, d(6, 12)).items[0]
    assert e1["why"] == E1_WHY
    assert [r["factor"] for r in e1["reasons"]] == ["hazard", "people", "age"]
    assert e1["site"]["level"] == "red" and e1["county"] == {"admin_code": "130202", "name": "路南区"}
    assert (e1["responsible_unit"], e1["responsible_person"]) == ("冀东化工", "李明")
    assert (e1["supervising_department"], e1["supervising_department_source"]) == ("唐山市应急管理局危化科", "site")
    assert (e1["deadline"], e1["measures"]) == (None, "重大危险源包保责任制")


def test_a_danger_row_has_its_deadline_and_measures(db, campaign):
    """D4's row: the danger's description as the reason, its own responsible unit and person, deadline and
    measures, overdue by 103 days on 06-12; supervised by its county's bureau (the pond's register names none)."""
    d4 = next(it for it in major_risk_list(db, d(6, 12)).items if (it["hidden_danger"] or {}).get("source_id") == "D4")
    assert d4["why"] == "hidden danger D4"
    assert d4["hidden_danger"]["status"] == "reopened" and d4["hidden_danger"]["overdue"] is True
    assert d4["hidden_danger"]["days_overdue"] == 103
    assert (d4["responsible_unit"], d4["responsible_person"]) == ("古冶矿业公司", "赵强")
    assert (d4["deadline"], d4["measures"]) == (d(3, 1), "加高子坝")
    assert (d4["supervising_department"], d4["supervising_department_source"]) == ("古冶区应急管理局",
                                                                                   "county_bureau")


def test_a_danger_without_its_own_responsible_takes_the_sites(db, campaign):
    """D1 names no responsible unit or person: the row takes E1's (the enterprise itself, and 李明 from its
    register), and E1's supervising department."""
    d1 = next(it for it in major_risk_list(db, d(6, 12)).items if (it["hidden_danger"] or {}).get("source_id") == "D1")
    assert d1["why"] == "hidden danger D1 (储存)"
    assert (d1["responsible_unit"], d1["responsible_person"]) == ("冀东化工", "李明")
    assert d1["supervising_department"] == "唐山市应急管理局危化科"
    assert d1["measures"] == "停用储罐，更换安全阀"


def test_outside_every_county_no_supervising_department_is_guessed(db, campaign):
    """E4 lies in no county and its register names no department: its rows leave the department empty."""
    e4 = [it for it in major_risk_list(db, d(6, 12)).items if it["site"]["source_id"] == "E4"]
    assert len(e4) == 2
    assert all(it["supervising_department"] is None and it["supervising_department_source"] is None for it in e4)
    assert all(it["county"] is None for it in e4)


def test_a_pipeline_is_answered_for_by_its_operator(db, campaign):
    """P1's responsible unit is its operator."""
    p1 = next(it for it in major_risk_list(db, d(6, 12)).items if it["site"]["source_id"] == "P1")
    assert p1["responsible_unit"] == "中石油唐山输气分公司"


def test_area_and_kinds(db, campaign):
    """An admin code keeps the sites and dangers whose site lies in that area; kinds keep those sites."""
    lst = major_risk_list(db, d(6, 12), "130202")
    assert rows(lst) == [("major_risk", "E1", None), ("major_risk", "V1", None), ("major_risk", "P1", None),
                         ("major_hidden_danger", "E1", "D1")]
    assert lst.area == {"admin_code": "130202", "name": "路南区", "level": "county"}
    assert rows(major_risk_list(db, d(6, 12), "130203")) == [("major_risk", "E2", None)]
    assert rows(major_risk_list(db, d(6, 12), "130204")) == [("major_hidden_danger", "T1", "D4")]
    assert rows(major_risk_list(db, d(6, 12), kinds=("venue", "tailings_pond"))) == [
        ("major_risk", "V1", None), ("major_hidden_danger", "T1", "D4")]
    with pytest.raises(NotFound):
        major_risk_list(db, d(6, 12), "999999")
    with pytest.raises(FilterError):
        major_risk_list(db, d(6, 12), kinds=("settlement",))


def test_a_verified_danger_leaves_the_list(db, campaign):
    """Once D4 is rectified it is no longer listed; reopened, it is listed again."""
    with db.cursor() as cur:
        cur.execute("UPDATE hidden_danger SET status = 'rectified', rectified_on = '2026-06-01', "
                    "status_changed_on = '2026-06-01' WHERE source_id = 'D4'")
    assert "D4" not in [(it["hidden_danger"] or {}).get("source_id") for it in major_risk_list(db, d(6, 12)).items]
    with db.cursor() as cur:
        cur.execute("UPDATE hidden_danger SET status = 'reopened', reopened_on = '2026-06-10', "
                    "status_changed_on = '2026-06-10' WHERE source_id = 'D4'")
    assert "D4" in [(it["hidden_danger"] or {}).get("source_id") for it in major_risk_list(db, d(6, 12)).items]


@pytest.mark.parametrize(("props", "county", "expected"), [
    ({"监管部门": "市应急局"}, "路南区", ("市应急局", "site")),
    ({"supervising_department": "City bureau"}, None, ("City bureau", "site")),
    ({"监管部门": "  "}, "路南区", ("路南区应急管理局", "county_bureau")),
    ({}, "路南区", ("路南区应急管理局", "county_bureau")),
    (None, None, (None, None)),
])
def test_supervising_department_rule(props, county, expected):
    """The site's own department when its register names one (not blank), else its county's bureau, else none."""
    assert supervising_department(props, county) == expected


def test_responsible_unit_rule():
    """Register first, then a pipeline's operator, then an enterprise itself; nothing for others."""
    assert responsible_unit("venue", "商场", {"责任单位": "物业公司"}, None) == "物业公司"
    assert responsible_unit("pipeline", "管道", {}, "管道公司") == "管道公司"
    assert responsible_unit("enterprise", "化工厂", {}, None) == "化工厂"
    assert responsible_unit("tailings_pond", "尾矿库", {}, None) is None


def test_why_site_without_direct_red():
    """The top factors alone, with their values and points."""
    assert why_site(None, [{"factor": "f", "title": None, "value": True, "points": 2.5}]) == "f: yes (2.5 pts)"


def test_level_keeps_those_sites_and_the_dangers_of_sites_at_that_level(db, campaign):
    """level=orange: the orange sites (E2, P1) and no danger (no open major danger lies at an orange site);
    level=red: the red sites and the dangers of red sites (D1 at E1, D7 at E4), not D4 (its pond is blue)."""
    assert rows(major_risk_list(db, d(6, 12), levels=("orange",))) == [("major_risk", "E2", None),
                                                                     ("major_risk", "P1", None)]
    red = major_risk_list(db, d(6, 12), levels=("red",))
    assert rows(red) == [("major_risk", "E1", None), ("major_risk", "E4", None), ("major_risk", "V1", None),
                         ("major_hidden_danger", "E1", "D1"), ("major_hidden_danger", "E4", "D7")]
    assert red.filters == {"level": ("red",)}


def test_status_and_found_dates_filter_the_danger_rows_only(db, campaign):
    """status=reopened keeps D4 among the dangers; found 03-01 to 05-20 (both days included) keeps D1 and D7, not
    D4 (found 02-01); the site rows stay, being no danger.  entry keeps one kind of row."""
    sites = [("major_risk", s, None) for s in ("E1", "E4", "V1", "E2", "P1")]
    assert rows(major_risk_list(db, d(6, 12), statuses=("reopened",))) == [*sites, ("major_hidden_danger", "T1", "D4")]
    assert rows(major_risk_list(db, d(6, 12), statuses=("open",))) == [
        *sites, ("major_hidden_danger", "E1", "D1"), ("major_hidden_danger", "E4", "D7")]
    found = major_risk_list(db, d(6, 12), found_from=d(3, 1), found_to=d(5, 20))
    assert rows(found) == [*sites, ("major_hidden_danger", "E1", "D1"), ("major_hidden_danger", "E4", "D7")]
    assert rows(major_risk_list(db, d(6, 12), found_from=d(3, 2), found_to=d(5, 19))) == sites
    dangers = major_risk_list(db, d(6, 12), entries=("major_hidden_danger",), found_to=d(3, 1))
    assert rows(dangers) == [("major_hidden_danger", "T1", "D4"), ("major_hidden_danger", "E1", "D1")]
    assert [it["rank"] for it in dangers.items] == [1, 2]
    assert rows(major_risk_list(db, d(6, 12), entries=("major_risk",), levels=("orange",))) == sites[3:]


@pytest.mark.parametrize(("filters", "field", "allowed"), [
    ({"levels": ("yellow",)}, "level", "red, orange"),
    ({"statuses": ("rectified",)}, "status", "open, reopened"),
    ({"entries": ("site",)}, "entry", "major_risk, major_hidden_danger"),
])
def test_an_unknown_filter_value_names_the_filter_and_the_values_allowed(db, campaign, filters, field, allowed):
    """A value outside the list's own (a yellow site is no major risk; a rectified danger is not open)."""
    with pytest.raises(FilterError) as e:
        major_risk_list(db, d(6, 12), **filters)
    assert e.value.field == field and allowed in e.value.message


def test_found_from_after_found_to_is_refused(db, campaign):
    """A found-date range that ends before it starts is refused, naming found_from."""
    with pytest.raises(FilterError) as e:
        major_risk_list(db, d(6, 12), found_from=d(5, 2), found_to=d(5, 1))
    assert e.value.field == "found_from"


def test_an_empty_list_after_filters(db, campaign):
    """Filters that match nothing give an empty list (no supervision query for no site)."""
    lst = major_risk_list(db, d(6, 12), "130204", levels=("orange",))
    assert lst.items == [] and lst.counts["major_risk"] == 0


def inspected(db, source_id: str, day) -> None:
    with db.cursor() as cur:
        cur.execute("UPDATE enterprise SET last_inspection = %s WHERE source_id = %s", (day, source_id))


def test_a_sites_deadline_and_measures_come_from_its_supervision_recommendation(db, campaign):
    """E2 (orange, last inspected 05-20 by its register): its next inspection, three months on, is its deadline,
    and its measures (its register names none) are the recommendation's, in Chinese; V1 (red, never inspected):
    no deadline, inspect at once; E4 (red, open major danger D7 due 07-01): rectification by 07-01 too."""
    inspected(db, "E2", d(5, 20))
    items = {it["site"]["source_id"]: it for it in major_risk_list(db, d(6, 12)).items if it["entry"] == "major_risk"}
    e2 = items["E2"]
    assert (e2["deadline"], e2["deadline_source"]) == (d(8, 20), "supervision")
    assert e2["measures"] == "按较大风险每 3 个月检查一次；下次检查 2026-08-20"
    assert e2["measures_source"] == "supervision"
    assert e2["supervision"] == {"frequency_months": 3, "last_inspection": d(5, 20),
                                 "last_inspection_source": "register", "next_due": d(8, 20), "overdue": False,
                                 "days_overdue": None, "measure": None}
    v1 = items["V1"]
    assert (v1["deadline"], v1["deadline_source"]) == (None, None)
    assert v1["measures"] == "按重大风险每 1 个月检查一次；无检查记录，应立即检查"
    assert v1["responsible_person"] is None  # nothing names one: never guessed
    assert items["E4"]["measures"] == ("按重大风险每 1 个月检查一次；无检查记录，应立即检查；"
                                       "有未整改重大事故隐患：责令限期整改（期限 2026-07-01）")
    assert items["E4"]["supervision"]["measure"] == {"action": "rectify_by_deadline", "deadline": d(7, 1)}


def test_a_registers_control_measures_come_first_and_the_deadline_still_from_supervision(db, campaign):
    """E1's register names its control measures: they stay its measures (source site); its deadline is its next
    inspection (red: monthly after 04-01), overdue by 42 days on 06-12, and the recommendation says to suspend it
    (its major danger D1 is past its deadline)."""
    inspected(db, "E1", d(4, 1))
    e1 = major_risk_list(db, d(6, 12)).items[0]
    assert (e1["measures"], e1["measures_source"]) == ("重大危险源包保责任制", "site")
    assert (e1["deadline"], e1["deadline_source"]) == (d(5, 1), "supervision")
    assert (e1["supervision"]["overdue"], e1["supervision"]["days_overdue"]) == (True, 42)
    assert e1["supervision"]["measure"] == {"action": "suspend_site", "deadline": None}
    d1 = next(it for it in major_risk_list(db, d(6, 12)).items if it["entry"] == "major_hidden_danger")
    assert (d1["deadline_source"], d1["measures_source"], d1["supervision"]) == ("hidden_danger", "hidden_danger",
                                                                                 None)


def test_measures_in_english(db, campaign):
    """language=en: the measures written from supervision are English (E2, inspected 03-01, overdue on 06-12)."""
    inspected(db, "E2", d(3, 1))
    items = {it["site"]["source_id"]: it for it in major_risk_list(db, d(6, 12), language="en").items
             if it["entry"] == "major_risk"}
    assert items["E2"]["measures"] == "inspect every 3 month(s) (orange level); inspection overdue by 11 days (due " \
                                      "2026-06-01)"
    e4 = items["E4"]
    assert e4["measures"].endswith("open major hidden danger: order rectification by 2026-07-01")


def test_supervision_measures_of_each_rule():
    """The measure the rules allow, written in each language."""
    sup = {"frequency_months": 1, "next_due": d(7, 1), "overdue": False, "days_overdue": None,
           "measure": {"action": "suspend_site", "deadline": None}}
    assert supervision_measures(sup, "red") == ("按重大风险每 1 个月检查一次；下次检查 2026-07-01；"
                                                "重大事故隐患逾期未整改或复发：责令本单位停产停业整改，直至整改完成（仅限本单位）")
    keep = {**sup, "measure": {"action": "keep_suspended", "deadline": None}}
    assert supervision_measures(keep, "red", "en").endswith("suspension in force: keep it until the rectification "
                                                           "is verified")
    open_ = {**sup, "measure": {"action": "rectify_by_deadline", "deadline": None}}
    assert supervision_measures(open_, "red").endswith("有未整改重大事故隐患：责令限期整改（尚未确定整改期限）")
