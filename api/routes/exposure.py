"""GET /exposure: the exposure surface in a box, thinned to at most ``max_points`` points (the map's heatmap), and
GET /exposure/scale: the heatmap's colour scale, quantiles of the whole surface."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.errors import field_error
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
def exposure(
    conn: Connection,
    bbox: Annotated[str, Query(description="minx,miny,maxx,maxy in WGS 84 degrees.")],
    max_points: Annotated[int, Query(ge=100, le=MAX_POINTS, description="At most about this many points: more "
                                                                          "cells are grouped on a grid.")] = 5000,
):
    """The exposure surface (people near hazards, weighted; docs/risk-model.md) at its cell centres in the box.
    When the box holds more cells than ``max_points``, neighbouring cells are grouped on a square grid and each
    group keeps its largest value, so a whole province still comes back as a few thousand points."""
    box = parse_bbox(bbox)
    if box is None:
        raise field_error("bbox", "bbox is required")
    x0, y0, x1, y1 = box
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM exposure_cell WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", box)
        cells = cur.fetchone()[0]
        grid = 0.0
        if cells > max_points:
            # square cells of this size leave about max_points groups in the box
            grid = math.sqrt((x1 - x0) * (y1 - y0) / max_points)
        cur.execute(sql_text("exposure_points"), {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "grid": grid})
        return Response(content=cur.fetchone()[0], media_type="application/json")


@router.get("/exposure/scale", response_model=ExposureScale, summary="The heatmap's colour scale")
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
