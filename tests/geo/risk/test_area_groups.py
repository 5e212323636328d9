"""The H3 area groups of a partitioned run (geo/risk/area_groups.py): a cell's group is its ancestor, found from the
index bits in Python and in SQL alike, and a group's box and the planned parents hold every point of its cells."""

from __future__ import annotations

import random

import h3
import numpy as np
import pytest

from geo.risk.area_groups import (
    AreaGroup,
    _parent_box,
    admin_groups,
    ancestor_keys,
    ancestor_mask,
    by_cost,
    group_resolution,
    h3_groups,
    parent_key,
)
from geo.risk.config import load_model


def _cells(n: int, resolution: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [h3.latlng_to_cell(rng.uniform(18, 53), rng.uniform(73, 135), resolution) for _ in range(n)]


@pytest.mark.parametrize("resolution", [5, 7, 9])
@pytest.mark.parametrize("ancestor", [0, 2, 3, 4, 5])
def test_the_ancestor_key_of_a_cell_is_the_key_of_its_h3_parent(resolution, ancestor):
    """A cell's key at a coarser resolution (its index masked) equals the key of h3's parent of it, and differs
    from the keys of the parent's neighbours."""
    cells = _cells(200, resolution, seed=resolution * 10 + ancestor)
    keys = ancestor_keys(np.array(cells, dtype=object), ancestor)
    parents = [h3.cell_to_parent(c, ancestor) for c in cells]
    assert keys.tolist() == [parent_key(p, ancestor) for p in parents]
    for c, p in zip(cells[:20], parents[:20], strict=True):
        for other in set(h3.grid_disk(p, 1)) - {p}:
            assert parent_key(other, ancestor) != parent_key(c, ancestor)


def test_the_sql_of_a_groups_rows_finds_the_same_ancestors(db):
    """area_group_delete_h3.sql's test of descent (the index as a bigint, masked) gives Python's keys."""
    cells = _cells(100, 8, seed=3)
    with db.cursor() as cur:
        cur.execute("SELECT (('x' || lpad(c, 16, '0'))::bit(64)::bigint & %s) FROM unnest(%s::text[]) AS u(c)",
                    (ancestor_mask(4), cells))
        assert [r[0] for r in cur.fetchall()] == [parent_key(h3.cell_to_parent(c, 4), 4) for c in cells]
    db.rollback()


@pytest.mark.parametrize("ancestor", [2, 3, 4, 5])
def test_every_point_of_a_descendant_lies_in_its_groups_box_and_near_its_parent(ancestor):
    """Descendants reach a little past their ancestor's hexagon: every vertex of a descendant (down to four
    resolutions finer) lies in the group's box, and a point just inside it lies in the parent's cell or one
    next to it (why the planned parents are the cells around the points' own)."""
    rng = random.Random(ancestor)
    for parent in _cells(12, ancestor, seed=100 + ancestor):
        x0, y0, x1, y1 = _parent_box(parent)
        disk = set(h3.grid_disk(parent, 1))
        for r in range(ancestor + 1, ancestor + 5):
            children = list(h3.cell_to_children(parent, r))
            for child in rng.sample(children, min(len(children), 300)):
                clat, clon = h3.cell_to_latlng(child)
                for lat, lon in h3.cell_to_boundary(child):
                    assert x0 <= lon <= x1 and y0 <= lat <= y1, (parent, child)
                    inside = (lat * 0.999 + clat * 0.001, lon * 0.999 + clon * 0.001)
                    assert h3.latlng_to_cell(*inside, ancestor) in disk
        assert {g.key for g in h3_groups([parent], ancestor)} == disk


def test_the_groups_resolution_is_one_coarser_than_the_partitions_and_no_finer_than_the_areas():
    model = load_model()
    coarsest = min(int(r) for r in model["area"]["h3_resolutions"])
    assert group_resolution(model, 4) == 3
    assert group_resolution(model, coarsest + 3) == coarsest
    assert group_resolution(model, 0) == 0


def test_admin_areas_are_grouped_by_province_each_with_the_box_of_its_areas(demo_db):
    """Every admin area is in exactly one group, the group of its code's first two digits, whose box holds the
    area."""
    groups = admin_groups(demo_db)
    with demo_db.cursor() as cur:
        cur.execute("SELECT admin_code, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM area")
        areas = cur.fetchall()
    demo_db.rollback()
    assert len(areas) > 5 and groups
    owner = {c: g for g in groups for c in g.codes}
    assert sorted(owner) == sorted({a[0] for a in areas}) and sum(len(g.codes) for g in groups) == len(owner)
    for code, ax0, ay0, ax1, ay1 in areas:
        g = owner[code]
        assert g.key == code[:2]
        assert g.box[0] <= ax0 and g.box[1] <= ay0 and g.box[2] >= ax1 and g.box[3] >= ay1


def test_groups_are_ordered_costliest_first_by_the_points_near_them():
    """by_cost puts the group with the most points first: an H3 group counts the points of the fine cells under
    its parent, an admin group those of the cells whose centre lies in its box; groups with no points keep their
    order at the end."""
    res = 3
    dense, sparse, empty = "8331aafffffffff", "8325b0fffffffff", "8340a6fffffffff"  # Beijing, Urumqi, Wuhan
    assert {h3.get_resolution(c) for c in (dense, sparse, empty)} == {res}

    def fine(parent: str, n: int) -> dict[str, int]:  # n points in the first of its children two levels down
        return {sorted(h3.cell_to_children(parent, res + 2))[0]: n}

    density = {**fine(dense, 5_000), **fine(sparse, 40)}
    lat, lon = h3.cell_to_latlng(dense)
    wide = AreaGroup("admin", "11", (lon - 3, lat - 3, lon + 3, lat + 3), ("110000",))  # holds the dense cell
    beside = AreaGroup("admin", "65", (lon + 20, lat - 1, lon + 21, lat + 1), ("650000",))  # holds nothing
    groups = [AreaGroup("h3", empty, _parent_box(empty)), beside, AreaGroup("h3", sparse, _parent_box(sparse)),
              AreaGroup("h3", dense, _parent_box(dense)), wide]
    ordered = by_cost(groups, density, res)
    assert [(g.kind, g.key) for g in ordered] == [("h3", dense), ("admin", "11"), ("h3", sparse), ("h3", empty),
                                                  ("admin", "65")]
    assert by_cost(groups, {}, res) == groups  # (nothing counted: as planned)
