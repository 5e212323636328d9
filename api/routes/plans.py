"""Inspection plans: POST /plans makes and stores one, GET /plans lists them, GET /plans/{id} serves one as
JSON, GeoJSON, CSV or the printable HTML schedule (issue 6, item 4).

Making a plan searches for up to ``time_limit_s`` seconds (the server caps it: RISKMAP_PLAN_MAX_TIME_S), then
answers 201 with the plan and its Location.  Plans are writes: they need an API key.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.access import Needs, WriteActor
from api.dependencies import Connection
from api.routes import GEOJSON, GeoJSONResponse, Level
from api.routes.features import wants_html
from geo.errors import PlanningError
from geo.planning import schedule
from geo.planning import store as plan_store
from geo.planning.plan import PLAN_KINDS, SERVICE_HOURS, PlanRequest
from geo.planning.planner import make_plan
from geo.supervision.config import SupervisionConfig
from maps.basemaps import basemap
from maps.plan_page import plan_page

router = APIRouter(dependencies=[Needs.viewer], tags=["plans"])
MAX_PLAN_ID = 2**63 - 1
PlanKind = Literal["enterprise", "tailings_pond", "venue"]
SITE_KEY = r"^(enterprise|tailings_pond|venue)\.[0-9]{1,18}$"
CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"


class ServiceBands(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: str = Field(description="The attribute the duration depends on (employees, capacity_10k_m3, "
                                  "floor_area_m2).")
    bands: list[tuple[float, float]] = Field(min_length=1, max_length=20,
                                             description="[smallest size, hours] pairs, sizes increasing.")


class PlanBody(BaseModel):
    """What to plan.  Only ``teams`` and ``days`` are required."""

    model_config = ConfigDict(extra="forbid")
    teams: int = Field(description="Inspection teams (at least 1).")
    days: int = Field(description="Working days of each team (at least 1).")
    area: str | None = Field(None, max_length=20, description="Admin code of the area to inspect; null: everywhere.")
    bases: list[tuple[float, float]] = Field(
        [], max_length=1000, description="[lon, lat] of the teams' base: one for all, or one per team; empty: in "
                                        "the area's part holding the most candidate sites, the point nearest to "
                                        "their centre (everywhere: the candidates' centre).")
    hours_per_day: float = Field(8.0, description="Working hours a day, travel included.")
    day_start: str = Field("08:30", pattern=CLOCK, description="When the working day starts (HH:MM).")
    speed_kmh: float = Field(40.0, description="Travel speed.")
    circuity: float = Field(1.3, description="Road distance over great-circle distance (1 to 5).")
    kinds: list[PlanKind] = Field(list(PLAN_KINDS), max_length=3, description="Kinds of site to visit.")
    min_level: Level = Field("yellow", description="The lowest risk level visited.")
    max_sites: int = Field(2000, description="At most this many candidate sites, worst first (1 to 5,000).")
    must_visit: list[Annotated[str, Field(pattern=SITE_KEY)]] = Field(
        [], max_length=1000, description="Sites that must be inspected, as kind.id (e.g. enterprise.12).")
    overdue: bool = Field(False, description="Sites past the due date of their level's inspection frequency on the "
                                             "first day (precise supervision: GET /supervision) must be inspected.")
    overdue_days: int | None = Field(None, ge=0, le=36500, description=(
        "Override of `overdue`: sites last inspected more than this many days before the first day, whatever their "
        "level, must be re-inspected."))
    look_back: bool = Field(False, description=(
        "Look-back (回头看) sites of the area must be inspected: a major hidden danger rectified or an enforcement "
        "measure lifted (复产复工) within the look-back window before the first day and not inspected since, or a "
        "hidden danger open past its deadline.  Each such stop says why."))
    look_back_days: int | None = Field(None, ge=1, le=3650, description="The look-back window in days; null: the "
                                                                        "supervision settings' (90 by default).")
    time_windows: dict[Annotated[str, Field(pattern=SITE_KEY)],
                       tuple[Annotated[str, Field(pattern=CLOCK)], Annotated[str, Field(pattern=CLOCK)]]] = Field(
        {}, max_length=1000, description='When a site may be inspected: {"venue.7": ["09:00", "11:30"]}.')
    service_hours: dict[PlanKind, ServiceBands] | None = Field(
        None, description="Inspection hours by class and size; null: the defaults "
                          + ", ".join(f"{k}: {a} {list(map(list, b))}" for k, (a, b) in SERVICE_HOURS.items()))
    time_limit_s: float = Field(10.0, description="Seconds the solver searches (the server's cap applies).")
    seed: int = Field(1, ge=0, le=2**31 - 1, description="The search's random seed.")
    iterations: int | None = Field(None, ge=1, le=10_000_000, description=(
        "A cap on the search's iterations.  When it ends the search before the time limit, the same request and "
        "seed give the same plan on any machine; with the time limit alone the plan can vary with the machine's "
        "speed."))
    first_day: dt.date | None = Field(None, description="The plan's first day (overdue is counted to it); "
                                                        "null: today.")
    travel: Literal["auto", "roads", "great_circle"] = Field(
        "auto", description="Travel times over the stored road network (roads, searched in riskmap), by great-circle "
                            "distance x circuity (great_circle), or roads when a network is stored (auto).")

    def request(self, max_time_s: float, supervision: SupervisionConfig | None = None) -> PlanRequest:
        if self.time_limit_s > max_time_s:
            raise PlanningError(f"time_limit_s: this server lets a plan search at most {max_time_s:g} s "
                                f"(RISKMAP_PLAN_MAX_TIME_S), got {self.time_limit_s:g}")
        service = dict(SERVICE_HOURS)
        for kind, entry in (self.service_hours or {}).items():
            service[kind] = (entry.size, tuple(tuple(b) for b in entry.bands))
        return PlanRequest(
            teams=self.teams, days=self.days, bases=tuple(tuple(b) for b in self.bases),
            hours_per_day=self.hours_per_day, day_start=self.day_start, speed_kmh=self.speed_kmh,
            circuity=self.circuity, area=self.area, kinds=tuple(self.kinds), min_level=self.min_level,
            max_sites=self.max_sites, time_limit_s=self.time_limit_s, seed=self.seed,
            must_visit=tuple(self.must_visit), overdue=self.overdue, overdue_days=self.overdue_days,
            look_back=self.look_back, look_back_days=self.look_back_days, supervision=supervision,
            time_windows={k: tuple(v) for k, v in self.time_windows.items()}, service_hours=service,
            today=self.first_day, travel=self.travel, iterations=self.iterations)


class LookBackReason(BaseModel):
    reason: Literal["major_danger_rectified", "enforcement_lifted", "danger_overdue"]
    record: Literal["hidden_danger", "enforcement_action"]
    record_id: int
    source_id: str
    date: str = Field(description="When it was rectified, lifted, or the deadline that passed (YYYY-MM-DD).")
    detail: str = Field(description="The danger's description, or the measure lifted.")


class Stop(BaseModel):
    seq: int
    kind: str
    id: int
    source_id: str
    name: str
    level: Level
    score: float
    lon: float
    lat: float
    arrival: str = Field(description="HH:MM")
    start: str = Field(description="When the inspection starts (after waiting for a time window).")
    departure: str
    inspection_h: float
    km_from_previous: float
    must_visit: str | None = Field(description="Why it must be visited: named, look_back or overdue; null: "
                                               "optional.")
    time_window: list[str] | None
    last_inspection: str | None = Field(None, description="The last inspection: recorded, else the register's date.")
    next_due: str | None = Field(None, description="When it is due: its level's frequency after the last inspection "
                                                   "(with `overdue`), or `overdue_days` after it (with that "
                                                   "override); null: not judged, or never inspected.")
    days_overdue: int | None = Field(None, description="An overdue must-visit stop: days from its due date to the "
                                                       "plan's first day; null when it was never inspected (overdue "
                                                       "whatever the date) or is not overdue.")
    look_back: list[LookBackReason] | None = Field(None, description="Why it is a look-back stop; null: it is not.")


class Day(BaseModel):
    day: int
    leave: str
    back: str | None
    hours: float
    km: float
    risk: float
    path: list[list[float]] | None = Field(None, description="The line the day's route follows along the roads "
                                                              "([lon, lat] pairs), when a road network gave the "
                                                              "travel times; null: straight legs.")
    stops: list[Stop]


class TeamPlan(BaseModel):
    team: int
    name: str
    base: list[float]
    days: list[Day]
    km: float
    risk: float
    visits: int


class LeftOut(BaseModel):
    kind: str
    id: int
    source_id: str
    name: str
    score: float
    reason: Literal["beyond_a_day", "time_window", "days_full", "no_road"]
    detail: str


class Totals(BaseModel):
    candidates: int
    candidate_risk: float
    risk_covered: float
    risk_share: float = Field(description="Risk covered over the candidates' risk (0-1).")
    visits: int
    km: float
    by_level: dict[str, dict[str, int]] = Field(description="Per level, candidates and visited.")
    red_left_out: list[LeftOut]
    red_beyond_max_sites: int
    must_visit: int
    look_back: int | None = Field(None, description="Candidates that are look-back sites.")
    overdue: int | None = Field(None, description="Candidates that are overdue must-visits.")


class StoredPlan(BaseModel):
    id: int
    created_at: str
    model_version: str | None
    request: dict[str, Any]
    teams: list[TeamPlan]
    totals: Totals


class PlanSummary(BaseModel):
    id: int
    created_at: str
    created_by: str
    area: str | None
    teams: int
    days: int
    risk_share: float
    model_version: str | None
    totals: dict[str, Any]


@router.post("/plans", response_model=StoredPlan, status_code=201,
             summary="Make and store an inspection plan", dependencies=[Needs.planner],
             responses={422: {"description": "A plan that cannot be made as asked, and why (problem+json)."}})
def create_plan(request: Request, conn: Connection, actor: WriteActor, body: PlanBody) -> JSONResponse:
    """Choose which sites each team inspects on each day and in what order, so that the most risk is covered
    within the teams' working days: a team orienteering problem with time windows, solved by PyVRP with the
    given seed and time limit.  Travel: over the stored road network (searched in riskmap) when there is one, else
    great-circle distance x circuity at the teams' speed.  The plan is stored
    and returned with its id; no teams, no hours, an unknown area, or a must-visit site that cannot be visited
    (which, and why) are 422.  The stored plan keeps who made it (``created_by``: api:<key fingerprint>)."""
    req = body.request(request.app.state.settings.plan_max_time_s, request.app.state.supervision)
    req.check()  # a bad request is 422 before the database is needed (and while it is down)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyVRP's search notes; every route is checked exactly
        doc = plan_store.save(conn.raw(), make_plan(conn.raw(), req), actor)
    return JSONResponse(doc, status_code=201, headers={"Location": f"/plans/{doc['id']}"})


@router.get("/plans", response_model=list[PlanSummary], summary="Stored plans, newest first")
def list_plans(conn: Connection,
               limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 50) -> list[dict]:
    return plan_store.recent(conn, limit)


@router.get("/plans/{id}", response_model=StoredPlan, summary="One stored plan",
            responses={200: {"content": {GEOJSON: {"schema": {"type": "object"}},
                                         "text/csv": {"schema": {"type": "string"}},
                                         "text/html": {"schema": {"type": "string"}}}},
                       404: {"description": "No plan has this id (problem+json)."}})
def get_plan(
    request: Request,
    conn: Connection,
    id: Annotated[int, PathParam(ge=1, le=MAX_PLAN_ID, description="The plan's id.")],
    format: Annotated[Literal["json", "geojson", "csv", "html"] | None, Query(
        description="json (the plan), geojson (routes and numbered stops), csv (one row per stop) or html (the "
                    "printable schedule); by default html for a browser, else json.")] = None,
    lang: Annotated[Literal["zh", "en"], Query(description="The page's language (html only).")] = "zh",
):
    """The plan: per team and day the ordered stops with arrival and departure times, km and risk covered; the
    totals, with the red sites left out and why."""
    doc = plan_store.load(conn, id)
    if format is None:
        format = "html" if wants_html(request) else "json"
    if format == "geojson":
        return GeoJSONResponse(schedule.as_geojson(doc))
    if format == "csv":
        return Response(schedule.as_csv(doc), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="plan-{id}.csv"'})
    if format == "html":
        settings = request.app.state.settings
        return HTMLResponse(plan_page(doc, basemap(settings.basemap, settings.basemap_key), lang))
    return JSONResponse(doc)
