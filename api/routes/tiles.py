"""GET /tiles/{layer}/{z}/{x}/{y}.mvt (Mapbox Vector Tiles made by PostGIS) and GET /tiles/{layer}.json (TileJSON
3.0.0), issue 16 item 2.

Layers (the ids the OGC collections use too): the sites ``enterprise``, ``tailings_pond`` and ``venue``; the
scored ``pipeline_segment``; the records ``hidden_danger`` (at their site's point); the area risk ``area_county``
and ``area_h3_<res>`` (each configured H3 resolution).
Tiles are in Web Mercator, XYZ scheme (y = 0 at the north), 4096 units a side.  Below ``DETAIL_ZOOM`` sites are
counted per level in a 32 x 32 grid of cells of the tile (read from the counts kept per zoom-14 tile, migration 0026
and api/sql/tiles_sites_cells.sql, for users of every area; counted from the sites they see for a user limited to
areas), and pipeline segments merged per pipeline and level and simplified, so that a tile of a whole region stays
small; areas are simplified to the tile's resolution, and H3 cells are counted per level like sites below the zoom
where a cell is 8 pixels wide (``h3_detail_zoom``).  From ``DETAIL_ZOOM`` a feature carries what a map draws and
labels (its id as the feature id, name, score, level); its top factors are at GET /features/{kind}/{id}.

Caching that is never stale.  A tile's ETag is a hash of its bytes (the SQL orders its rows, so the same data gives
the same bytes): it changes exactly when the tile's content changes, and If-None-Match answers 304.  The data
version (api/sql/tiles_version.sql: the last scoring run, the last change record and the last change of a record,
which the store already keeps) changes whenever anything any tile shows changes; the TileJSON's tiles URL carries it
as ``?v=``, after a hash of how tiles are made (``tile_format``).  The version is read in the same statement as the
tile (one snapshot), so a tile asked for with the current version holds exactly that version's data: it may be kept
(``max-age``, ``immutable``), as another version has other URLs.  A tile asked for without a version, or with
another one, is the current data with ``no-cache`` (the browser asks again, with If-None-Match).  Everything is
``private``: a user limited to areas reads through row-level security and gets a tile of their areas only, and their
version also names their areas.

An empty tile is a 204 with no body (and its ETag): map clients (MapLibre, OpenLayers, QGIS) take a 204 as an
empty tile, and it says so without a protobuf to decode.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any

import h3
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from psycopg2 import sql

from api.access import Needs
from api.dependencies import Connection, RiskModel
from api.lanes import map_read
from api.routes import sql_text
from api.routes.pages import _etag_matches
from geo.errors import NotFound
from geo.risk.aggregate import ADMIN_LEVEL_RES
from geo.risk.framework import LEVELS

router = APIRouter(dependencies=[Needs.viewer], tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22  # tiles are served up to here; TileJSON advertises MAX_DATA_ZOOM (clients overzoom beyond)
MAX_DATA_ZOOM = 16
DETAIL_ZOOM = 10  # sites one by one and pipelines by segment from this zoom; counted / merged below it
EXTENT, BUFFER, CELLS = 4096, 64, 32  # tile units a side, units drawn beyond the edge, count cells a side
# (the counts kept ready, migration 0026, are per zoom-14 tile: the cells of a zoom-9 tile, 32 a side)
if DETAIL_ZOOM - 1 + int(math.log2(CELLS)) != 14:
    raise RuntimeError("site_tile_cell holds zoom-14 tiles: DETAIL_ZOOM - 1 + log2(CELLS) must be 14")
KEEP = "private, max-age=86400, immutable"  # a tile of the current version: its URL changes with the data
REVALIDATE = "private, no-cache"
EQUATOR_KM = 40075.017
WORLD = [-180.0, -85.0511287798066, 180.0, 85.0511287798066]

# (from zoom 10 a feature's id is the site's, segment's or danger's id: GET /features/{kind}/{id} has the rest,
# e.g. the top factors)
SITE_FIELDS = {"name": "String", "score": "Number", "level": "String (blue, yellow, orange, red; absent when unscored)",
               "direct_red": "String (the rule that made it red; absent unless one did)"}
CELL_FIELDS = {"count": "Number (below zoom 10: sites in the cell)", "red": "Number", "orange": "Number",
               "yellow": "Number", "blue": "Number", "unscored": "Number"}
SEGMENT_FIELDS = {"pipeline_id": "Number", "name": "String", "seq": "Number", "score": "Number",
                  "level": "String", "direct_red": "String (absent unless a rule made it red)",
                  "segments": "Number (below zoom 10: the segments merged into the line)"}
AREA_FIELDS = {"id": "String (admin code or H3 cell)", "name": "String (admin areas)", "score": "Number",
               "level": "String", "level_max": "String", "features": "Number (from zoom 10)",
               "population_exposed": "Number (from zoom 10)",
               "counts": "String (JSON: features per class and level; from zoom 10)"}


@dataclass(frozen=True)
class Layer:
    id: str
    description: str
    fields: dict[str, str]
    sql_detail: str  # the api/sql file of its detailed tiles
    sql_low: str  # and of its tiles below detail_zoom
    params: dict[str, Any]
    detail_zoom: int = DETAIL_ZOOM
    counted: str | None = None  # for sql_low "tiles_counted": the api/sql file of the rows it counts
    sql_kept: str | None = None  # below detail_zoom for users of every area: the same tiles from counts kept ready

    def query(self, z: int, scoped: bool = False) -> sql.Composable:
        """The query of its tiles at zoom z (``scoped``: for a user limited to areas, who may not read kept counts)."""
        name = self.sql_detail if z >= self.detail_zoom else self.sql_low
        if z < self.detail_zoom and self.sql_kept and not scoped:
            # the kept counts, or while they wait for a whole count (migration 0031) the sites counted
            return sql.SQL(sql_text("tiles_sites_kept_or_counted")).format(
                kept=self._composed(self.sql_kept), counted=self._composed(name))
        return self._composed(name)

    def _composed(self, name: str) -> sql.Composable:
        """The api/sql file ``name`` with the layer's table and the queries it includes filled in."""
        text = sql_text(name)
        fills: dict[str, sql.Composable] = {}
        if "table" in self.params:
            fills["table"] = sql.Identifier(self.params["table"])
        if "{placed}" in text:
            fills["placed"] = sql.SQL(sql_text("tiles_dangers_placed").strip())
        if "{counted}" in text:
            fills["counted"] = sql.SQL(sql_text(self.counted).strip()).format(**fills)
        return sql.SQL(text).format(**fills) if fills else sql.SQL(text)


