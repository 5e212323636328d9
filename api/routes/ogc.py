"""OGC API – Features, Part 1 Core, under /ogc (issue 16): riskmap's layers as collections that QGIS, GDAL and
web GIS read directly.  JSON for clients, HTML for a browser (``Accept: text/html`` or ``?f=html``).

Every route needs a viewer and reads through the request's ``Connection``: a user limited to areas sees only their
features (row-level security), in items, extents and counts alike.  Bad parameters are a 400 with the OGC exception
body (``{"code", "description"}``), an unknown collection or feature a 404 with the same body.  These routes are
described by their own OpenAPI 3.0 document at /ogc/api, and left out of FastAPI's 3.1 one.
"""

from __future__ import annotations

import datetime as dt
import json

import psycopg2.errors
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.access import Needs
from api.dependencies import Connection
from api.ogc import documents, html
from api.ogc.documents import GEOJSON, HTML, JSON, OPENAPI_JSON, SCHEMA_JSON, link
from api.ogc.extents import ExtentCache, Extents
from api.ogc.items import (
    DOCUMENT_PARAMS,
    ITEMS_PARAMS,
    OgcError,
    bad,
    check_known,
    item_query,
    number_matched,
    parse_key,
    read_one,
    read_page,
)
from api.ogc.layers import Layer
from api.routes.features import wants_html

router = APIRouter(prefix="/ogc", dependencies=[Needs.viewer], tags=["ogc"], include_in_schema=False)


def install(app: FastAPI) -> None:
    """Answer ``OgcError`` with the OGC exception body; keep the collections' extents (api/ogc/extents.py)."""

    async def answer(request: Request, exc: OgcError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "description": exc.description}, status_code=exc.status)

    app.add_exception_handler(OgcError, answer)
    app.state.ogc_extents = ExtentCache()


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _as_html(request: Request, known: frozenset[str] = DOCUMENT_PARAMS) -> bool:
    check_known(request.query_params, known)
    f = request.query_params.get("f")
    if f is None:
        return wants_html(request)
    if f not in ("json", "html"):
        raise bad("f", f"{f!r} is not a format of this server (json, html)")
    return f == "html"


def _layer(request: Request, conn, collection_id: str) -> Layer:
    layer = documents.find_layer(_extents(request, conn), collection_id)
    if layer is None:
        raise OgcError(404, "NotFound", f"no collection {collection_id!r}")
    return layer


def _extents(request: Request, conn) -> Extents:
    """The layers' extents as this request's user sees them, kept by data version (api/ogc/extents.py)."""
    return Extents(conn, request.app.state.ogc_extents, list(request.state.principal.areas))


def _json(doc: dict, media_type: str = JSON) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False), media_type=media_type)


@router.get("")
def landing_page(request: Request):
    base = _base(request)
    doc = documents.landing(base)
    return HTMLResponse(html.landing(doc, base)) if _as_html(request) else _json(doc)


@router.get("/conformance")
def conformance(request: Request):
    doc = documents.conformance()
    return HTMLResponse(html.conformance(doc, _base(request))) if _as_html(request) else _json(doc)


@router.get("/api")
def api_definition(request: Request):
    base = _base(request)
    doc = documents.openapi(base)
    if _as_html(request) and request.query_params.get("f") == "html":
        text = json.dumps(doc, ensure_ascii=False, indent=1)
        return HTMLResponse(html.page("OpenAPI 3.0 definition of /ogc", f"<pre>{html.escape(text)}</pre>",
                                      [(f"{base}?f=html", "OGC API")]))
    return _json(doc, OPENAPI_JSON)


@router.get("/collections")
def collections(request: Request, conn: Connection):
    as_html = _as_html(request)
    base = _base(request)
    doc = documents.collections(_extents(request, conn), base)
    return HTMLResponse(html.collections(doc, base)) if as_html else _json(doc)


@router.get("/collections/{collectionId}")
def collection(request: Request, conn: Connection, collectionId: str):  # noqa: N803 (the standard's name)
    as_html = _as_html(request)
    base = _base(request)
    doc = documents.collection(_extents(request, conn), _layer(request, conn, collectionId), base)
    return HTMLResponse(html.collection(doc, base)) if as_html else _json(doc)


@router.get("/collections/{collectionId}/queryables")
def queryables(request: Request, conn: Connection, collectionId: str):  # noqa: N803
    check_known(request.query_params, DOCUMENT_PARAMS)
    # application/schema+json (Part 3) to a client that asks for it; application/json to the others (GDAL 3.6
    # refuses any other media type for the queryables it reads)
    media_type = SCHEMA_JSON if SCHEMA_JSON in request.headers.get("accept", "") else JSON
    return _json(documents.queryables(_layer(request, conn, collectionId), _base(request)), media_type)


