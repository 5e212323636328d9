"""GET /allocations: inspection teams shared among admin areas by their risk-weighted enterprises (issue 6,
item 1), as GeoJSON (the areas with their teams), CSV or an HTML map with its table."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.routes import GEOJSON, GeoJSONResponse
from api.routes.features import wants_html
from geo.planning.allocation import allocation_table, parse_weights
from geo.spreadsheet import csv_bytes
from geo.supervision.staffing import county_staffing
from maps.allocation_page import allocation_page
from maps.basemaps import basemap

router = APIRouter(dependencies=[Needs.viewer], tags=["plans"])
CSV_COLUMNS = ("admin_code", "name", "red", "orange", "yellow", "blue", "weight", "teams")


class AreaTeams(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: dict[str, Any] = Field(description="admin_code, name, enterprises per level (red, orange, yellow, "
                                                   "blue), weight, teams, label_point.")


class Allocation(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[AreaTeams]
    teams: int
    level: str
    weights: dict[str, float]


@router.get("/allocations", response_model=Allocation, response_class=GeoJSONResponse,
            summary="Teams allocated to areas by risk",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}},
                                         "text/html": {"schema": {"type": "string"}}}},
                       422: {"description": "No teams, an unknown level or bad weights (problem+json)."}})
def allocations(
    request: Request,
    conn: Connection,
    teams: Annotated[int, Query(ge=1, le=100_000, description="Inspection teams to share.")],
    level: Annotated[Literal["province", "city", "county", "township"], Query(
        description="The admin level of the areas.")] = "county",
    weights: Annotated[str, Query(max_length=200, description="Weight of an enterprise per risk level, e.g. "
                                                              "red=8,orange=4,yellow=2,blue=1 (those not given keep "
                                                              "these defaults).")] = "",
    format: Annotated[Literal["geojson", "csv", "html"] | None, Query(
        description="geojson, csv, or html (a map and a table); by default html for a browser.")] = None,
    lang: Annotated[Literal["zh", "en"], Query(description="The page's language (html only).")] = "zh",
):
    """Teams per area in proportion to the area's enterprises weighted by risk level, by largest remainders;
    every area with a red enterprise gets a team first when there are teams enough.  The HTML page also has a
    layer and a table of each area's yearly need in inspector-days against its staff (GET /supervision/staffing)."""
    table = allocation_table(conn, teams, level, parse_weights(weights))
    if format is None:
        format = "html" if wants_html(request) else "geojson"
    if format == "csv":  # through the one formula-safe writer (an area named =HYPERLINK(...) stays text)
        rows = ([f["properties"][c] for c in CSV_COLUMNS] for f in table["features"])
        return Response(csv_bytes(CSV_COLUMNS, rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="allocation-{teams}.csv"'})
    if format == "html":
        settings = request.app.state.settings
        need = county_staffing(conn, request.app.state.supervision, level)
        return HTMLResponse(allocation_page(table, basemap(settings.basemap, settings.basemap_key), lang,
                                            staffing=need))
    return Response(json.dumps(table, ensure_ascii=False), media_type=GEOJSON)
