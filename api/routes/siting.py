"""POST /siting-check: the siting red line of a proposed hazardous-chemicals project (项目审批红线).

The route parses the request and serialises the report; the rules, their sources and the queries are in
``geo.siting`` (``riskmap siting-check`` runs the same check from the command line).  Every bad input is a 422
naming the field; nothing is written to the database.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from api.access import Needs
from api.dependencies import Connection, RiskModel
from geo.siting import SitingInputError, SitingReport, check_siting
from geo.siting import siting_params as siting_params  # re-exported: its callers import it from here
from geo.siting.inputs import MAX_NAME

router = APIRouter(dependencies=[Needs.viewer], tags=["siting"])


class SitingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    geometry: dict[str, Any] = Field(description="GeoJSON Point or Polygon in WGS 84 (RFC 7946).")
    chemicals: Any = Field(description='A list of {"name": "氯", "tonnes": 10} (optionally "hazard_category"), '
                                       'or the import\'s text form "氯:10;氨:100".')
    name: str | None = Field(None, max_length=MAX_NAME, description="Project name.")


@router.post("/siting-check", response_model=SitingReport, summary="Siting red line of a proposed project",
             responses={422: {"description": "Bad input, the field named (problem+json)."}})
def siting_check(body: SitingRequest, conn: Connection, model: RiskModel):
    """For a proposed hazardous-chemicals project (a GeoJSON Point or Polygon in WGS 84 and its chemicals), the
    GB 18218 result it would have (people within 500 m, α, S, R, major hazard and level), the settlements, crowded
    venues and existing major hazards within 500 m and the pipelines within 200 m (with their Pipeline Protection
    Law zone), nearest first with geodesic distances, the GB 36894 protected-target classes found within the
    screening radii (an assumption: the standard gives risk criteria, not distances), and plain findings in
    Chinese and English.  A point stands for the whole site: the rings are measured from it."""
    try:
        return check_siting(conn, body.geometry, body.chemicals, body.name, model)
    except SitingInputError as e:  # reported exactly like FastAPI's own validation errors: 422, each field named
        raise RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": message}
                                      for field, message in e.errors]) from None
