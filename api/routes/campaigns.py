"""City campaigns over HTTP (issue 17, item 3): POST /campaigns starts one in the background and answers 202 with
its Location; GET /campaigns/{id} shows its state (queued, running with its progress, done with the stored
plan's id, failed with the error); DELETE /campaigns/{id} stops it and stores the best plan found so far.

The request is checked before anything starts, on the request's own connection (the caller's scope): the body's
fields as the command line checks its options, the area, the named sites, and whether the required visits can
be made at all, each a 422 naming the field.  The solve itself runs in a process of its own (api/campaigns.py);
the campaign's state is kept in the database, so every server process answers the same for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.access import Needs, WriteActor
from api.dependencies import Connection, request_origin
from api.routes import Level
from api.routes.plans import SITE_KEY, PlanKind
from geo.errors import PlanningError
from geo.planning.campaign import DEFAULT_LIMIT_S, DEFAULT_VISITS, REQUIRED_LEVELS, CampaignRequest, check_must_visits
from geo.planning.plan import PLAN_KINDS, PlanRequest, candidate_sites
from geo.supervision.config import SupervisionConfig

router = APIRouter(dependencies=[Needs.viewer], tags=["campaigns"])
MAX_CAMPAIGN_ID = 2**63 - 1
CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"


class CampaignBody(BaseModel):
    """What to plan: the options of `riskmap campaign`, with the same defaults and checks.  Only ``teams`` is
    required."""

    model_config = ConfigDict(extra="forbid")
    teams: int = Field(description="Inspection teams.")
    days: int = Field(20, description="Working days (Monday to Friday) of the campaign, 1 to 60.")
    area: str | None = Field(None, max_length=20, description="Admin code of the area; null: everywhere (a planner "
                                                              "limited to areas must name one of them).")
    bases: list[tuple[float, float]] = Field(
        [], max_length=1000, description="[lon, lat] of the teams' base: one for all, or one per team; empty: as "
                                        "for a plan (POST /plans).")
    hours_per_day: float = Field(8.0, description="Working hours a day, travel included.")
    day_start: str = Field("08:30", pattern=CLOCK, description="When the working day starts (HH:MM).")
    speed_kmh: float = Field(40.0, description="Travel speed.")
    circuity: float = Field(1.3, description="Road distance over great-circle distance (1 to 5).")
    kinds: list[PlanKind] = Field(list(PLAN_KINDS), max_length=3, description="Kinds of site to visit.")
    min_level: Level = Field("blue", description="The lowest risk level visited.")
    max_sites: int = Field(5000, description="At most this many candidate sites, worst first (1 to 5,000).")
    visits: dict[Level, int] = Field(dict(DEFAULT_VISITS), description=(
        "Visits of a site in the campaign, by level (0 to the campaign's days); levels left out keep their "
        "default (red 2, the others 1)."))
    required_levels: list[Level] = Field(list(REQUIRED_LEVELS), max_length=4, description=(
        "Levels whose every visit is required, like a must-visit site's; the other levels' visits are worth "
        "their risk."))
    spacing_days: int = Field(5, description="Working days between two visits of one site, at least (0 to 260).")
    overnight_h: float = Field(1.0, description="A team whose day ends more than this many hours of travel from "
                                                "its base sleeps there and starts the next day there.")
    must_visit: list[Annotated[str, Field(pattern=SITE_KEY)]] = Field(
        [], max_length=1000, description="Sites that must be inspected, as kind.id (e.g. enterprise.12).")
    overdue: bool = Field(False, description="Sites past the due date of their level's inspection frequency on "
                                             "the first day must be inspected.")
    overdue_days: int | None = Field(None, ge=0, le=36500, description="Override of `overdue`: sites last "
                                                                       "inspected more than this many days ago.")
    look_back: bool = Field(False, description="Look-back (回头看) sites must be inspected.")
    look_back_days: int | None = Field(None, ge=1, le=3650, description="The look-back window in days.")
    first_day: dt.date | None = Field(None, description="The campaign's first day; null: today.")
    time_limit_s: float = Field(DEFAULT_LIMIT_S, description="Seconds for the whole campaign's search (the "
                                                             "server's cap applies: RISKMAP_CAMPAIGN_MAX_TIME_S).")
    seed: int = Field(1, ge=0, le=2**31 - 1, description="The search's random seed.")

    def request(self, max_time_s: float, supervision: SupervisionConfig | None) -> CampaignRequest:
        if self.time_limit_s > max_time_s:
            raise PlanningError(f"time_limit_s: this server lets a campaign search at most {max_time_s:g} s "
                                f"(RISKMAP_CAMPAIGN_MAX_TIME_S), got {self.time_limit_s:g}")
        req = PlanRequest(
            teams=self.teams, days=self.days, bases=tuple(tuple(b) for b in self.bases),
            hours_per_day=self.hours_per_day, day_start=self.day_start, speed_kmh=self.speed_kmh,
            circuity=self.circuity, area=self.area, kinds=tuple(self.kinds), min_level=self.min_level,
            max_sites=self.max_sites, seed=self.seed, must_visit=tuple(self.must_visit), overdue=self.overdue,
            overdue_days=self.overdue_days, look_back=self.look_back, look_back_days=self.look_back_days,
            today=self.first_day, travel="great_circle",
            supervision=supervision if self.overdue or self.look_back else None)
        return CampaignRequest(req, visits={**DEFAULT_VISITS, **self.visits}, spacing_days=self.spacing_days,
                               overnight_h=self.overnight_h, required_levels=tuple(self.required_levels),
                               time_limit_s=self.time_limit_s)


class Progress(BaseModel):
    elapsed_s: float = Field(description="Seconds since the search started.")
    days_done: int = Field(description="Working days planned so far.")
    risk_covered: float = Field(description="Risk covered by the days planned so far (the best plan so far).")


class Server(BaseModel):
    host: str = Field(description="Its host's name.")
    pid: int = Field(description="Its process id on that host.")
    worker_pid: int | None = Field(description="The process solving the campaign (the server's child), once it has "
                                             "started.")


class CampaignState(BaseModel):
    id: int
    state: Literal["queued", "running", "done", "failed"]
    created_by: str
    area: str | None
    teams: int
    days: int
    time_limit_s: float
    created_at: str
    started_at: str | None
    finished_at: str | None
    progress: Progress
    cancel_requested: bool = Field(description="A DELETE asked it to stop: it stores its best plan so far.")
    interrupted: bool | None = Field(description="Done: whether its search was stopped before the end (cancelled, "
                                                 "the days left planned greedily).")
    plan_id: int | None = Field(description="Done: the stored plan (GET /plans/{plan_id}).")
    plan: str | None = Field(description="Done: the stored plan's address.")
    error: str | None = Field(description="Failed: why (a campaign whose server stopped says so).")
    totals: dict[str, Any] | None = Field(description="Done: the plan's main totals.")
    server: Server = Field(description="The server process that runs (or ran) the campaign.")


def _runner(request: Request):
    return request.app.state.campaigns


@router.post("/campaigns", response_model=CampaignState, status_code=202, dependencies=[Needs.planner],
             summary="Start a city's campaign in the background",
             responses={202: {"description": "Started; its state is at the Location (GET /campaigns/{id})."},
                        422: {"description": "A campaign that cannot be made as asked, and why (problem+json)."},
                        429: {"description": "As many campaigns as the server runs at a time are running; which "
                                             "(problem+json)."}})
def start_campaign(request: Request, conn: Connection, actor: WriteActor, body: CampaignBody) -> JSONResponse:
    """Plan every working day of a campaign (docs/planning.md, "Campaigns"): each level's sites visited up to its
    number of times with the spacing asked, must-visit sites always, teams sleeping where their day ended when
    their base is far.  Checked here (a 422 naming the field), then solved in the background within
    ``time_limit_s``; the plan is stored when it ends (or is cancelled) and its id shows in the campaign's
    state.  A planner limited to areas plans the sites of their areas only, and names one of them."""
    settings = request.app.state.settings
    principal = request.state.principal
    creq = body.request(settings.campaign_max_time_s, request.app.state.supervision)
    creq.check()
    if principal.scoped and creq.sites.area is None:
        raise PlanningError(f"area: {principal.actor} plans in {', '.join(principal.areas)} only; name the area "
                            f"of the campaign")
    cands = candidate_sites(conn.raw(), creq.sites)  # the caller's scope: their areas' sites only
    check_must_visits(creq, cands, creq.sites.team_bases(cands.default_base))
    run = _runner(request).start(creq, cands, principal.areas, actor, *request_origin(request),
                                 request=body.model_dump(mode="json"))
    return JSONResponse(run.as_dict(), status_code=202, headers={"Location": f"/campaigns/{run.id}"})


@router.get("/campaigns", response_model=list[CampaignState], summary="The latest 100 campaigns, newest first")
def list_campaigns(request: Request, conn: Connection) -> list[dict]:
    """Those of your areas only, for a user limited to areas."""
    return [r.as_dict() for r in _runner(request).list(conn)]


@router.get("/campaigns/{id}", response_model=CampaignState, summary="A campaign's state",
            responses={404: {"description": "No campaign has this id, or not in your areas."}})
def get_campaign(request: Request, conn: Connection,
                 id: Annotated[int, PathParam(ge=1, le=MAX_CAMPAIGN_ID, description="The campaign's id.")]) -> dict:
    """queued (its process starting), running (with its progress: seconds, days planned, risk covered so far),
    done (with the stored plan's id), or failed (with the error; a campaign whose server stopped before its end
    reads failed, saying so).  Every server process answers the same."""
    return _runner(request).get(conn, id).as_dict()


@router.delete("/campaigns/{id}", response_model=CampaignState, status_code=202, dependencies=[Needs.planner],
               summary="Stop a campaign and store its best plan so far",
               responses={202: {"description": "Asked to stop; its state says when the plan is stored."},
                          200: {"description": "The campaign had ended already: its state, unchanged."},
                          404: {"description": "No campaign has this id, or not in your areas."}})
def cancel_campaign(request: Request, conn: Connection, actor: WriteActor,
                    id: Annotated[int, PathParam(ge=1, le=MAX_CAMPAIGN_ID, description="The campaign's id.")]
                    ) -> JSONResponse:
    """The search stops: the day being searched keeps its best routes, the days left are planned greedily, and
    that whole plan is stored (the campaign's state turns to done with its plan's id, ``interrupted`` true).  A
    campaign that has ended is left as it is.  Any server process may be asked: the one running the campaign hears
    of it within about a second."""
    run = _runner(request).cancel(conn, id, actor)
    state = run.as_dict()
    return JSONResponse(state, status_code=202 if state["state"] in ("queued", "running") else 200)
