"""GET /records/summary: what an area's records say about a period, counted (geo/records/summary.py).  The monthly
report (riskmap report) takes its record numbers from the same function."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.access import Needs
from api.dependencies import Connection
from api.errors import field_error
from api.routes.risk_list import AREA_PATTERN
from geo.records.summary import PeriodError, area_summary

router = APIRouter(dependencies=[Needs.viewer], tags=["records"])


class InspectionTypes(BaseModel):
    routine: int
    special: int
    comprehensive: int
    look_back: int = Field(description="Look-back (回头看) inspections.")


class InspectionOutcomes(BaseModel):
    no_findings: int
    dangers_found: int
    enforcement: int
    not_inspected: int = Field(description="Visits that found the site not working (停产未检): not an inspection.")
    not_recorded: int


class InspectionCounts(BaseModel):
    total: int = Field(description="Inspections dated in the period (visits that found nobody included).")
    sites_inspected: int = Field(description="Sites inspected at least once (outcome other than not_inspected).")
    not_inspected: int
    by_type: InspectionTypes
    by_outcome: InspectionOutcomes


class DangerCounts(BaseModel):
    found: int = Field(description="Hidden dangers found in the period.")
    found_major: int = Field(description="… of them major (重大事故隐患).")
    rectified: int = Field(description="Rectified in the period.")
    verified: int = Field(description="Verified (closed, 销号) in the period.")
    reopened: int = Field(description="Reopened in the period.")
    open_at_end: int = Field(description="Open or reopened on the period's last day (their status that day).")
    open_major_at_end: int
    overdue_at_end: int = Field(description="Open on the last day with their deadline before it.")
    overdue_major_at_end: int


class Measures(BaseModel):
    rectify_order: int
    suspension: int
    closure: int
    fine: int


class EnforcementCounts(BaseModel):
    decided: int = Field(description="Enforcement actions decided in the period.")
    by_measure: Measures
    fines_yuan: float = Field(description="The fines decided in the period, in yuan.")
    lifted: int = Field(description="Measures lifted in the period.")
    suspensions_lifted: int = Field(description="Suspensions lifted in the period (复产复工).")
    in_force_at_end: int = Field(description="Measures (not fines) decided by the last day and not lifted by then.")
    suspended_at_end: int = Field(description="… of them suspensions and closures.")


class AccidentClasses(BaseModel):
    general: int
    relatively_serious: int
    serious: int
    especially_serious: int


class AccidentCounts(BaseModel):
    total: int = Field(description="Accidents in the period whose point lies in the area.")
    deaths: int
    serious_injuries: int
    by_class: AccidentClasses
    synthetic: int = Field(description="… of them flagged synthetic (the demo's).")


class RecordSummary(BaseModel):
    area: str | None
    period: dict[str, str] = Field(description="from and to, inclusive.")
    inspections: InspectionCounts
    hidden_dangers: DangerCounts
    enforcement: EnforcementCounts
    accidents: AccidentCounts


@router.get("/records/summary", response_model=RecordSummary, summary="An area's records of a period, counted",
            responses={404: {"description": "Unknown area (problem+json)."},
                       422: {"description": "A bad date or a period that ends before it begins (problem+json "
                                            "naming the parameter)."}})
def record_summary(
    conn: Connection,
    first: Annotated[dt.date, Query(alias="from", description="The period's first day (YYYY-MM-DD).")],
    last: Annotated[dt.date, Query(alias="to", description="The period's last day, inclusive.")],
    area: Annotated[str | None, Query(pattern=AREA_PATTERN, description="An admin code: the records of the sites "
                                      "whose point lies in it (as the supervision list places them), and the "
                                      "accidents in it; default everywhere.", examples=["130203"])] = None,
):
    """Counts of the records of a period: inspections (by type and outcome, the sites inspected), hidden dangers
    (found, major, rectified, verified and reopened in the period; open, open major and overdue on its last day,
    each danger with the status it had that day), enforcement actions (decided by measure, fines, lifted,
    suspensions lifted; in force on the last day) and accidents (by class, deaths, serious injuries)."""
    try:
        counts = area_summary(conn, first, last, area)
    except PeriodError as e:
        raise field_error(e.field, str(e)) from None
    return JSONResponse({"area": area, "period": {"from": first.isoformat(), "to": last.isoformat()}, **counts})
