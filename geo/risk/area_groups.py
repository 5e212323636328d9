"""Area risk in groups of areas (issue 18 item 2): a partitioned run aggregates its areas on the Dask workers, each
group from the points of its own region, with the answers of a whole run (geo/risk/aggregate.py).

An area's row depends only on the scored points inside it and the exposed settlements inside it, so areas can be
computed apart, each wholly in one group:

- **admin areas** are grouped by province (the first two digits of a GB/T 2260 code; any other code groups by its
  first two characters, which is still a grouping).  A group reads the points in the box of its areas and places
  them in its own areas, as a whole run places them in every area.
- **H3 areas** are grouped by their ancestor at a coarse resolution (the group's *parent*; H3 indexes nest by their
  digits, so every cell has exactly one ancestor, wherever its points lie).  A cell's points may lie a little past
  its ancestor's edge, so a group reads the points in its parent's box grown by half the parent's radius (the
  most a descendant reaches past it is about a seventh: tests/geo/risk/test_area_groups.py), assigns them to
  cells at each resolution as a whole run does, and keeps the cells descended from its parent.  The parents are
  the cells at that resolution around the points' own (a descendant's points lie in its ancestor's cell or one
  next to it); the scoring partitions report their points' cells.

Each group writes in one transaction: every stored row of its areas is deleted (admin: its codes; H3: each stored
cell descended from its parent, at the model's resolutions) and its new rows are COPYed in.  A group run again
writes the same rows; a group that fails leaves its areas as they were.  Rows no group owns (an area gone from
the area table; the cells of a region whose features are all gone; a resolution the model no longer has) are
deleted after the groups, in the run's last transaction (``sweep``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd
import pyarrow as pa

from geo.risk.aggregate import AREA_COLUMNS, area_partitions, area_rows, load_areas, write_area_rows
from geo.risk.area_delta import large_area_tops
from geo.risk.partitions import grow_box
from geo.risk.store import query_frame, sql_text

# A group reads the points within this share of its parent's radius past the parent's box (a descendant reaches
# at most about 0.15 of it past: 3 times that, for cells larger than the average).
REACH_SHARE = 0.5
# Admin groups: the code's first characters (the province of a GB/T 2260 code).
PROVINCE_DIGITS = 2


@dataclass(frozen=True)
class AreaGroup:
    """The areas one task aggregates: ``kind`` 'admin' (``key`` the province prefix, ``codes`` its areas) or 'h3'
    (``key`` the parent cell); ``box`` (lon/lat) holds every point of its areas."""

    kind: str
    key: str
    box: tuple[float, float, float, float]
    codes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"admin areas {self.key}*" if self.kind == "admin" else f"H3 cells under {self.key}"


@dataclass
class GroupResult:
    """What a group did: the rows it wrote, the points it read and its seconds."""

    key: str
    rows: int = 0
    points: int = 0
    seconds: float = 0.0


def group_resolution(model: dict, partition_resolution: int) -> int:
    """The resolution of the H3 groups' parents: one coarser than the scoring partitions (a group then holds about
    seven partitions' points: few enough groups that each one's fixed cost is small), and no finer than the
    model's coarsest H3 areas (each area needs one ancestor)."""
    return max(0, min(min(_h3_resolutions(model)), partition_resolution - 1))


def _h3_resolutions(model: dict) -> list[int]:
    return [int(r) for r in model["area"]["h3_resolutions"]]


# ----- the H3 hierarchy by index bits -----------------------------------------------------------------------------

def ancestor_mask(resolution: int) -> int:
    """The bits of an H3 index that its ancestor at ``resolution`` shares with it: mode, base cell and the digits
    down to ``resolution`` (not the resolution field, nor the finer digits)."""
    finer = (15 - resolution) * 3
    return ((1 << 63) - 1) & ~((1 << finer) - 1) & ~(0xF << 52)


def ancestor_keys(cells: np.ndarray, resolution: int) -> np.ndarray:
    """Each cell's (hex strings) ancestor at ``resolution`` as a key: its index masked by ``ancestor_mask``."""
    from h3ronpy import cells_parse

    if len(cells) == 0:
        return np.zeros(0, dtype=np.int64)
    ints = np.asarray(cells_parse(pa.array(list(cells), pa.string())).to_numpy(), dtype=np.uint64)
    return (ints & np.uint64(ancestor_mask(resolution))).astype(np.int64)


