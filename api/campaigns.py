"""City campaigns made in the background (POST /campaigns, issue 17 item 3): the solve takes minutes, so it runs
in a process of its own and the request answers at once.

Each campaign is solved in a worker process (``_campaign_worker``, started from the same "forkserver" as the
scoring process, api/rescoring.py, at a lower CPU priority): the planner is CPU-bound Python and C++ work that
would otherwise hold the interpreter the request threads need, for minutes.  The process gets the request and the
candidate sites (read and checked in the request, on its connection with the caller's scope, so that a campaign
that cannot be made is a 422 at once), solves it with ``geo.planning.campaign.plan_campaign``, and stores the
plan on a connection of its own that acts as the caller: scoped to the caller's areas (row-level security, as a
request's connection, api/dependencies.py) and tagged with the caller's name, address and request for the audit
trail.  It reports its progress (about once a second) and its end down a queue, which a thread of this process
reads into the campaign's state (``GET /campaigns/{id}``).

Cancelling (``DELETE /campaigns/{id}``) sets an event the search asks about: the day being searched keeps its
best routes, the days left are planned greedily, and that whole, feasible plan is stored (geo/planning/
campaign.py).  At most ``campaign_max_running`` campaigns run at a time (RISKMAP_CAMPAIGN_MAX_RUNNING, 1 by
default: a campaign takes a core for its whole time limit); another one is refused with 429 naming the
campaigns in the way.  The state is kept by the server process that runs the campaign (a server with several
worker processes, ``riskmap serve --workers N``, answers ``GET /campaigns/{id}`` from the process that took the
POST only); the stored plan is in the database for every process.  At shutdown a running campaign is cancelled
and given a little time to store its best plan.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field

from geo.errors import NotFound, RiskmapError

log = logging.getLogger("riskmap.campaigns")

NICE = 10  # the campaign process's CPU priority below the API's
KEEP_FINISHED = 100  # finished campaigns whose state is kept (the oldest forgotten first)
SHUTDOWN_WAIT_S = 20.0  # at shutdown, how long a cancelled campaign may take to store its best plan


class CampaignsBusy(RiskmapError):
    """As many campaigns as the server runs at a time are running already."""


@dataclass
class CampaignRun:
    """One campaign's state, as ``GET /campaigns/{id}`` shows it."""

    id: int
    created_by: str
    area: str | None
    areas: tuple[str, ...]  # the areas of the user who asked (empty: every area)
    teams: int
    days: int
    time_limit_s: float
    state: str = "queued"  # queued, running, done, failed
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    days_done: int = 0
    risk_covered: float = 0.0
    seconds: float = 0.0
    plan_id: int | None = None
    error: str | None = None
    cancel_requested: bool = False
    interrupted: bool | None = None  # a done campaign: whether its search was stopped (cancelled) before the end
    totals: dict | None = None
    _cancel: object = None  # the multiprocessing Event the search asks about
    _process: object = None

    def as_dict(self) -> dict:
        iso = lambda t: None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
        doc = {"id": self.id, "state": self.state, "created_by": self.created_by, "area": self.area,
               "teams": self.teams, "days": self.days, "time_limit_s": self.time_limit_s,
               "created_at": iso(self.created_at), "started_at": iso(self.started_at),
               "finished_at": iso(self.finished_at),
               "progress": {"elapsed_s": round(self.seconds, 1), "days_done": self.days_done,
                            "risk_covered": round(self.risk_covered, 2)},
               "cancel_requested": self.cancel_requested, "interrupted": self.interrupted,
               "plan_id": self.plan_id, "plan": f"/plans/{self.plan_id}" if self.plan_id else None,
               "error": self.error, "totals": self.totals}
        return doc

    def visible_to(self, areas: tuple[str, ...]) -> bool:
        """Whether a principal limited to ``areas`` (empty: every area) may see this campaign: one of every area
        sees them all; one limited to areas, those made by someone limited to the same areas, or for an area of
        theirs."""
        return not areas or (self.area in areas) or (bool(self.areas) and set(self.areas) <= set(areas))


def _campaign_worker(url: str, creq, cands, areas: list[str], writer: str, client: str | None, origin: str,
                     updates, cancel) -> None:
    """The campaign process: solve, store as the caller, report down ``updates``."""
    try:
        os.nice(NICE)
    except OSError:
        pass
    import warnings

    started = time.monotonic()
    try:
        from api.dependencies import SCOPE
        from geo import audit, store
        from geo.errors import PlanningError
        from geo.planning import store as plan_store
        from geo.planning.campaign import plan_campaign

        updates.put(("running", {}))

        def progress(day, _days, seconds, _limit, risk):
            updates.put(("progress", {"days_done": day, "seconds": seconds, "risk_covered": risk}))

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PyVRP's search notes; every route is checked exactly
                doc = plan_campaign(creq, cands, progress=progress, cancel=cancel.is_set)
        except PlanningError as e:
            updates.put(("failed", {"error": str(e)}))
            return
        conn = store.connect(url, application_name="riskmap-campaign")
        try:
            if areas:
                with conn, conn.cursor() as cur:
                    cur.execute(SCOPE, {"areas": areas})
            audit.tag(conn, writer, client, origin)
            saved = plan_store.save(conn, doc, writer)
        finally:
            conn.close()
        updates.put(("done", {"plan_id": saved["id"], "seconds": time.monotonic() - started,
                              "interrupted": doc["solver"]["interrupted"],
                              "risk_covered": doc["totals"]["risk_covered"],
                              "totals": {k: doc["totals"][k] for k in (
                                  "candidates", "visits", "sites_visited", "risk_covered", "risk_share",
                                  "risk_per_team_day", "must_visit", "must_visit_visited", "required_visits",
                                  "required_visits_missed", "overnight_stays")}}))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which logs it
        updates.put(("failed", {"error": "the campaign could not be made or stored (the server's log says why)",
                                "detail": "".join(traceback.format_exception_only(e)).strip()}))


