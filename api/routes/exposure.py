"""GET /exposure: the exposure surface in a box, thinned to at most ``max_points`` points (the map's heatmap)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.dependencies import Connection
from api.errors import field_error
from api.routes import sql_text
from api.routes.features import parse_bbox

router = APIRouter(tags=["areas"])

MAX_POINTS = 50_000


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