def parent_key(cell: str, resolution: int) -> int:
    return int(cell, 16) & ancestor_mask(resolution)


# ----- planning ---------------------------------------------------------------------------------------------------

def h3_groups(point_cells: set[str] | list[str], resolution: int) -> list[AreaGroup]:
    """The H3 groups for points lying in ``point_cells`` (cells at ``resolution``): those cells and the cells next
    to them, each with the box its descendants' points lie in."""
    parents = sorted({c for cell in point_cells for c in h3.grid_disk(cell, 1)})
    return [AreaGroup("h3", p, _parent_box(p)) for p in parents]


def by_cost(groups: list[AreaGroup], density: dict[str, int], resolution: int) -> list[AreaGroup]:
    """The groups, costliest first, so that the last groups a worker takes are small ones and no worker still has
    a large group to write when the others are done.  A group's cost is guessed from the points near it, counted
    per fine H3 cell (``density``, as the partitions report it): an H3 group's from the cells descended from its
    parent (``resolution``: the parents'), an admin group's from the cells whose centre lies in its box.  Groups
    guessed equal keep their order."""
    if not density:
        return list(groups)
    cells = list(density)
    counts = np.fromiter(density.values(), dtype=np.int64, count=len(cells))
    by_parent = pd.Series(counts).groupby(ancestor_keys(cells, resolution)).sum().to_dict()
    centres = np.array([h3.cell_to_latlng(c) for c in cells])  # (lat, lon)

    def cost(group: AreaGroup) -> int:
        if group.kind == "h3":
            return int(by_parent.get(parent_key(group.key, resolution), 0))
        x0, y0, x1, y1 = group.box
        inside = ((centres[:, 1] >= x0) & (centres[:, 1] <= x1) & (centres[:, 0] >= y0) & (centres[:, 0] <= y1))
        return int(counts[inside].sum())

    costs = [cost(g) for g in groups]
    order = sorted(range(len(groups)), key=lambda i: -costs[i])
    return [groups[i] for i in order]


def _parent_box(cell: str) -> tuple[float, float, float, float]:
    b = np.array(h3.cell_to_boundary(cell))  # (lat, lon)
    lat0, lon0 = h3.cell_to_latlng(cell)
    radius = max(h3.great_circle_distance((lat0, lon0), (la, lo), unit="m") for la, lo in b)
    x0, y0, x1, y1 = grow_box((float(b[:, 1].min()), float(b[:, 0].min()), float(b[:, 1].max()),
                               float(b[:, 0].max())), REACH_SHARE * radius)
    return (float(x0), float(y0), float(x1), float(y1))


def admin_groups(conn) -> list[AreaGroup]:
    """The admin areas grouped by province, each group with the box of its areas."""
    frame = query_frame(conn, sql_text("area_group_admin_bounds"), column_types={"admin_code": pa.string()})
    if frame.empty:
        return []
    frame["group"] = frame["admin_code"].str[:PROVINCE_DIGITS]
    return [AreaGroup("admin", str(key), (float(g["x0"].min()), float(g["y0"].min()), float(g["x1"].max()),
                                          float(g["y1"].max())), tuple(sorted(set(g["admin_code"]))))
            for key, g in frame.groupby("group", sort=True)]


# ----- one group --------------------------------------------------------------------------------------------------

def group_points(conn, box) -> pd.DataFrame:
    x0, y0, x1, y1 = box
    return query_frame(conn, sql_text("area_group_points"), {"x0": x0, "y0": y0, "x1": x1, "y1": y1},
                       column_types={"kind": pa.string(), "feature_id": pa.int64(), "score": pa.float64(),
                                     "level": pa.string(), "lon": pa.float64(), "lat": pa.float64()})


def group_exposed(conn, box) -> pd.DataFrame:
    """The exposed settlements (feature_id, people, lon, lat) whose point lies in the box, by id."""
    x0, y0, x1, y1 = box
    return query_frame(conn, sql_text("area_group_exposed"), {"x0": x0, "y0": y0, "x1": x1, "y1": y1},
                       column_types={"feature_id": pa.int64(), "people": pa.float64(), "lon": pa.float64(),
                                     "lat": pa.float64()})


