"""The JSON documents of OGC API – Features: landing page, conformance, collections, one collection (with its
extent from the data), queryables and the OpenAPI 3.0 description of /ogc.  Links are absolute, made from the
request's base URL."""

from __future__ import annotations

from api.cql2 import FILTER_LANGS
from api.ogc.extents import Extents
from api.ogc.filters import FILTER_CRS
from api.ogc.filters import queryables as layer_queryables
from api.ogc.items import CRS84, DEFAULT_LIMIT, MAX_LIMIT
from api.ogc.layers import FIXED, H3_PREFIX, Layer, h3_layer, h3_resolution

GEOJSON, JSON, HTML = "application/geo+json", "application/json", "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA_JSON = "application/schema+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    # Part 3 (filtering) and CQL2: the filter parameter on items, CQL2 text with the basic spatial functions
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
]
TITLE = "riskmap"
DESCRIPTION = ("riskmap's layers (enterprises, tailings ponds, venues, pipeline segments, hidden dangers, county and "
               "H3 cell risk) with their risk score and level, and the routes of the inspection plans, as OGC API – "
               "Features.")


def all_layers(extents: Extents) -> list[Layer]:
    return list(FIXED.values()) + [h3_layer(r) for r in extents.h3_resolutions()]


def find_layer(extents: Extents, layer_id: str) -> Layer | None:
    """The layer of this collection id, or None (an H3 resolution that is not stored is no collection)."""
    if layer_id in FIXED:
        return FIXED[layer_id]
    res = h3_resolution(layer_id) if layer_id.startswith(H3_PREFIX) else None
    if res is not None and res in extents.h3_resolutions():
        return h3_layer(res)
    return None


# (JSON links carry no f=json: JSON is what a client that does not ask for HTML gets, and GDAL 3.6 reads a feature
# by its id by appending "/<id>" to the items link)
def link(href: str, rel: str, type_: str, title: str | None = None) -> dict:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def landing(base: str) -> dict:
    return {"title": TITLE, "description": DESCRIPTION, "links": [
        link(base, "self", JSON, "This document"),
        link(f"{base}?f=html", "alternate", HTML, "This document as HTML"),
        link(f"{base}/api", "service-desc", OPENAPI_JSON, "The API definition (OpenAPI 3.0)"),
        link(f"{base}/api?f=html", "service-doc", HTML, "The API definition as HTML"),
        link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
        link(f"{base}/collections", "data", JSON, "The collections"),
    ]}


def conformance() -> dict:
    return {"conformsTo": CONFORMANCE}


def _extent(extents: Extents, layer: Layer) -> dict:
    row = extents.row(layer)
    extent: dict = {}
    if row[0] is not None:
        extent["spatial"] = {"bbox": [[round(v, 7) for v in row[:4]]], "crs": CRS84}
    if layer.date:
        first, last = row[4], row[5]
        extent["temporal"] = {"interval": [[first.isoformat() if first else None,
                                            last.isoformat() if last else None]], "trs":
                              "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return extent


def collection(extents: Extents, layer: Layer, base: str) -> dict:
    url = f"{base}/collections/{layer.id}"
    doc = {
        "id": layer.id, "title": layer.title, "description": layer.description, "itemType": "feature",
        "crs": [CRS84], "storageCrs": CRS84,
        "extent": _extent(extents, layer),
        "properties": {p.name: p.schema() for p in layer.props},
        "links": [
            link(url, "self", JSON, layer.title),
            link(f"{url}?f=html", "alternate", HTML, f"{layer.title} as HTML"),
            link(f"{url}/items", "items", GEOJSON, f"The features of {layer.title}"),
            link(f"{url}/items?f=html", "items", HTML, f"The features of {layer.title} as HTML"),
            link(f"{url}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", SCHEMA_JSON,
                 "Queryable properties"),
            # (the relation's name before OGC's URI, which GDAL 3.6 looks for)
            link(f"{url}/queryables", "queryables", SCHEMA_JSON, "Queryable properties"),
        ],
    }
    if layer.date:
        doc["description"] += f" Dated by {layer.date} (the datetime parameter filters on it)."
    return doc


def collections(extents: Extents, base: str) -> dict:
    return {"links": [link(f"{base}/collections", "self", JSON, "The collections"),
                      link(f"{base}/collections?f=html", "alternate", HTML, "The collections as HTML")],
            "collections": [collection(extents, layer, base) for layer in all_layers(extents)]}


def queryables(layer: Layer, base: str) -> dict:
    """A JSON Schema of the properties a filter may name, exactly the layer's ``Queryable``s (OGC API – Features
    Part 3 queryables).  ``queryables``, a list of the names, is the form of the drafts before JSON Schema, which
    GDAL 3.6 reads (a keyword JSON Schema ignores)."""
    names = layer_queryables(layer)
    geometry = {"title": "geometry", "description": "The feature's geometry.", "format": "geometry-any",
                "x-ogc-role": "primary-geometry"}
    props = {p.name: p.schema() for p in layer.props if p.name in names}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{base}/collections/{layer.id}/queryables", "type": "object", "title": layer.title,
            "properties": {"geometry": geometry} | props,
            "additionalProperties": False, "queryables": [{"id": name} for name in names if name != "geometry"]}


