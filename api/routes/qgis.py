"""GET /qgis: a QGIS project of every published layer, read live from this server (issue 16).

The project (maps/qgis_project.py) opens each layer of geo/layers.py through QGIS's OGC API – Features provider at
this server's own base URL, styled with the web map's four colours, on the extent of the data the user may read.
Like every read it runs as the request's user (row-level security): a user limited to areas gets the extent of
theirs, and the H3 layers of the resolutions that have cells of theirs.
``riskmap qgis`` writes the same document for a given URL (``qgis_document``).
"""

from __future__ import annotations

import psycopg2.extensions
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.access import Needs
from api.dependencies import Connection
from api.routes import sql_text
from geo.layers import published_layers
from maps.qgis_project import Extent, qgis_project

router = APIRouter(dependencies=[Needs.viewer], tags=["maps"])

QGIS_MEDIA_TYPE = "application/x-qgis"  # shared-mime-info's type of .qgs files


def qgis_document(conn: psycopg2.extensions.connection, base_url: str) -> bytes:
    """The .qgs project of the layers stored in the database behind ``conn``, served at ``base_url``."""
    with conn.cursor() as cur:
        cur.execute(sql_text("qgis_h3_resolutions"))
        resolutions = [r for (r,) in cur.fetchall()]
        cur.execute(sql_text("qgis_extent"))
        box = cur.fetchone()
    extent = None if box[0] is None else Extent(*box)
    return qgis_project(published_layers(resolutions), base_url, extent)


@router.get("/qgis", summary="A QGIS project of every layer",
            response_class=Response, responses={200: {"content": {QGIS_MEDIA_TYPE: {}},
                                                      "description": "A QGIS 3 project file (.qgs)."}})
def qgis(request: Request, conn: Connection) -> Response:
    """A QGIS project (.qgs) that opens every layer from this server live, through QGIS's OGC API – Features
    provider (`/ogc`), with the web map's four colours on each feature's `level`, layer names in Chinese (English
    in each layer's abstract), on the extent of the data you may read. Open it in QGIS 3."""
    document = qgis_document(conn, str(request.base_url))
    return Response(document, media_type=QGIS_MEDIA_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="riskmap.qgs"',
                             "Cache-Control": "private, no-cache"})
