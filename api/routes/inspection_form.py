"""The inspectors' field form (issue 14 item 8): GET /inspect/{kind}/{id}, a page for a phone.

The page shows the site (name, level, the top reasons of its score), its supervision light and next due date, and
its hidden dangers not yet closed with their deadlines; it records an inspection with the hidden dangers found
(POST /inspections), their photos (POST /hidden-dangers/{id}/photos) and status changes (PATCH
/hidden-dangers/{id}) through the API itself, with the API key the inspector types once (kept in the browser
tab's sessionStorage, sent as X-API-Key).  This route only reads and renders; the page writes nothing by itself.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from api.access import Needs
from api.dependencies import Connection
from api.routes import sql_for_table
from api.routes.features import detail_params
from api.routes.record_models import MAX_ID, SiteKind
from geo.errors import NotFound
from geo.records import store
from geo.supervision import sites
from maps.inspection_form import inspection_form

router = APIRouter(dependencies=[Needs.viewer], tags=["maps"])

# The page holds an API key (in the tab's sessionStorage): it runs riskmap's own script only, loads nothing from
# elsewhere, and cannot be framed.  Inline styles are the level and light swatches.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; "
       "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@router.get("/inspect/{kind}/{id}", response_class=HTMLResponse, summary="The field form of one site",
            responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}},
                       404: {"description": "No site of this kind has this id (problem+json)."}})
def inspection_form_page(
    request: Request,
    conn: Connection,
    kind: Annotated[SiteKind, Path(description="The class of the site.")],
    id: Annotated[int, Path(ge=1, le=MAX_ID, description="The site's riskmap id.")],
    lang: Annotated[Literal["zh", "en"], Query(description="The page's language.")] = "zh",
    as_of: Annotated[dt.date | None, Query(description="The day the page judges deadlines and supervision on, and "
                                                       "the form's default date (default: today).")] = None,
):
    """A page for an inspector's phone: the site, its supervision light and next due date, its hidden dangers not
    yet closed (with buttons for the status changes allowed), and the form that records an inspection and the
    hidden dangers found, with photos from the phone's camera.  The page posts to POST /inspections, POST
    /hidden-dangers/{id}/photos and PATCH /hidden-dangers/{id} with the API key typed into it."""
    day = as_of or dt.date.today()
    with conn.cursor() as cur:
        cur.execute(sql_for_table("feature_detail", kind), detail_params(kind, id, day))
        row = cur.fetchone()
    if row is None:
        raise NotFound(f"no {kind} with id {id}")
    feature = json.loads(row[0])
    try:
        supervision = sites.site_recommendation(conn, kind, id, day, request.app.state.supervision).as_dict()
    except NotFound:  # not scored yet: no level, so no frequency or light
        supervision = None
    dangers = store.site_dangers(conn.raw(), kind, id)
    photo_max_bytes = int(request.app.state.settings.photo_max_mb * 1024 * 1024)  # as POST .../photos judges it
    return HTMLResponse(inspection_form(feature, supervision, dangers, day, lang,
                                        photo_max_bytes=photo_max_bytes),
                        headers={"Content-Security-Policy": CSP, "Referrer-Policy": "same-origin"})