def _page_url(request: Request, fmt: str, cursor: str | None) -> str:
    url = request.url.remove_query_params("cursor").include_query_params(f=fmt)
    return str(url.include_query_params(cursor=cursor) if cursor is not None else url)


def _filtered(conn, layer: Layer, q, timeout_ms: int):
    """The page and its numberMatched.  With a filter, the statements run under a time limit of their own
    (``ogc_filter_timeout_ms``; the connection's own limit is restored after them): a filter that matches too
    rarely to fill the page soon is a 400 naming the filter, not a worker held for the server's 30 s (a 504)."""
    if q.filter is None:
        return read_page(conn, layer, q), number_matched(conn, layer, q)
    with conn.cursor() as cur:
        # (a session setting, reset below: each statement of a pooled connection is its own transaction)
        cur.execute("SET statement_timeout = %s", (f"{timeout_ms}ms",))
    try:
        return read_page(conn, layer, q), number_matched(conn, layer, q)
    except psycopg2.errors.QueryCanceled:
        raise bad("filter", f"it matched too rarely to fill a page of {q.limit} within {timeout_ms / 1000:g} s "
                            "(the rows are read in id order and tested one by one); narrow the request with bbox "
                            "or datetime, or make the filter more selective, or ask for a smaller limit") from None
    finally:
        _restore_timeout(conn)


RESET_TRIES = 3


def _restore_timeout(conn) -> None:
    """Back to the pool's -c statement_timeout.  The RESET itself runs under the filter's limit, which a loaded
    server may pass even for it (seen with a limit of 1 ms in the tests): tried again, and a connection that still
    holds the short limit is closed rather than pooled."""
    for _ in range(RESET_TRIES):
        try:
            with conn.cursor() as cur:
                cur.execute("RESET statement_timeout")
            return
        except psycopg2.errors.QueryCanceled:
            continue
    conn.close()


@router.get("/collections/{collectionId}/items")
def items(request: Request, conn: Connection, collectionId: str):  # noqa: N803
    as_html = _as_html(request, ITEMS_PARAMS)
    layer = _layer(request, conn, collectionId)
    q = item_query(layer, request.query_params)
    page, matched = _filtered(conn, layer, q, request.app.state.settings.ogc_filter_timeout_ms)
    links = [link(_page_url(request, "json", request.query_params.get("cursor")), "self", GEOJSON, "This page"),
             link(_page_url(request, "html", request.query_params.get("cursor")), "alternate", HTML,
                  "This page as HTML")]
    for rel, due, cursor in (("prev", page.more_before, f"p{page.first}"), ("next", page.more_after,
                                                                              f"n{page.last}")):
        if due:
            links += [link(_page_url(request, "json", cursor), rel, GEOJSON, f"The {rel} page"),
                      link(_page_url(request, "html", cursor), rel, HTML, f"The {rel} page as HTML")]
    collection_url = f"{_base(request)}/collections/{layer.id}"
    links.append(link(collection_url, "collection", JSON, layer.title))
    tail = {"numberReturned": len(page.features), "timeStamp": dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds").replace("+00:00", "Z"), "links": links}
    if matched is not None:
        tail["numberMatched"] = matched
    if as_html:
        features = [json.loads(f) for f in page.features]
        return HTMLResponse(html.items(layer.title, collection_url, features, links, _base(request), matched))
    text = json.dumps(tail, ensure_ascii=False)
    return Response('{"type":"FeatureCollection","features":[' + ",".join(page.features) + "]," + text[1:],
                    media_type=GEOJSON)


@router.get("/collections/{collectionId}/items/{featureId}")
def feature(request: Request, conn: Connection, collectionId: str, featureId: str):  # noqa: N803
    as_html = _as_html(request)
    layer = _layer(request, conn, collectionId)
    try:
        fid = parse_key(layer, featureId, "featureId")
    except OgcError:
        fid = None  # an id this layer cannot have: no such feature
    text = read_one(conn, layer, fid) if fid is not None else None
    if text is None:
        raise OgcError(404, "NotFound", f"no feature {featureId!r} in {layer.id}")
    collection_url = f"{_base(request)}/collections/{layer.id}"
    if as_html:
        return HTMLResponse(html.feature(layer.title, collection_url, json.loads(text), _base(request)))
    url = f"{collection_url}/items/{featureId}"
    links = [link(url, "self", GEOJSON, "This feature"),
             link(f"{url}?f=html", "alternate", HTML, "This feature as HTML"),
             link(collection_url, "collection", JSON, layer.title)]
    return Response(text[:-1] + ',"links":' + json.dumps(links, ensure_ascii=False) + "}", media_type=GEOJSON)
