"""City campaigns made in the background (POST /campaigns, issue 17 item 3): the solve takes minutes, so it runs
in a process of its own and the request answers at once.

Each campaign is solved in a worker process (``_campaign_worker``, started from the same "forkserver" as the
scoring process, api/rescoring.py, at a lower CPU priority): the planner is CPU-bound Python and C++ work that
would otherwise hold the interpreter the request threads need, for minutes.  The process gets the request and the
candidate sites (read and checked in the request, on its connection with the caller's scope, so that a campaign
that cannot be made is a 422 at once), solves it with ``geo.planning.campaign.plan_campaign``, and stores the
plan on a connection of its own that acts as the caller: scoped to the caller's areas (row-level security, as a
request's connection, api/dependencies.py) and tagged with the caller's name, address and request for the audit
trail.  It reports its progress (about once a second) and its end down a queue.

The campaign's state is kept in the database (geo/planning/campaign_runs.py, migration 0034), so that every server
process (``riskmap serve --workers N``) answers the same for it.  The server process that took the POST owns the
campaign: a thread of it (``_follow``) reads the worker's reports and writes them, with a heartbeat, about once a
second, and the campaign's end; GET /campaigns reads the table on the request's connection (a scoped user sees
their areas' campaigns only).  A run whose owner is gone (looked up and not found, or silent for long: see
``campaign_runs.owner_gone``) is marked failed by whichever process finds it, and by every server at start-up.

Cancelling (``DELETE /campaigns/{id}``, in any server process) sets the run's ``cancel_requested``, which the
owner's thread reads with each heartbeat and turns into the event the search asks about: the day being searched
keeps its best routes, the days left are planned greedily, and that whole, feasible plan is stored (geo/planning/
campaign.py).  At most ``campaign_max_running`` campaigns run at a time (RISKMAP_CAMPAIGN_MAX_RUNNING, 1 by
default: a campaign takes a core for its whole time limit), counted in the table, over every server process;
another one is refused with 429 naming the campaigns in the way.  At shutdown a running campaign is cancelled
and given a little time to store its best plan.  A worker whose server died (killed, so without a shutdown) ends
without storing anything at the search's next question: its run says the server stopped.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg2

from geo import audit, store
from geo.errors import DatabaseUnavailable, NotFound, RiskmapError
from geo.planning import campaign_runs
from geo.planning.campaign_runs import HEARTBEAT_S, Campaign, NewRun, Owner, owner_gone

log = logging.getLogger("riskmap.campaigns")

NICE = 10  # the campaign process's CPU priority below the API's
SHUTDOWN_WAIT_S = 20.0  # at shutdown, how long a cancelled campaign may take to store its best plan
END_RETRY_S = 60.0  # how long the owner keeps trying to write a campaign's end while the database is away
SERVER_ACTOR = "riskmap-server"  # who marks the runs of a gone server failed, in the audit trail


class CampaignsBusy(RiskmapError):
    """As many campaigns as the server runs at a time are running already."""


class _ServerGone(Exception):
    """The server process that started the campaign has gone: nobody would record its end."""


def _campaign_worker(url: str, creq, cands, areas: list[str], writer: str, client: str | None, origin: str,
                     updates, cancel, server: Owner) -> None:
    """The campaign process: solve, store as the caller, report down ``updates``; end at once, storing nothing,
    when ``server`` (the server process that owns the campaign) has gone."""
    try:
        os.nice(NICE)
    except OSError:
        pass
    import warnings

    started = time.monotonic()
    # (its parent is the fork server, which outlives a killed server process: the server is looked up itself)
    looked_up = started

    def stop() -> bool:
        nonlocal looked_up
        if time.monotonic() - looked_up >= HEARTBEAT_S:
            looked_up = time.monotonic()
            if server.alive() is False:
                raise _ServerGone
        return cancel.is_set()

    try:
        from api.dependencies import SCOPE
        from geo.errors import PlanningError
        from geo.planning import store as plan_store
        from geo.planning.campaign import plan_campaign

        updates.put(("running", {"pid": os.getpid()}))

        def progress(day, _days, seconds, _limit, risk):
            updates.put(("progress", {"days_done": day, "seconds": seconds, "risk_covered": risk}))

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PyVRP's search notes; every route is checked exactly
                doc = plan_campaign(creq, cands, progress=progress, cancel=stop)
        except PlanningError as e:
            updates.put(("failed", {"error": str(e)}))
            return
        if server.alive() is False:
            raise _ServerGone
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
    except _ServerGone:
        return  # its run is marked failed by the servers that find it (campaign_runs.owner_gone)
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which logs it
        updates.put(("failed", {"error": "the campaign could not be made or stored (the server's log says why)",
                                "detail": "".join(traceback.format_exception_only(e)).strip()}))


@dataclass
class _OwnedRun:
    """A campaign this server process owns: its worker, the event its search asks about, and the connection its
    state is written on (tagged as the caller, who the campaign acts for)."""

    id: int
    days: int
    tags: tuple[str, str | None, str]  # writer, client, request: the audit trail's
    conn: object
    cancel: object = None
    process: object = None
    thread: threading.Thread | None = None
    progress: dict = field(default_factory=lambda: {"elapsed_s": 0.0, "days_done": 0, "risk_covered": 0.0})


class CampaignRunner:
    """The campaigns of every server process, as the database keeps them: started and followed by this one,
    read and cancelled from any."""

    def __init__(self, url: str, max_running: int = 1):
        self.url = url
        self.max_running = max_running
        self.owner = Owner.this_process()
        self._owned: dict[int, _OwnedRun] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _connect(self):
        return store.connect(self.url, application_name="riskmap-campaigns")

    def _tag_as_server(self, conn, what: str) -> None:
        audit.tag(conn, SERVER_ACTOR, self.owner.host, f"process {self.owner.pid}: {what}")

    def start(self, creq, cands, areas: tuple[str, ...], writer: str, client: str | None, origin: str,
              request: dict) -> Campaign:
        """Start a campaign over ``cands`` in the background (``CampaignsBusy`` when as many as allowed run, in
        every server process)."""
        if self._closed:
            raise CampaignsBusy("the server is shutting down; send the campaign again once it is back")
        conn = self._connect()
        try:
            with conn:  # one transaction: no other start, in any process, between the count and the insert
                active = campaign_runs.lock_and_list_active(conn)
                gone = [r for r in active if r.id not in self._owned and owner_gone(r.owner, r.silent_s)]
                if gone:
                    self._tag_as_server(conn, "campaigns whose server is gone")
                    gone = [r for r in gone if self._mark_gone(conn, r)]
                active = [r for r in active if r not in gone]
                if len(active) >= self.max_running:
                    raise CampaignsBusy(
                        f"{len(active)} campaign{'s' if len(active) > 1 else ''} already running (the servers of "
                        f"this database run at most {self.max_running} at a time: RISKMAP_CAMPAIGN_MAX_RUNNING): "
                        + ", ".join(f"campaign {r.id} by {r.created_by} (GET /campaigns/{r.id})" for r in active)
                        + "; wait for it to end or cancel it (DELETE /campaigns/{id})")
                audit.tag(conn, writer, client, origin)
                run_id = campaign_runs.insert(conn, NewRun(
                    writer, creq.sites.area, tuple(areas), creq.sites.teams, creq.sites.days, creq.time_limit_s,
                    request), self.owner)
            with conn:
                state = campaign_runs.read(conn, run_id)[0]
        except BaseException:
            conn.close()
            raise
        run = _OwnedRun(run_id, creq.sites.days, (writer, client, origin), conn)
        ctx = multiprocessing.get_context("forkserver")
        updates, run.cancel = ctx.Queue(), ctx.Event()
        run.process = ctx.Process(target=_campaign_worker, name=f"riskmap-campaign-{run_id}", daemon=True,
                                  args=(self.url, creq, cands, list(areas), writer, client, origin, updates,
                                        run.cancel, self.owner))
        with self._lock:
            self._owned[run_id] = run
        try:
            run.process.start()
        except BaseException as e:
            error = f"the campaign process did not start: {e}"
            try:
                self._write(run, lambda c: campaign_runs.end(c, run_id, error=error))
            finally:
                self._forget(run)
            raise
        run.thread = threading.Thread(target=self._follow, args=(run, updates), name=f"riskmap-campaign-{run_id}",
                                      daemon=True)
        run.thread.start()
        return state

    def get(self, conn, run_id: int) -> Campaign:
        """The campaign ``run_id``, as ``conn`` (a request's, with its scope) may see it."""
        found = self._settled(campaign_runs.read(conn, run_id), lambda: campaign_runs.read(conn, run_id))
        if not found:
            raise NotFound(f"no campaign with id {run_id}")
        return found[0]

    def list(self, conn) -> list[Campaign]:
        """The newest campaigns ``conn`` may see, newest first."""
        return self._settled(campaign_runs.read(conn), lambda: campaign_runs.read(conn))

    def cancel(self, conn, run_id: int, actor: str) -> Campaign:
        """Ask a campaign to stop, whichever server process owns it: its best plan so far is stored (a campaign
        that has ended is left as it is).  Written on ``conn``, the request's: its scope, and the audit trail
        says who asked."""
        run = self.get(conn, run_id)
        if run.active and campaign_runs.request_cancel(conn, run_id):
            log.info("campaign %s cancelled by %s", run_id, actor)
            with self._lock:
                owned = self._owned.get(run_id)
            if owned is not None:  # its owner is this process: at once rather than at its next heartbeat
                owned.cancel.set()
            run = self.get(conn, run_id)
        return run

    def settle_gone_owners(self) -> None:
        """At start-up: mark failed the campaigns whose server is gone (one that died with campaigns running,
        this one's predecessor among them)."""
        try:
            conn = self._connect()
        except DatabaseUnavailable as e:
            log.warning("campaigns whose server is gone not looked for: %s", e)
            return
        try:
            with conn:
                self._settled(campaign_runs.read(conn, active_only=True, limit=10_000), lambda: [])
        except psycopg2.Error as e:
            log.warning("campaigns whose server is gone not looked for: %s", str(e).strip())
        finally:
            conn.close()

    def _settled(self, runs: list[Campaign], read_again: Callable[[], list[Campaign]]) -> list[Campaign]:
        """``runs``, with those whose server is gone marked failed (on a connection of this runner's: a scoped
        request may not write the state) and read again."""
        gone = [r for r in runs if r.active and r.id not in self._owned and owner_gone(r.owner, r.silent_s)]
        if not gone:
            return runs
        own = self._connect()
        try:
            with own:
                self._tag_as_server(own, "campaigns whose server is gone")
                for r in gone:
                    self._mark_gone(own, r)
        finally:
            own.close()
        return read_again()

    @staticmethod
    def _mark_gone(conn, r) -> bool:
        marked = campaign_runs.mark_gone(conn, r.id, r.owner, r.heartbeat_at)
        if marked:
            log.warning("campaign %s: its server (%s) is gone; marked failed", r.id, r.owner)
        return marked

    def _write(self, run: _OwnedRun, what: Callable) -> object:
        """Run ``what(conn)`` in a transaction on the run's connection, connecting again (tagged as before) when
        the database went away; a failure is raised (the caller logs it)."""
        try:
            if run.conn is None or run.conn.closed:
                run.conn = self._connect()
                audit.tag(run.conn, *run.tags)
            with run.conn:
                return what(run.conn)
        except (psycopg2.OperationalError, psycopg2.InterfaceError, DatabaseUnavailable):
            if run.conn is not None:
                run.conn.close()
                run.conn = None
            raise

    def _follow(self, run: _OwnedRun, updates) -> None:
        """Read the campaign process's reports into the run's row until it ends: its start, its progress with a
        heartbeat about once a second (which also brings a cancel asked by any process), its end."""
        try:
            self._follow_reports(run, updates)
        except Exception:  # a fault here must not leave the run "running" while this process lives
            log.exception("campaign %s: its reports could not be followed", run.id)
            run.cancel.set()
            run.process.join(timeout=SHUTDOWN_WAIT_S)
            if run.process.is_alive():
                run.process.terminate()
            self._write_end(run, "failed", {"error": "the server lost track of the campaign (its log says why)"})
            self._forget(run)

    def _follow_reports(self, run: _OwnedRun, updates) -> None:
        ended: tuple[str, dict] | None = None
        last_beat = time.monotonic()  # (the insert gave the first)
        warned = False  # (the database away: said once, until a heartbeat is written again)
        while ended is None:
            what, data = None, {}
            try:
                what, data = updates.get(timeout=HEARTBEAT_S)
            except queue.Empty:
                if not run.process.is_alive():
                    try:  # (its last report may have come in just before it ended)
                        what, data = updates.get(timeout=1.0)
                    except queue.Empty:
                        what, data = "failed", {"error": f"the campaign process ended with exit code "
                                                         f"{run.process.exitcode} before storing a plan"}
            if what == "progress":
                run.progress = {"elapsed_s": data["seconds"], "days_done": data["days_done"],
                                "risk_covered": data["risk_covered"]}
            elif what in ("done", "failed"):
                ended = (what, data)
                break
            try:
                if what == "running":
                    self._write(run, lambda c, pid=data["pid"]: campaign_runs.started(c, run.id, pid))
                if time.monotonic() - last_beat >= HEARTBEAT_S:
                    asked = self._write(run, lambda c: campaign_runs.tick(c, run.id, **run.progress))
                    last_beat, warned = time.monotonic(), False
                    if asked and not run.cancel.is_set():
                        log.info("campaign %s: asked to stop (DELETE /campaigns/%s on another server process)", run.id,
                                 run.id)
                        run.cancel.set()
            except (psycopg2.Error, DatabaseUnavailable) as e:
                if not warned:
                    warned = True
                    log.warning("campaign %s: its progress not written: %s", run.id, str(e).strip())
        self._write_end(run, *ended)
        run.process.join(timeout=10)
        self._forget(run)

    def _write_end(self, run: _OwnedRun, what: str, data: dict) -> None:
        if what == "done":
            run.progress = {"elapsed_s": data["seconds"], "days_done": run.days,
                            "risk_covered": data["risk_covered"]}

            def end(c):
                campaign_runs.tick(c, run.id, **run.progress)
                campaign_runs.end(c, run.id, plan_id=data["plan_id"], interrupted=data["interrupted"],
                                  totals=data["totals"])
            log.info("campaign %s by %s stored as plan %s", run.id, run.tags[0], data["plan_id"])
        else:
            def end(c):
                campaign_runs.tick(c, run.id, **run.progress)
                campaign_runs.end(c, run.id, error=data["error"])
            log.error("campaign %s by %s failed: %s", run.id, run.tags[0], data.get("detail") or data["error"])
        deadline = time.monotonic() + END_RETRY_S
        while True:
            try:
                self._write(run, end)
                return
            except (psycopg2.Error, DatabaseUnavailable) as e:
                if time.monotonic() > deadline:
                    log.error("campaign %s: its end could not be written (%s); it will read as failed once its "
                              "server is gone", run.id, str(e).strip())
                    return
                time.sleep(1.0)

    def _forget(self, run: _OwnedRun) -> None:
        with self._lock:
            self._owned.pop(run.id, None)
        if run.conn is not None:
            run.conn.close()

    def close(self) -> None:
        """Cancel the running campaigns, give them a moment to store their best plans and write their ends,
        then end them."""
        with self._lock:
            self._closed = True
            running = list(self._owned.values())
        for r in running:
            r.cancel.set()
        deadline = time.monotonic() + SHUTDOWN_WAIT_S
        for r in running:
            r.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if r.process.is_alive():
                r.process.terminate()
                r.process.join(timeout=5)
        for r in running:  # (their ends written: the process's report, or its exit code)
            if r.thread is not None:
                r.thread.join(timeout=5)
