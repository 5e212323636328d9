"""The HTML pages: the main map at / (issue 5)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.access import Needs
from api.dependencies import Connection, RiskModel
from api.routes import sql_text
from maps.basemaps import basemap
from maps.main_map import MapConfig, default_change_since, main_map, render

router = APIRouter(dependencies=[Needs.viewer], tags=["maps"])

DEFAULT_VIEW = (39.63, 118.18, 9)  # lat, lon, zoom: used while the database holds no areas or features


def zoom_for(x0: float, y0: float, x1: float, y1: float) -> int:
    """A zoom at which the box fills a page of about 1,000 pixels."""
    span = max(x1 - x0, (y1 - y0) * 1.3, 1e-6)
    return int(max(3, min(14, math.floor(math.log2(360 * 1000 / 256 / span)))))


@router.get("/", response_class=HTMLResponse, summary="The main map")
def main_page(request: Request, conn: Connection, model: RiskModel,
              lang: Annotated[Literal["zh", "en"], Query(description="Labels: Chinese (default) or English.")] = "zh",
              plan: Annotated[int | None, Query(ge=1, le=2**63 - 1, description=(
                  "A stored inspection plan to show on the map (its routes and stops)."))] = None):
    """The main map: four-colour zoning, the exposure heatmap, the feature classes, a legend and the risks near
    any point clicked. Its layers load from this API for the visible box and zoom."""
    settings = request.app.state.settings
    with conn.cursor() as cur:
        cur.execute(sql_text("map_view"))
        x0, y0, x1, y1, synthetic = cur.fetchone()
    if x0 is None:
        lat, lon, zoom = DEFAULT_VIEW
    else:
        lat, lon, zoom = (y0 + y1) / 2, (x0 + x1) / 2, zoom_for(x0, y0, x1, y1)
    context = model["context"]
    config = MapConfig(language=lang, synthetic=bool(synthetic), plan=plan,
                       change_since=default_change_since(dt.date.today()),
                       h3_resolutions=sorted(int(r) for r in model["area"]["h3_resolutions"]),
                       pond_sector={"radius_m": float(context["downstream_radius_m"]),
                                    "half_angle_deg": float(context["sector_half_angle_deg"])})
    m = main_map(config, basemap(settings.basemap, settings.basemap_key), center=(lat, lon), zoom=zoom)
    return HTMLResponse(render(m, "riskmap", lang))