def _group_parts(group: AreaGroup, lon: np.ndarray, lat: np.ndarray, areas: pd.DataFrame, model: dict,
                 resolution: int) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    """Which of the group's areas hold each point (as geo.risk.aggregate.area_partitions, for its areas only)."""
    if group.kind == "admin":
        return area_partitions(lon, lat, areas, [], admin=True)
    out = []
    key = parent_key(group.key, resolution)
    for t, r, idx, cells in area_partitions(lon, lat, areas, _h3_resolutions(model), admin=False):
        mine = ancestor_keys(cells, resolution) == key
        out.append((t, r, idx[mine], cells[mine]))
    return out


def group_rows(conn, model: dict, group: AreaGroup, resolution: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The area_risk rows of the group's areas (AREA_COLUMNS and ``top``), its areas (admin groups: their
    outlines) and the points read.  ``resolution``: the H3 groups' parents' resolution."""
    areas = _group_areas(conn, group)
    points = group_points(conn, group.box)
    exposed = group_exposed(conn, group.box)
    lon, lat = points["lon"].to_numpy(dtype="float64"), points["lat"].to_numpy(dtype="float64")
    parts = _group_parts(group, lon, lat, areas, model, resolution)
    people_parts = _group_parts(group, exposed["lon"].to_numpy(dtype="float64"),
                                exposed["lat"].to_numpy(dtype="float64"), areas, model, resolution)
    people_of = exposed["people"].to_numpy(dtype="float64")
    people = {(t, r): (ids, people_of[idx]) for t, r, idx, ids in people_parts}
    tops = large_area_tops(points, areas, model, parts=parts)
    rows = area_rows(points, people, areas, model, parts=parts)
    if rows.empty:
        return pd.DataFrame(columns=[*AREA_COLUMNS, "top"]), areas, len(points)
    rows["top"] = [tops.get((t, int(r), a)) for t, r, a in
                   zip(rows["area_type"], rows["resolution"], rows["area_id"], strict=True)]
    return rows, areas, len(points)


def _group_areas(conn, group: AreaGroup) -> pd.DataFrame:
    if group.kind != "admin":
        return pd.DataFrame(columns=["admin_code", "level", "resolution", "geometry"])
    return load_areas(conn, list(group.codes))


def write_group(conn, model: dict, group: AreaGroup, rows: pd.DataFrame, areas: pd.DataFrame,
                resolution: int) -> int:
    """Replace the group's rows in one transaction: every stored row of its areas deleted, its new rows COPYed in
    (in the order of area_risk's key).  Returns the rows written."""
    with conn.cursor() as cur:
        if group.kind == "admin":
            cur.execute("DELETE FROM area_risk WHERE area_type = 'admin' AND area_id = ANY(%s::text[])",
                        (list(group.codes),))
        else:
            x0, y0, x1, y1 = group.box
            cur.execute(sql_text("area_group_delete_h3"),
                        {"resolutions": _h3_resolutions(model), "x0": x0, "y0": y0,
                         "x1": x1, "y1": y1, "mask": ancestor_mask(resolution),
                         "key": parent_key(group.key, resolution)})
        if len(rows):
            write_area_rows(cur, rows.sort_values(["area_type", "resolution", "area_id"], kind="stable",
                                                  ignore_index=True), model["version"], areas)
    conn.commit()
    return len(rows)


def aggregate_group(conn, model: dict, group: AreaGroup, resolution: int) -> GroupResult:
    """One group computed (reads in one snapshot) and written (one transaction)."""
    t0 = time.perf_counter()
    rows, areas, points = group_rows(conn, model, group, resolution)
    conn.rollback()  # (the reads' snapshot; the write is a transaction of its own)
    written = write_group(conn, model, group, rows, areas, resolution)
    return GroupResult(group.key, written, points, time.perf_counter() - t0)


def sweep(conn, model: dict, groups: list[AreaGroup], resolution: int) -> int:
    """Delete the area rows no group owned (in the caller's transaction); returns how many."""
    with conn.cursor() as cur:
        cur.execute(sql_text("area_group_sweep"),
                    {"keys": [parent_key(g.key, resolution) for g in groups if g.kind == "h3"],
                     "resolutions": _h3_resolutions(model),
                     "mask": ancestor_mask(resolution)})
        return cur.rowcount
