"""Scoring in spatial partitions (issue 18 item 2): the same rules and the same answers as a whole run, one piece
of the country at a time, so that the pieces can be scored on the workers of a Dask cluster
(geo/risk/distributed.py).

A partition is an H3 cell of a chosen resolution (or, by default, of the finest resolution whose partitions hold
a few thousand features on average: :func:`choose_resolution`).  A feature belongs to exactly one partition: the
cell holding its representative point (a site's point on surface, a pipeline segment's midpoint, the points where
the areas count it too).  A partition is read *with a halo*: every layer is loaded once over the bounding box of its
features (a segment's box includes its 2 km GB 50251 unit) grown by the widest neighbourhood any rule reads
(:func:`halo_m`, from the model's context radii and the longest pipeline impact distance stored).  So a feature at
the edge of its cell sees the neighbours across the edge, as in a whole run, and a pipeline crossing cells is
scored segment by segment, each segment in its own cell with the rest of the line as context; the pipeline's
roll-up (its worst segment) is done once after all partitions.

One rule reads another class's result: a venue counts the GB 18218 major hazards around it, and whether an
enterprise is one depends on the people within its α ring.  A partition with venues therefore also scores the
enterprises of the halo within the venue radius (their α ring lies inside the halo: :func:`halo_m` takes
``venue_hazard_radius_m + alpha_radius_m``) and keeps only its own enterprises' rows.

The context functions ask for the neighbours of their features in boxes grown by each rule's own radius
(geo/risk/context.py); :class:`PartitionNeighbours` serves every such box from the halo it has loaded, and
counts a box that falls outside it (``misses``: then it reads that box itself, so the answer stays exact, but a
miss means the halo was too narrow and the tests assert there are none).

The work of a partition is split in two: :func:`score_partition` computes the rows (pure reads) and
:func:`write_partition` writes them in one transaction that deletes the partition's rows of ``feature_risk`` and
COPYs its new ones in: a partition is written whole or not at all, and a partition run again (a retry) writes the
same rows again.  A partition also finds the settlements within the exposure radius of its own red and orange
features (they lie in its halo) and adds them to ``settlement_exposed`` in the same transaction: a settlement is
exposed when any hot feature is near, and every hot feature is in exactly one partition, so the partitions
together add exactly a whole run's set (one exposed by two partitions' features is added once).  The areas are
aggregated after the partitions, in groups (geo/risk/area_groups.py).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geo.risk.aggregate import exposed_settlements, h3_assign
from geo.risk.area_delta import copy_exposed
from geo.risk.context import Neighbours, context_frame
from geo.risk.framework import final_level
from geo.risk.proximity import Layer
from geo.risk.record_store import RULE_SITES, rule_frame_with_records, window_days
from geo.risk.store import copy_rows, query_frame, results_table, sql_text

# the order a partition scores its classes in: enterprises before venues (venues read their major hazards)
KINDS = ("enterprise", "tailings_pond", "pipeline_segment", "venue")
# feature_risk's columns as the rules fill them (computed_at takes its default when the rows are written)
RESULT_COLUMNS = ["kind", "feature_id", "score", "level", "direct_red", "factors", "details", "model_version",
                  "lon", "lat"]
# The automatic partition resolution: the finest whose partitions hold this many features on average.
AUTO_FEATURES = 2_000
AUTO_RESOLUTIONS = (6, 5, 4, 3, 2, 1)
# A box a rule asks for is grown from its features' bounds by grown_box's 1e-6 degree; the halo by more.
HALO_SLACK_DEG = 1e-5
# A partition counts its points per H3 cell this many resolutions finer than the area groups' parents (a parent
# then holds about 49 such cells, a province's box many more): the groups' costs are guessed from those counts.
DENSITY_STEPS = 2


@dataclass(frozen=True)
class Partition:
    """One H3 cell's features: ``ids`` per class (each feature in exactly one partition) and ``extent``, the
    bounding box (lon/lat) of what their context is measured from."""

    cell: str
    ids: dict[str, tuple[int, ...]]
    extent: tuple[float, float, float, float]

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.ids.values())


def halo_m(model: dict, max_impact_m: float) -> float:
    """The widest neighbourhood any rule reads, in metres: the largest reach of any class's context
    (geo/risk/scoring.py ``reaches``: the α ring, the downstream radius, the pipeline corridor and unit, the
    venue hazard radius plus the α ring of the enterprises it counts), the longest pipeline impact distance
    (``max_impact_m``: gas PIR, from the stored segments) and the exposure radius (a partition finds the
    settlements its red and orange features expose).  Derived from the model, so a model with a wider rule gets a
    wider halo."""
    from geo.risk.scoring import reaches

    return max(max(max(reaches(model, kind, max_impact_m).values()) for kind in KINDS),
               float(model["area"]["exposure_radius_m"]))  # (the settlements a partition's hot features expose)


def grow_box(extent: tuple[float, float, float, float], metres: float) -> list[float]:
    """``extent`` (lon/lat) grown by at least ``metres`` on every side (at the latitude of its widest edge, as
    geo/risk/context.py ``grown_box`` grows a rule's box, plus a little slack)."""
    x0, y0, x1, y1 = extent
    widest = min(89.0, max(abs(y0), abs(y1)))
    dx = metres / (111_320.0 * np.cos(np.radians(widest))) + HALO_SLACK_DEG
    dy = metres / 110_574.0 + HALO_SLACK_DEG
    return [x0 - dx, max(-90.0, y0 - dy), x1 + dx, min(90.0, y1 + dy)]


def choose_resolution(lon: np.ndarray, lat: np.ndarray, target: int = AUTO_FEATURES) -> int:
    """The finest H3 resolution from 6 down to 1 at which the non-empty cells hold at least ``target`` of these
    points on average (1 when none does).  A partition has a fixed cost (a connection, a dozen queries, a rule call
    per class: about 0.1 s, bench/scale/partitioned.py), so a partition of a hundred features costs several
    times its work; a few thousand features each keep that cost small while leaving many partitions to share."""
    if len(lon) == 0:
        return AUTO_RESOLUTIONS[-1]
    cells = h3_assign(np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64"), list(AUTO_RESOLUTIONS))
    for r in AUTO_RESOLUTIONS:
        if len(lon) / len(pd.unique(cells[r])) >= target:
            return r
    return AUTO_RESOLUTIONS[-1]


def plan_partitions(conn, resolution: int | None = None) -> list[Partition]:
    """The non-empty partitions at H3 ``resolution`` (None: :func:`choose_resolution`), largest first (so that a
    cluster starts the longest work first)."""
    if resolution is not None and not 0 <= resolution <= 15:
        raise ValueError(f"partition resolution must be an H3 resolution from 0 to 15, not {resolution!r}")
    f = query_frame(conn, sql_text("partition_features"),
                    column_types={"kind": pa.string(), "feature_id": pa.int64()})
    if f.empty:
        return []
    lon, lat = f["lon"].to_numpy(dtype="float64"), f["lat"].to_numpy(dtype="float64")
    if resolution is None:
        resolution = choose_resolution(lon, lat)
    f["cell"] = h3_assign(lon, lat, [resolution])[resolution]
    parts = []
    for cell, g in f.groupby("cell", sort=True):
        ids = {kind: tuple(int(i) for i in sorted(g.loc[g["kind"] == kind, "feature_id"])) for kind in KINDS}
        extent = (float(g["x0"].min()), float(g["y0"].min()), float(g["x1"].max()), float(g["y1"].max()))
        parts.append(Partition(str(cell), {k: v for k, v in ids.items() if v}, extent))
    parts.sort(key=lambda p: (-p.size, p.cell))
    return parts


def _inside(box: list[float], outer: list[float]) -> bool:
    return box[0] >= outer[0] and box[1] >= outer[1] and box[2] <= outer[2] and box[3] <= outer[3]


class PartitionNeighbours(Neighbours):
    """The layers of one partition, each loaded once over the halo box and shared by every rule (a box a rule
    asks for that the halo does not cover is read apart and counted in ``misses``)."""

    def __init__(self, conn, model: dict, halo_box: list[float]):
        super().__init__(conn, model)
        self.halo_box = [float(v) for v in halo_box]
        self.misses: list[tuple[str, list]] = []

    def _load(self, name: str, box: list | None) -> pd.DataFrame:
        if box is None:
            raise ValueError("a partition reads its halo, never a whole layer")
        boxes = box if isinstance(box[0], (list, tuple)) else [box]
        if all(_inside(b, self.halo_box) for b in boxes):
            return super()._load(name, self.halo_box)
        self.misses.append((name, box))
        return super()._load(name, box)


@dataclass
class PartitionResult:
    """What a partition computed: the feature_risk rows of its own features per class, the factor definitions
    (kind, name, title, source, unit), the rows per class, the enterprises scored only as the context of its
    venues, the boxes read outside its halo and its seconds."""

    cell: str
    tables: dict[str, pa.Table] = field(default_factory=dict)
    factor_defs: list[tuple[str, str, str, str, str | None]] = field(default_factory=list)
    scored: dict[str, int] = field(default_factory=dict)
    halo_only: int = 0  # enterprises scored as the context of venues, not written
    misses: int = 0
    seconds: float = 0.0
    # the settlements within the exposure radius of its own red and orange features (feature_id, people, lon,
    # lat; a settlement near two partitions' hot features is in both), the H3 cells at the area groups'
    # resolution holding its features' points (geo/risk/area_groups.py plans the groups from them), and how many
    # of its points lie in each cell DENSITY_STEPS resolutions finer (the groups' costs are guessed from them)
    exposed: pd.DataFrame | None = None
    area_cells: tuple[str, ...] = ()
    density: dict[str, int] = field(default_factory=dict)


def score_partition(conn, model: dict, as_of: dt.date, part: Partition, halo: float,
                    max_impact_m: float, area_resolution: int | None = None) -> PartitionResult:
    """The feature_risk rows of the features of ``part`` (reads only), with neighbours read within ``halo``
    metres of its extent; ``max_impact_m``: the longest impact distance of any pipeline segment (stored).  Also
    the settlements its red and orange features expose, and (given ``area_resolution``) the H3 cells at that
    resolution holding its features' points and its points per cell ``DENSITY_STEPS`` resolutions finer."""
    from geo.risk.scoring import _params, _rules

    t0 = time.perf_counter()
    rules = _rules()
    version = model["version"]
    nb = PartitionNeighbours(conn, model, grow_box(part.extent, halo))
    out = PartitionResult(part.cell)
    try:
        for kind in KINDS:
            own = list(part.ids.get(kind, ()))
            ids = own
            if kind == "enterprise" and part.ids.get("venue"):
                ids = sorted(set(own) | set(_enterprises_near(nb, part, float(model["context"]
                                                                                ["venue_hazard_radius_m"]))))
            if not ids:
                continue
            frame = context_frame(nb, kind, ids, max_impact_m)
            if kind in RULE_SITES:
                frame = rule_frame_with_records(conn, kind, frame, False, as_of, window_days(model))
            frame.index = pd.RangeIndex(len(frame))
            result = rules[kind](frame, _params(model, kind), as_of)
            level = final_level(result.score, result.direct_red, model["levels"])
            if kind == "enterprise":
                nb.major_hazard = pd.Series(
                    result.extra["major_hazard"].astype("boolean").fillna(False).to_numpy(bool),
                    index=frame["feature_id"].to_numpy())
            table = results_table(kind, frame["feature_id"], result, level, version,
                                  frame["lon"].to_numpy(dtype="float64"), frame["lat"].to_numpy(dtype="float64"))
            if len(ids) != len(own):
                table = table.filter(pc.is_in(table["feature_id"], value_set=pa.array(own, pa.int64())))
                out.halo_only = len(ids) - len(own)
            # (a feature deleted since the partitions were planned is not scored: its row goes with the stale ones)
            out.tables[kind] = table
            out.scored[kind] = table.num_rows
            out.factor_defs += [(kind, f.definition.name, f.definition.title, f.definition.source,
                                 f.definition.unit) for f in result.factors]
        out.exposed = exposed_settlements(nb, _hot_layer(nb, out.tables), float(model["area"]["exposure_radius_m"]),
                                          nb.halo_box)
        if area_resolution is not None and out.tables:
            lon = np.concatenate([t.column("lon").to_numpy() for t in out.tables.values()])
            lat = np.concatenate([t.column("lat").to_numpy() for t in out.tables.values()])
            fine = min(15, area_resolution + DENSITY_STEPS)
            cells = h3_assign(lon, lat, [area_resolution, fine])
            out.area_cells = tuple(sorted(set(cells[area_resolution])))
            keys, counts = np.unique(cells[fine].astype(str), return_counts=True)
            out.density = dict(zip(keys.tolist(), counts.tolist(), strict=True))
    finally:
        nb.close()
    out.misses = len(nb.misses)
    out.seconds = time.perf_counter() - t0
    return out


def _hot_layer(nb: PartitionNeighbours, tables: dict[str, pa.Table]) -> Layer:
    """The geometries of the partition's own red and orange features (as a whole run's ``hot`` layer has them:
    each class's layer geometry)."""
    geoms = []
    for kind, table in tables.items():
        hot = table.filter(pc.is_in(table["level"], value_set=pa.array(["red", "orange"])))
        if hot.num_rows:
            frame, layer = nb.layer(kind, nb.halo_box)
            mine = np.isin(frame["feature_id"].to_numpy(), hot.column("feature_id").to_numpy())
            geoms.append(layer.geoms[mine])
    return Layer(np.concatenate(geoms) if geoms else np.zeros(0, dtype=object))


def _enterprises_near(nb: PartitionNeighbours, part: Partition, radius: float) -> list[int]:
    """The enterprises of the halo whose geometry's box meets the box of a venue of the partition grown by
    ``radius``: every enterprise those venues may count (each is then scored here, for its major-hazard
    grade)."""
    e_frame, ents = nb.layer("enterprise", nb.halo_box)
    v_frame, venues = nb.layer("venue", nb.halo_box)
    mine = np.isin(v_frame["feature_id"].to_numpy(), np.asarray(part.ids.get("venue", ()), dtype="int64"))
    if e_frame.empty or not mine.any():
        return []
    b = shapely.bounds(venues.geoms[mine])
    widest = min(89.0, float(np.max(np.abs(b[:, [1, 3]]))))
    dx = radius / (111_320.0 * np.cos(np.radians(widest))) + HALO_SLACK_DEG
    dy = radius / 110_574.0 + HALO_SLACK_DEG
    grown = shapely.box(b[:, 0] - dx, b[:, 1] - dy, b[:, 2] + dx, b[:, 3] + dy)
    eb = shapely.bounds(ents.geoms)
    hit, _ = shapely.STRtree(grown).query(shapely.box(eb[:, 0], eb[:, 1], eb[:, 2], eb[:, 3]),
                                          predicate="intersects")
    return [int(i) for i in e_frame["feature_id"].to_numpy()[np.unique(hit)]]


def write_partition(conn, result: PartitionResult) -> int:
    """Write a partition's rows in one transaction: per class, the rows of its features deleted from feature_risk
    and its new rows COPYed in; its exposed settlements added to settlement_exposed (emptied when the run began),
    those another partition added already left as they are.  Returns the rows written.  A failure before the
    commit leaves both tables as they were."""
    written = 0
    with conn.cursor() as cur:
        for kind, table in result.tables.items():
            cur.execute("DELETE FROM feature_risk f USING unnest(%s::bigint[]) AS u(id) "
                        "WHERE f.kind = %s AND f.feature_id = u.id", (table.column("feature_id").to_pylist(), kind))
            copy_rows(cur, "feature_risk", RESULT_COLUMNS, table.select(RESULT_COLUMNS))
            written += table.num_rows
        if result.exposed is not None and len(result.exposed):
            cur.execute("CREATE TEMP TABLE riskmap_partition_exposed (LIKE settlement_exposed) ON COMMIT DROP")
            copy_exposed(cur, result.exposed, "riskmap_partition_exposed")
            # (in the order of the key: two partitions adding the same settlements wait on each other, never
            # deadlock)
            cur.execute("INSERT INTO settlement_exposed SELECT * FROM riskmap_partition_exposed "
                        "ORDER BY settlement_id ON CONFLICT (settlement_id) DO NOTHING")
    conn.commit()
    return written


# ----- after the partitions: what a whole run does once -----------------------------------------------------------

def drop_stale_rows(conn) -> None:
    """The results of features that no longer exist (deleted, or segments re-cut away before the partitions)."""
    with conn.cursor() as cur:
        for kind in KINDS:  # (names of the list above, never input)
            cur.execute(f"DELETE FROM feature_risk r WHERE r.kind = %s AND NOT EXISTS "
                        f"(SELECT 1 FROM {kind} f WHERE f.id = r.feature_id)", (kind,))


def recount_site_tiles(conn) -> None:
    """The low-zoom site tile counts (migrations 0026, 0029) counted again for every class, as a full run does:
    the partitions do not keep them (each would lock the cells of its neighbours)."""
    with conn.cursor() as cur:
        for kind in ("enterprise", "tailings_pond", "venue"):
            cur.execute("SELECT riskmap_site_cells_rescored(%s, NULL::bigint[], NULL::bigint[], NULL::text[], "
                        "NULL::double precision[])", (kind,))


def store_factor_defs(conn, defs: list[tuple], version: str) -> None:
    with conn.cursor() as cur:
        for kind, name, title, source, unit in sorted(set(defs), key=lambda d: (d[0], d[1])):
            cur.execute(
                "INSERT INTO risk_factor_def (model_version, kind, factor, title, source, unit) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (model_version, kind, factor) DO UPDATE "
                "SET title = EXCLUDED.title, source = EXCLUDED.source, unit = EXCLUDED.unit",
                (version, kind, name, title, source, unit))