def _param(name: str, description: str, schema: dict, where: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": where, "description": description, "required": required, "schema": schema,
            "style": "form", "explode": False} if where == "query" else \
        {"name": name, "in": where, "description": description, "required": True, "schema": schema}


def _ok(description: str, *types: str) -> dict:
    return {"200": {"description": description, "content": {t: {"schema": {"type": "object"} if t != HTML else
                                                                {"type": "string"}} for t in types}},
            "400": {"$ref": "#/components/responses/InvalidParameter"},
            "404": {"$ref": "#/components/responses/NotFound"}}


def openapi(base: str) -> dict:
    """The OpenAPI 3.0 description of the /ogc endpoints (FastAPI's own /openapi.json is 3.1)."""
    f = _param("f", "The format: json (the default for clients) or html (the default for a browser).",
               {"type": "string", "enum": ["json", "html"]})
    collection_id = _param("collectionId", "The collection's id.", {"type": "string"}, "path")
    feature_id = _param("featureId", "The feature's id (an integer; an area's code for the area layers).",
                        {"type": "string"}, "path")
    items_params = [
        collection_id, f,
        _param("limit", f"Page size, 1 to {MAX_LIMIT} (larger is served as {MAX_LIMIT}).",
               {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        _param("bbox", "minx,miny,maxx,maxy in CRS84 degrees: the features intersecting the box.",
               {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}),
        _param("bbox-crs", "Only CRS84.", {"type": "string", "format": "uri"}),
        _param("datetime", "A date, a date-time or an interval (a/b, ../b, a/..): the features whose date "
                           "(a site's last inspection, a hidden danger's found_on, the day a plan route's plan was "
                           "made: see the collection) lies "
                           "in it; layers without dates ignore it.",
               {"type": "string"}),
        _param("cursor", "The position of a page, from a next or prev link.", {"type": "string"}),
        _param("filter", "A CQL2 text filter on the collection's queryables (/collections/{collectionId}/"
                         "queryables), e.g. level = 'red' AND S_INTERSECTS(geometry, BBOX(118, 39.5, 118.5, 40)). "
                         "A filtered page has a time limit of its own (the server's ogc_filter_timeout_ms, 5 s by "
                         "default): a filter matching too rarely to fill the page within it is a 400 saying how to "
                         "narrow it (bbox, datetime, a smaller limit).",
               {"type": "string"}),
        # (cql-text, the drafts' name, is what GDAL 3.6 looks for before it pushes a -where down)
        _param("filter-lang", "The filter's language: cql2-text (cql-text is taken as the same).",
               {"type": "string", "enum": list(FILTER_LANGS), "default": FILTER_LANGS[0]}),
        _param("filter-crs", "The CRS of the filter's geometries: CRS84 (EPSG:4326 is read the same, longitude "
                             "first).", {"type": "string", "format": "uri", "enum": list(FILTER_CRS),
                                         "default": FILTER_CRS[0]}),
    ]
    return {
        "openapi": "3.0.3",
        "info": {"title": f"{TITLE} – OGC API Features", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": {"summary": "Landing page", "operationId": "getLandingPage", "parameters": [f],
                          "responses": _ok("The landing page.", JSON, HTML)}},
            "/conformance": {"get": {"summary": "Conformance classes", "operationId": "getConformance",
                                     "parameters": [f], "responses": _ok("The conformance classes.", JSON, HTML)}},
            "/api": {"get": {"summary": "This document", "operationId": "getAPI",
                             "responses": _ok("The OpenAPI 3.0 document.", OPENAPI_JSON)}},
            "/collections": {"get": {"summary": "The collections", "operationId": "getCollections",
                                     "parameters": [f], "responses": _ok("The collections.", JSON, HTML)}},
            "/collections/{collectionId}": {"get": {
                "summary": "One collection", "operationId": "describeCollection", "parameters": [collection_id, f],
                "responses": _ok("The collection.", JSON, HTML)}},
            "/collections/{collectionId}/queryables": {"get": {
                "summary": "The collection's queryable properties", "operationId": "getQueryables",
                "parameters": [collection_id], "responses": _ok("A JSON Schema.", SCHEMA_JSON)}},
            "/collections/{collectionId}/items": {"get": {
                "summary": "The collection's features, paged", "operationId": "getFeatures",
                "parameters": items_params, "responses": _ok("A GeoJSON FeatureCollection.", GEOJSON, HTML)}},
            "/collections/{collectionId}/items/{featureId}": {"get": {
                "summary": "One feature", "operationId": "getFeature", "parameters": [collection_id, feature_id, f],
                "responses": _ok("A GeoJSON Feature.", GEOJSON, HTML)}},
        },
        "components": {"responses": {
            "InvalidParameter": {"description": "A parameter is not valid.", "content": {JSON: {"schema": {
                "$ref": "#/components/schemas/exception"}}}},
            "NotFound": {"description": "No such collection or feature.", "content": {JSON: {"schema": {
                "$ref": "#/components/schemas/exception"}}}},
        }, "schemas": {"exception": {"type": "object", "required": ["code"], "properties": {
            "code": {"type": "string"}, "description": {"type": "string"}}}}},
    }
