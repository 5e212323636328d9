"""GET /exposure: the exposure surface in a box, thinned to at most ``max_points`` points (the map's heatmap), and
GET /exposure/scale: the heatmap's colour scale, quantiles of the whole surface."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection, RiskModel
from api.errors import field_error
from api.lanes import map_read
from api.routes import sql_text
from api.routes.features import parse_bbox

router = APIRouter(dependencies=[Needs.viewer], tags=["areas"])

MAX_POINTS = 50_000
# The heatmap's colour bands: below the median, then up to the 75th, 90th and 97th percentiles of the exposure
# cells, and the top 3 %. The surface is skewed (on the demo the median cell is 10, the 97th percentile 56 and the
# largest 229), so a ramp scaled to the largest value leaves nearly every cell in its coldest colours; by quantile
# each band holds a known share of the region and the hot spots (industrial parks, town centres) stand out.
SCALE_QUANTILES = (0.5, 0.75, 0.9, 0.97)
# Above this many cells the quantiles are taken over a repeatable page sample of about this many (the whole
# demo region is 35,000 cells, read in about 20 ms; a province at 250 m is millions).
SCALE_SAMPLE_CELLS = 100_000
# The sizes the heatmap groups cells on: squares of GRID_ZOOM0_DEG / 2^k degrees (k = 0, 1, ...), kept ready for
# every k by each scoring run (exposure_grid, migration 0024), so that a view of the whole region reads a few
# thousand stored squares instead of grouping every cell.  14.0625 degrees is ten pixels at zoom 0, so the map's
# request (a point per 10 x 10 pixels) at zoom z asks for about the squares of level z.
GRID_ZOOM0_DEG = 14.0625
GRID_FINEST_ASKED = 30  # above any level stored (the database lowers it to its finest)


class ExposureScale(BaseModel):
    method: str = Field("quantile", description="How the breaks are chosen: quantiles of the cells' values.")
    quantiles: list[float] = Field(description="The cumulative shares of the cells at the breaks (0.5: median).")
    breaks: list[float] | None = Field(description="The exposure value at each quantile, ascending; band i holds the "
                                                   "values from breaks[i-1] (inclusive) up to breaks[i]. Null: "
                                                   "there is no exposure surface.")
    cells: int = Field(description="The cells the quantiles were computed over.")
    sampled: bool = Field(description="True: over a repeatable sample of the cells (a large surface).")


class ExposurePoints(BaseModel):
    cell_m: float | None = Field(description="The exposure surface's cell size in metres (null: no cells here).")
    grid_deg: float = Field(description="The grid, in degrees, the cells were grouped on (0: not grouped).")
    max: float = Field(description="The largest value among the points.")
    points: list[list[float]] = Field(description="[lon, lat, value] per point.")


@router.get("/exposure", response_model=ExposurePoints, summary="The exposure surface in a box")
@map_read
def exposure(
    conn: Connection,
    model: RiskModel,
    bbox: Annotated[str, Query(description="minx,miny,maxx,maxy in WGS 84 degrees.")],
    max_points: Annotated[int, Query(ge=100, le=MAX_POINTS, description="At most about this many points: more "
                                                                          "cells are grouped on a grid.")] = 5000,
):
    """The exposure surface (people near hazards, weighted; docs/risk-model.md) at its cell centres in the box.
    When the box holds more cells than ``max_points``, neighbouring cells are grouped on a square grid and each
    group keeps its largest value, so a whole province still comes back as a few thousand points.  The grid is
    the smallest of the sizes 14.0625 / 2^k degrees (ten pixels of a web map at zoom k) that leaves at most about
    ``max_points`` squares in the box (``grid_deg`` says which)."""
    box = parse_bbox(bbox)
    if box is None:
        raise field_error("bbox", "bbox is required")
    with conn.cursor() as cur:
        if conn.scoped:  # a user limited to areas: grouped from the cells they may see (the kept squares mix areas)
            document = cells_answer(cur, box, max_points)
        else:
            document = kept_squares_answer(cur, box, max_points, float(model["exposure"]["cell_m"]))
    return Response(content=document, media_type="application/json")


def _wanted_level(box: tuple[float, float, float, float], max_points: int) -> int:
    """The ladder level whose squares leave at most about ``max_points`` of them in ``box``."""
    x0, y0, x1, y1 = box
    area = (x1 - x0) * (y1 - y0)
    return grid_level(math.sqrt(area / max_points) if area > 0 else 0.0)


def cells_answer(cur, box: tuple[float, float, float, float], max_points: int) -> str:
    """GET /exposure's document grouped at request time from the cells the connection may see (on the same
    ladder of square sizes as the kept squares)."""
    coords = dict(zip(("x0", "y0", "x1", "y1"), box, strict=True))
    cur.execute("SELECT count(*) FROM exposure_cell WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", box)
    grid = grid_size(_wanted_level(box, max_points)) if cur.fetchone()[0] > max_points else 0.0
    cur.execute(sql_text("exposure_points"), {**coords, "grid": grid})
    return cur.fetchone()[0]


def kept_squares_answer(cur, box: tuple[float, float, float, float], max_points: int, cell_m: float) -> str:
    """GET /exposure's document for a user of every area, read from the kept squares (exposure_grid) where the
    box holds more cells than ``max_points``."""
    coords = dict(zip(("x0", "y0", "x1", "y1"), box, strict=True))
    level = _wanted_level(box, max_points)
    if level >= finest_level(cell_m):
        # squares no larger than a cell or two (a street's view): they would hold about a cell each, so the cells
        # are counted as they are, which costs less here than the squares and the box's edges
        cur.execute("SELECT (SELECT max(level) FROM exposure_grid), count(*) FROM exposure_cell "
                    "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", box)
        finest, cells = cur.fetchone()
        level = None if finest is None else min(level, finest)
    else:
        cur.execute(sql_text("exposure_grid_count"), {**coords, "level": level})
        level, cells = cur.fetchone() or (None, 0)
    if level is None or cells <= max_points:
        cur.execute(sql_text("exposure_points"), {**coords, "grid": 0.0})
    else:
        cur.execute(sql_text("exposure_grid_points"), {**coords, "level": level, "size": grid_size(level)})
    return cur.fetchone()[0]


def grid_size(level: int) -> float:
    """The side, in degrees, of the heatmap's grouping squares at ``level``: 14.0625 / 2^level, ten pixels of a
    web map at zoom ``level`` (exact in floating point, as migration 0024 computes it)."""
    return GRID_ZOOM0_DEG / 2.0 ** level


def finest_level(cell_m: float) -> int:
    """The finest level the database keeps for cells of ``cell_m`` metres (riskmap_exposure_grid_finest, migration
    0024): the last whose squares are at least a cell high."""
    return max(0, math.floor(math.log2(GRID_ZOOM0_DEG / (cell_m / 111320.0))))


def grid_level(wanted: float) -> int:
    """The level whose squares are the smallest at least ``wanted`` degrees wide (0 for any larger size; the
    database keeps it at or above the finest level it stores)."""
    if wanted <= 0:
        return GRID_FINEST_ASKED
    level = math.floor(math.log2(GRID_ZOOM0_DEG / wanted))
    while level > 0 and grid_size(level) < wanted:  # (log2's rounding)
        level -= 1
    return max(0, min(level, GRID_FINEST_ASKED))


@router.get("/exposure/scale", response_model=ExposureScale, summary="The heatmap's colour scale")
@map_read
def exposure_scale(conn: Connection):
    """The exposure values at fixed quantiles of the whole exposure surface (every cell of the region, not those
    of one view), which the map's heatmap colours its bands by: a colour means the same value wherever the map is
    panned or zoomed. On a surface of more than about 100,000 cells the quantiles come from a repeatable sample
    of that size."""
    with conn.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE oid = 'exposure_cell'::regclass")
        estimate = cur.fetchone()[0]  # (-1 or 0 before the table was first analysed: read it all)
        percent = 100.0 if estimate <= SCALE_SAMPLE_CELLS else 100.0 * SCALE_SAMPLE_CELLS / estimate
        cur.execute(sql_text("exposure_scale"), {"quantiles": list(SCALE_QUANTILES), "percent": percent})
        cells, breaks = cur.fetchone()
    return ExposureScale(quantiles=list(SCALE_QUANTILES), breaks=[round(b, 3) for b in breaks] if cells else None,
                         cells=cells, sampled=percent < 100.0)
