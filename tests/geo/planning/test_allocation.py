"""Team allocation by risk-weighted counts (issue 6, item 1): largest remainders, a team wherever red stands."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.planning.allocation import AllocationError, allocate_teams, largest_remainder


def test_largest_remainder_worked_example():
    """Hamilton's method on 10 seats and quotas 4.6, 3.3, 2.1: floors 4, 3, 2 and the last seat to the .6."""
    assert largest_remainder({"a": 46, "b": 33, "c": 21}, 10) == {"a": 5, "b": 3, "c": 2}


def test_proportional_to_the_weighted_counts():
    """Weights 8/4/2/1: county A (1 orange, 10 blue: 14) and B (2 yellow, 24 blue: 28) share 6 teams 2 : 4."""
    counts = {"A": {"orange": 1, "blue": 10}, "B": {"yellow": 2, "blue": 24}}
    assert allocate_teams(counts, 6) == {"A": 2, "B": 4}


def test_a_team_wherever_red_stands():
    """A small area with one red site gets a team even though its weight alone would not earn one."""
    counts = {"big": {"blue": 500}, "small": {"red": 1}, "none": {"blue": 3}}
    got = allocate_teams(counts, 4)
    assert got["small"] >= 1 and sum(got.values()) == 4
    assert allocate_teams(counts, 4, {"red": 0, "orange": 0, "yellow": 0, "blue": 1})["small"] == 1


def test_fewer_teams_than_red_areas_go_to_the_heaviest_red_areas():
    """With fewer teams than areas holding red sites, the red areas share them by weight."""
    counts = {"a": {"red": 3}, "b": {"red": 1}, "c": {"red": 2}, "d": {"blue": 900}}
    assert allocate_teams(counts, 2) == {"a": 1, "b": 0, "c": 1, "d": 0}


@pytest.mark.parametrize(("counts", "teams", "words"), [
    ({"a": {"red": 1}}, 0, "teams"),
    ({"a": {"red": 1}}, 2.5, "teams"),
    ({}, 3, "no areas"),
    ({"a": {"purple": 1}}, 3, "unknown level"),
    ({"a": {"blue": -1}}, 3, "whole number"),
    ({"a": {"blue": 0}}, 3, "nothing to share"),
])
def test_bad_inputs_name_the_problem(counts, teams, words):
    """No teams, no areas, an unknown level, a negative count or nothing to weigh: a clear error."""
    with pytest.raises(AllocationError, match=words):
        allocate_teams(counts, teams)


LEVELS = ("red", "orange", "yellow", "blue")
area_counts = st.dictionaries(st.sampled_from(LEVELS), st.integers(0, 200), min_size=1)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), area_counts, min_size=1, max_size=12),
       st.integers(1, 60))
def test_allocation_properties(counts, teams):
    """Every team is allocated; red areas get one when teams suffice; without red, each area gets the floor or
    the ceiling of its proportional quota."""
    weights = {"red": 8, "orange": 4, "yellow": 2, "blue": 1}
    weight = {a: sum(weights[lv] * n for lv, n in c.items()) for a, c in counts.items()}
    if sum(weight.values()) == 0:
        with pytest.raises(AllocationError):
            allocate_teams(counts, teams)
        return
    got = allocate_teams(counts, teams)
    assert sum(got.values()) == teams and all(v >= 0 for v in got.values())
    red = [a for a, c in counts.items() if c.get("red", 0) > 0]
    if red and teams >= len(red):
        assert all(got[a] >= 1 for a in red)
    if not red:
        total = sum(weight.values())
        for a in counts:
            quota = teams * weight[a] / total
            assert int(quota + 1e-9) <= got[a] <= int(quota + 1e-9) + 1
