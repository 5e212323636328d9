"""The HTML pages: the main map at / (issue 5).

The main map's page carries no data (its layers load from the API), so it is the same for every request that
shares what it depends on: the language, the plan shown, the basemap settings, the risk model (both fixed for the
app's life), the change view's default date (today) and the starting view and synthetic flag read from the
database.  Rendering it with folium costs about 5 ms of CPU under the GIL, and under load (50 clients) it was the
slowest request of the mix (p50 365 ms, p99 1.28 s, issue 15), so each page is rendered once and kept
(``MainPages``), keyed by those; only the 0.6 ms query of the view runs on every request, so a change of the data
that moves the view or the synthetic flag gives a new page at once.  That query runs as the request's user (under
row-level security), so a user limited to a county gets the page of their county's view, never another's.  The
page goes out with a strong ETag (its hash) and ``Cache-Control: private, no-cache``: a browser that has it asks
again with If-None-Match and gets a 304; a shared cache does not keep it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.access import Needs
from api.dependencies import Connection, RiskModel
from api.lanes import map_read
from api.routes import sql_text
from maps.basemaps import basemap
from maps.main_map import MapConfig, default_change_since, main_map, render

router = APIRouter(dependencies=[Needs.viewer], tags=["maps"])

DEFAULT_VIEW = (39.63, 118.18, 9)  # lat, lon, zoom: used while the database holds no areas or features


def zoom_for(x0: float, y0: float, x1: float, y1: float) -> int:
    """A zoom at which the box fills a page of about 1,000 pixels."""
    span = max(x1 - x0, (y1 - y0) * 1.3, 1e-6)
    return int(max(3, min(14, math.floor(math.log2(360 * 1000 / 256 / span)))))


class MainPages:
    """Rendered main-map pages by what they depend on (a key), the ``size`` most recently used kept.  Bounded,
    as the plan id in the key comes from the address.  Thread-safe: the route runs in FastAPI's thread pool; two
    requests missing the same key at once may both render it, which is harmless (the same page)."""

    def __init__(self, size: int = 64):
        self.size = size
        self._pages: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, render: Callable[[], str]) -> tuple[bytes, str]:
        """The page of ``key`` and its ETag, rendered with ``render()`` the first time."""
        with self._lock:
            hit = self._pages.get(key)
            if hit is not None:
                self._pages.move_to_end(key)
                return hit
        page = render().encode()
        entry = (page, '"' + hashlib.sha256(page).hexdigest()[:32] + '"')
        with self._lock:
            self._pages[key] = entry
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return entry


def _etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (or is ``*``); weak validators compare equal (RFC 9110)."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


@router.get("/", response_class=HTMLResponse, summary="The main map",
            responses={304: {"description": "Not modified: the page of the If-None-Match ETag is current."}})
@map_read
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
    change_since = default_change_since(dt.date.today())
    key = (lang, plan, settings.basemap, settings.basemap_key, change_since, x0, y0, x1, y1, bool(synthetic))

    def render_page() -> str:
        if x0 is None:
            lat, lon, zoom = DEFAULT_VIEW
        else:
            lat, lon, zoom = (y0 + y1) / 2, (x0 + x1) / 2, zoom_for(x0, y0, x1, y1)
        context = model["context"]
        config = MapConfig(language=lang, synthetic=bool(synthetic), plan=plan, change_since=change_since,
                           h3_resolutions=sorted(int(r) for r in model["area"]["h3_resolutions"]),
                           pond_sector={"radius_m": float(context["downstream_radius_m"]),
                                        "half_angle_deg": float(context["sector_half_angle_deg"])})
        m = main_map(config, basemap(settings.basemap, settings.basemap_key), center=(lat, lon), zoom=zoom)
        return render(m, "riskmap", lang)

    page, etag = request.app.state.main_pages.get(key, render_page)
    # kept by the browser, asked for again each time (the data may move it); not by shared caches: the view is the
    # user's areas (row-level security)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return HTMLResponse(page, headers=headers)