def _site(kind: str, title: str) -> Layer:
    return Layer(kind, f"{title}: each site (the feature's id: the site's id) with its name, score and level; "
                       f"below zoom {DETAIL_ZOOM} the sites counted per level in cells of 1/{CELLS} of the tile.",
                 SITE_FIELDS | CELL_FIELDS, "tiles_sites", "tiles_counted", {"table": kind, "kind": kind},
                 counted="tiles_sites_counted", sql_kept="tiles_sites_cells")


SITES = {k: _site(k, t) for k, t in (("enterprise", "Enterprises"), ("tailings_pond", "Tailings ponds"),
                                     ("venue", "Crowded venues"))}
SEGMENTS = Layer("pipeline_segment", "Scored pipeline segments (about 1 km); below zoom "
                                     f"{DETAIL_ZOOM} merged per pipeline and level.",
                 SEGMENT_FIELDS, "tiles_segments", "tiles_segments_merged", {})
DANGER_FIELDS = {"source_id": "String", "name": "String (the site's)", "description": "String",
                 "grade": "String (general, major)", "status": "String (open, rectified, verified, reopened)",
                 "found_on": "String (YYYY-MM-DD)", "deadline": "String (YYYY-MM-DD)", "site_kind": "String",
                 "site_id": "Number", "score": "Number (the site's)", "level": "String (the site's)"}
DANGERS = Layer("hidden_danger", "Hidden dangers (records), each at its site's point with the site's score and "
                                 f"level; below zoom {DETAIL_ZOOM} counted per level in cells of 1/{CELLS} of the "
                                 "tile (with the open and major ones).",
                DANGER_FIELDS | CELL_FIELDS | {"open": "Number", "major": "Number"}, "tiles_dangers",
                "tiles_dangers_cells", {})
