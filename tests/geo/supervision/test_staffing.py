"""Staffing (geo/supervision/staffing.py): the inspector-days each county needs, checked against a hand
computation on a small data set in a real PostGIS."""

from __future__ import annotations

from dataclasses import replace

import pytest

from geo.supervision.config import load_supervision
from geo.supervision.staffing import county_staffing, need
from tests.geo.supervision import records as r

CONFIG = replace(load_supervision(), staff={"100001": 1, "999999": 3})


def test_need_by_hand_on_a_small_data_set(db):
    """West: 2 red enterprises (12 inspections a year each, 2 h + 1 h travel, 2 inspectors: 144 h), an orange
    venue (4 x 2.5 h x 2 = 20 h), a blue pond (1 x 2.5 h x 2 = 5 h): 29 inspections, 169 inspector-hours, 21.125
    inspector-days, 0.105625 inspectors of 200 field days; its 1 inspector has 200 days (coverage 200 / 21.125).
    East: a yellow pipeline (2 x 5 h x 2 = 20 h) and a blue enterprise (1 x 3 h x 2 = 6 h): 26 h, 3.25 days, staff
    not given.  An enterprise in no county: 6 h apart.  Totals over all: 33 inspections, 201 h, 25.125 days."""
    db.autocommit = True
    r.area(db, "100001", "West county", (118.0, 39.0, 118.5, 39.5))
    r.area(db, "100002", "East county", (118.5, 39.0, 119.0, 39.5))
    r.enterprise(db, 118.1, 39.1, "red")
    r.enterprise(db, 118.2, 39.1, "red")
    r.venue(db, 118.3, 39.2, "orange")
    r.pond(db, 118.4, 39.3, "blue")
    r.pipeline(db, [(118.6, 39.1), (118.8, 39.3)], "yellow")
    r.enterprise(db, 118.9, 39.4, "blue")
    r.enterprise(db, 120.0, 39.4, "blue")  # outside both counties
    table = county_staffing(db, CONFIG)
    west, east = table["areas"]
    assert (west["admin_code"], west["name"], west["sites"]) == ("100001", "West county", 4)
    assert west["by_level"] == {"red": 2, "orange": 1, "yellow": 0, "blue": 1}
    assert west["by_kind"] == {"enterprise": 2, "tailings_pond": 1, "pipeline": 0, "venue": 1}
    assert west["inspections_per_year"] == pytest.approx(29)
    assert west["inspector_hours"] == pytest.approx(169)
    assert west["inspector_days"] == pytest.approx(21.125)
    assert west["inspectors_needed"] == pytest.approx(0.105625)
    assert (west["staff"], west["staff_days"]) == (1, 200)
    assert west["shortfall_inspectors"] == pytest.approx(0.105625 - 1)
    assert west["coverage"] == pytest.approx(200 / 21.125)
    assert (east["inspections_per_year"], east["inspector_hours"], east["inspector_days"]) == pytest.approx(
        (3, 26, 3.25))
    assert (east["staff"], east["coverage"]) == (None, None)
    assert table["outside_areas"]["sites"] == 1 and table["outside_areas"]["inspector_hours"] == pytest.approx(6)
    assert table["total"]["sites"] == 7
    assert (table["total"]["inspections_per_year"], table["total"]["inspector_days"]) == pytest.approx((33, 25.125))
    assert table["staff_for_unknown_areas"] == ["999999"]


def test_need_follows_the_settings():
    """Half-yearly red inspections halve a red site's share; three inspectors an inspection raise it by half."""
    base = need({("enterprise", "red"): 1}, CONFIG)["inspector_hours"]
    assert base == pytest.approx(12 * 3 * 2)
    slower = replace(CONFIG, frequency_months={**CONFIG.frequency_months, "red": 2})
    assert need({("enterprise", "red"): 1}, slower)["inspector_hours"] == pytest.approx(base / 2)
    three = replace(CONFIG, staffing=replace(CONFIG.staffing, inspectors_per_inspection=3))
    assert need({("enterprise", "red"): 1}, three)["inspector_hours"] == pytest.approx(base * 1.5)