class CampaignRunner:
    """The campaigns of this server process: started, followed, cancelled."""

    def __init__(self, url: str, max_running: int = 1):
        self.url = url
        self.max_running = max_running
        self._runs: dict[int, CampaignRun] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closed = False

    def start(self, creq, cands, areas: tuple[str, ...], writer: str, client: str | None, origin: str) -> CampaignRun:
        """Start a campaign over ``cands`` in the background (``CampaignsBusy`` when as many as allowed run)."""
        ctx = multiprocessing.get_context("forkserver")
        with self._lock:
            if self._closed:
                raise CampaignsBusy("the server is shutting down; send the campaign again once it is back")
            active = [r for r in self._runs.values() if r.state in ("queued", "running")]
            if len(active) >= self.max_running:
                raise CampaignsBusy(
                    f"{len(active)} campaign{'s' if len(active) > 1 else ''} already running (this server runs "
                    f"at most {self.max_running} at a time: RISKMAP_CAMPAIGN_MAX_RUNNING): "
                    + ", ".join(f"campaign {r.id} by {r.created_by} (GET /campaigns/{r.id})" for r in active)
                    + "; wait for it to end or cancel it (DELETE /campaigns/{id})")
            run = CampaignRun(next(self._ids), writer, creq.sites.area, tuple(areas), creq.sites.teams,
                              creq.sites.days, creq.time_limit_s)
            self._runs[run.id] = run
            self._forget_old()
            updates, cancel = ctx.Queue(), ctx.Event()
            run._cancel = cancel
            process = ctx.Process(target=_campaign_worker, name=f"riskmap-campaign-{run.id}", daemon=True,
                                  args=(self.url, creq, cands, list(areas), writer, client, origin, updates, cancel))
            run._process = process
        try:
            process.start()
        except BaseException as e:
            with self._lock:
                run.state, run.finished_at = "failed", time.time()
                run.error = f"the campaign process did not start: {e}"
            raise
        threading.Thread(target=self._follow, args=(run, process, updates), name=f"riskmap-campaign-{run.id}",
                         daemon=True).start()
        return run

    def get(self, run_id: int, areas: tuple[str, ...]) -> CampaignRun:
        with self._lock:
            run = self._runs.get(run_id)
        if run is None or not run.visible_to(areas):
            raise NotFound(f"no campaign with id {run_id} on this server")
        return run

    def list(self, areas: tuple[str, ...]) -> list[CampaignRun]:
        with self._lock:
            return [r for r in sorted(self._runs.values(), key=lambda r: -r.id) if r.visible_to(areas)]

    def cancel(self, run_id: int, areas: tuple[str, ...], actor: str) -> CampaignRun:
        """Ask a campaign to stop: its best plan so far is stored (a campaign that has ended is left as it is)."""
        run = self.get(run_id, areas)
        with self._lock:
            if run.state in ("queued", "running"):
                run.cancel_requested = True
                run._cancel.set()
                log.info("campaign %s cancelled by %s", run.id, actor)
        return run

    def _follow(self, run: CampaignRun, process, updates) -> None:
        """Read the campaign process's reports into its state until it ends."""
        ended = False
        while not ended:
            try:
                what, data = updates.get(timeout=1.0)
            except queue.Empty:
                if not process.is_alive():
                    try:  # (its last report may have come in just before it ended)
                        what, data = updates.get(timeout=1.0)
                    except queue.Empty:
                        with self._lock:
                            run.state, run.finished_at = "failed", time.time()
                            run.error = (f"the campaign process ended with exit code {process.exitcode} before "
                                         f"storing a plan")
                        log.error("campaign %s: %s", run.id, run.error)
                        break
                else:
                    continue
            with self._lock:
                if what == "running":
                    run.state, run.started_at = "running", time.time()
                elif what == "progress":
                    run.days_done, run.seconds, run.risk_covered = (data["days_done"], data["seconds"],
                                                                     data["risk_covered"])
                else:
                    ended = True
                    run.finished_at = time.time()
                    run.seconds = run.finished_at - (run.started_at or run.created_at)
                    if what == "done":
                        run.state, run.plan_id, run.interrupted = "done", data["plan_id"], data["interrupted"]
                        run.risk_covered, run.totals, run.days_done = data["risk_covered"], data["totals"], run.days
                        log.info("campaign %s by %s stored as plan %s", run.id, run.created_by, run.plan_id)
                    else:
                        run.state, run.error = "failed", data["error"]
                        log.error("campaign %s by %s failed: %s", run.id, run.created_by,
                                  data.get("detail") or data["error"])
        process.join(timeout=10)

    def _forget_old(self) -> None:
        done = [r.id for r in sorted(self._runs.values(), key=lambda r: r.id) if r.state in ("done", "failed")]
        for run_id in done[:max(0, len(done) - KEEP_FINISHED)]:
            del self._runs[run_id]

    def close(self) -> None:
        """Cancel the running campaigns, give them a moment to store their best plans, then end them."""
        with self._lock:
            self._closed = True
            running = [r for r in self._runs.values() if r.state in ("queued", "running")]
            for r in running:
                r.cancel_requested = True
                r._cancel.set()
        deadline = time.monotonic() + SHUTDOWN_WAIT_S
        for r in running:
            r._process.join(timeout=max(0.0, deadline - time.monotonic()))
            if r._process.is_alive():
                r._process.terminate()
                r._process.join(timeout=5)