PLAN_ROUTES = Layer("plan_route", "The routes of the stored inspection plans: one line per team and working day "
                                   "through its stops in visiting order, with its plan, team, day, stops, km, hours "
                                   "and risk covered.",
                    {"id": "Number (plan id x 10^8 + team x 10^4 + day)", "plan_id": "Number",
                     "created_at": "String (UTC)", "area": "String (admin code)", "team": "Number", "day": "Number",
                     "stops": "Number", "km": "Number", "hours": "Number", "risk": "Number",
                     "leave": "String (HH:MM)", "back": "String (HH:MM)"},
                    "tiles_plan_routes", "tiles_plan_routes", {})
H3_LAYER = re.compile(r"area_h3_([0-9]{1,2})", re.ASCII)


def layer_of(layer: str, model: dict) -> Layer:
    """The layer of this id; a 404 naming the layers there are otherwise."""
    if layer in SITES:
        return SITES[layer]
    if layer == SEGMENTS.id:
        return SEGMENTS
    if layer == DANGERS.id:
        return DANGERS
    if layer == PLAN_ROUTES.id:
        return PLAN_ROUTES
    if layer == "area_county":
        return Layer(layer, "Area risk of the counties.", AREA_FIELDS, "tiles_areas", "tiles_areas",
                     {"area_type": "admin", "resolution": ADMIN_LEVEL_RES["county"]})
    resolutions = sorted(int(r) for r in model["area"]["h3_resolutions"])
    m = H3_LAYER.fullmatch(layer)
    if m and int(m.group(1)) in resolutions:
        resolution = int(m.group(1))
        zoom = h3_detail_zoom(resolution)
        return Layer(layer, f"Area risk of the H3 cells of resolution {resolution}; below zoom {zoom} the cells "
                            f"counted per level in squares of 1/{CELLS} of the tile.", AREA_FIELDS | CELL_FIELDS,
                     "tiles_areas", "tiles_counted", {"area_type": "h3", "resolution": resolution}, zoom,
                     counted="tiles_areas_counted")
    known = [*SITES, SEGMENTS.id, DANGERS.id, PLAN_ROUTES.id, "area_county", *(f"area_h3_{r}" for r in resolutions)]
    raise NotFound(f"no tile layer {layer!r}; the layers are: {', '.join(known)}")


def h3_detail_zoom(resolution: int) -> int:
    """The lowest zoom at which a cell of this H3 resolution is as wide as a count square (1/CELLS of a tile, 8
    pixels of a 256-pixel tile) at the equator: below it its cells are counted, not drawn (5: 6, 7: 9, 9: 12)."""
    width_km = 2 * h3.average_hexagon_edge_length(resolution, unit="km")
    return max(0, math.ceil(math.log2(EQUATOR_KM / (CELLS * width_km))))


def data_version(conn, scoped_areas: list[str]) -> str:
    """The version of the data as this caller sees it (module docstring)."""
    with conn.cursor() as cur:
        cur.execute(sql_text("tiles_version"))
        return _versioned(cur.fetchone()[0], scoped_areas)


@functools.cache
def tile_format() -> str:
    """A hash of how tiles are made (their SQL and constants): part of the version, so that a tile kept under a
    version is never reused after an upgrade that makes it differently."""
    names = ("tiles_sites", "tiles_counted", "tiles_sites_counted", "tiles_sites_cells", "tiles_segments",
             "tiles_segments_merged", "tiles_dangers", "tiles_dangers_cells", "tiles_dangers_placed", "tiles_areas",
             "tiles_areas_counted", "tiles_plan_routes")
    made = "".join(sql_text(n) for n in names) + repr((EXTENT, BUFFER, CELLS, DETAIL_ZOOM))
    return hashlib.sha256(made.encode()).hexdigest()[:8]


def _versioned(version: str, scoped_areas: list[str]) -> str:
    """The data version of the store, with how tiles are made and, for a user limited to areas, those areas."""
    version = f"{tile_format()}.{version}"
    if not scoped_areas:
        return version
    return version + "." + hashlib.sha256(",".join(sorted(scoped_areas)).encode()).hexdigest()[:12]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The XYZ tile (z, x, y) holding a point in degrees (Web Mercator; latitudes beyond its limit clamped)."""
    n = 2**z
    lat = max(min(lat, WORLD[3]), WORLD[1])
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return z, min(max(x, 0), n - 1), min(max(y, 0), n - 1)


LayerId = Annotated[str, Path(description="The layer: enterprise, tailings_pond, venue, pipeline_segment, "
                                          "hidden_danger, area_county or area_h3_<resolution>.", max_length=64)]


@router.get("/tiles/{layer}/{z}/{x}/{y}.mvt", summary="A vector tile of a layer", response_class=Response,
            responses={200: {"content": {MVT: {}}, "description": "The tile (Mapbox Vector Tile 2.1)."},
                       204: {"description": "An empty tile: nothing of the layer meets it."},
                       304: {"description": "Not modified: the tile of the If-None-Match ETag is current."}})
@map_read
def tile(request: Request, conn: Connection, model: RiskModel, layer: LayerId,
         z: Annotated[int, Path(ge=0, le=MAX_ZOOM, description=f"Zoom, 0 to {MAX_ZOOM}.")],
         x: Annotated[int, Path(ge=0, description="Column, 0 to 2^z - 1, from the west.")],
         y: Annotated[int, Path(ge=0, description="Row, 0 to 2^z - 1, from the north (XYZ).")],
         v: Annotated[str | None, Query(max_length=100, description="The data version of the TileJSON's tiles "
                                                                    "URL (caching; any value is accepted).")] = None):
    """One Mapbox Vector Tile of a layer (Web Mercator, XYZ), with a strong ETag (the hash of its bytes) and
    Cache-Control; an empty tile is a 204."""
    spec = layer_of(layer, model)
    if x >= 2**z or y >= 2**z:
        raise NotFound(f"no tile {z}/{x}/{y}: at zoom {z} x and y run from 0 to {2**z - 1}")
    params = {"z": z, "x": x, "y": y, "extent": EXTENT, "buffer": BUFFER, "cells": CELLS, "layer": spec.id,
              "levels": list(LEVELS), "detail": z >= DETAIL_ZOOM, **spec.params}
    query = sql.SQL("SELECT ({}), ({})").format(sql.SQL(sql_text("tiles_version")), spec.query(z, conn.scoped))
    with conn.cursor() as cur:
        cur.execute(query, params)
        version, data = cur.fetchone()
    data = bytes(data)
    version = _versioned(version, list(request.state.principal.areas))
    headers = {"ETag": '"' + hashlib.sha256(data).hexdigest()[:32] + '"',
               "Cache-Control": KEEP if v == version else REVALIDATE, "Vary": "Authorization, Cookie"}
    if _etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(content=data, media_type=MVT, headers=headers)


@router.get("/tiles/{layer}.json", summary="The TileJSON of a layer")
@map_read
def tilejson(request: Request, conn: Connection, model: RiskModel, layer: LayerId):
    """TileJSON 3.0.0 of a layer: its tiles URL (versioned by the data: ``?v=`` changes whenever the data or the
    scores change), zooms, bounds and the fields of its features."""
    spec = layer_of(layer, model)
    version = data_version(conn, list(request.state.principal.areas))
    with conn.cursor() as cur:
        cur.execute(sql_text("tiles_bounds"))
        bounds = cur.fetchone()
    base = str(request.base_url).rstrip("/")
    document = {
        "tilejson": "3.0.0",
        "name": spec.id,
        "description": spec.description,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/{spec.id}/{{z}}/{{x}}/{{y}}.mvt?v={version}"],
        "minzoom": 0,
        "maxzoom": MAX_DATA_ZOOM,
        "bounds": list(bounds) if bounds[0] is not None else WORLD,
        "vector_layers": [{"id": spec.id, "description": spec.description, "fields": spec.fields,
                           "minzoom": 0, "maxzoom": MAX_DATA_ZOOM}],
        "data_version": version,
    }
    return JSONResponse(document, headers={"Cache-Control": REVALIDATE})
