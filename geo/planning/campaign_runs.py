"""A city campaign's state in the database (tables campaign_run and campaign_run_progress, migration 0034), so that
every server process answers the same for it and a campaign whose server died says so.

The server process that takes a POST /campaigns owns the campaign: it inserts the run (``lock_and_list_active``
then ``insert``, in one transaction: every queued or running campaign of every process is counted against the
limit, under a lock no other start passes), solves it in a worker process (``started``), and writes its progress
with a heartbeat about once a second (``tick``, which also answers whether a DELETE, from any process, asked it to
stop: ``request_cancel``) and its end (``end``).  Any process reads the runs
(``read``: on a request's connection, so row-level security shows a scoped user their areas' runs only).

A run whose owner is gone must not read ``running`` forever.  The owner is named by ``Owner``: its host, the space
its process id means something in (the boot id and the pid namespace), the id and the process's start time.  A
process in the same space looks the owner up (``Owner.alive``: gone when no process has that id and start time);
one elsewhere cannot, and takes the owner for gone when its heartbeat is older than ``STALE_S`` (``owner_gone``).
Such a run is marked failed by whoever finds it (``mark_gone``: only if its heartbeat has not moved since).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources

ACTIVE = ("queued", "running")
HEARTBEAT_S = 1.0  # the owner writes the progress and its heartbeat this often (at most)
STALE_S = 15.0  # an owner that cannot be looked up, silent this long (15 heartbeats missed): gone
HUNG_S = 300.0  # an owner that lives but has been silent this long has stopped looking after its campaign
LIST_LIMIT = 100  # GET /campaigns: the newest this many
_UNKNOWN_SPACE = f"unknown:{uuid.uuid4()}"  # no /proc: a space of this process alone (decided by heartbeat only)


@cache
def _sql(name: str) -> str:
    return resources.files("geo.planning").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def process_start(pid: int) -> int | None:
    """When process ``pid`` of this pid namespace started (clock ticks after boot); None: there is none (or only
    its exit status, a zombie's, left for its parent to read)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return 0  # there, but unreadable
    # the fields after the command's name, which may hold spaces and parentheses: the 22nd is the start time
    fields = stat[stat.rfind(")") + 2:].split()
    if fields[:1] == ["Z"]:
        return None
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return 0


def _process_space() -> str:
    """Where a process id names one process: this boot of this machine, this pid namespace (a container has its
    own)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return _UNKNOWN_SPACE


@dataclass(frozen=True)
class Owner:
    """The server process that owns a campaign."""

    host: str
    space: str
    pid: int
    started: int  # its start time (clock ticks after boot; 0: not known)

    @classmethod
    def this_process(cls) -> Owner:
        pid = os.getpid()
        return cls(socket.gethostname(), _process_space(), pid, process_start(pid) or 0)

    def alive(self) -> bool | None:
        """Whether the owner still runs: True or False when this process can look it up (the same space), None
        when it cannot (another machine or container)."""
        if self.space != _process_space() or self.space == _UNKNOWN_SPACE:
            return None
        started = process_start(self.pid)
        return started is not None and (started == self.started or 0 in (started, self.started))

    def __str__(self) -> str:
        return f"process {self.pid} on {self.host}"


def owner_gone(owner: Owner, silent_s: float | None) -> bool:
    """Whether a queued or running campaign's owner is gone: looked up and not found, or, when it cannot be looked
    up, silent for more than ``STALE_S`` (``HUNG_S`` when it lives)."""
    alive = owner.alive()
    if alive is False:
        return True
    return silent_s is not None and silent_s > (HUNG_S if alive else STALE_S)


def gone_error(owner: Owner) -> str:
    return (f"the server stopped before the campaign ended ({owner}: no sign of it since); no plan was stored, "
            f"start the campaign again")


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Campaign:
    """One campaign as stored: its state as GET /campaigns/{id} shows it (``as_dict``), and its owner."""

    id: int
    state: str
    created_by: str
    area: str | None
    teams: int
    days: int
    time_limit_s: float
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    elapsed_s: float
    days_done: int
    risk_covered: float
    cancel_requested: bool
    interrupted: bool | None
    plan_id: int | None
    error: str | None
    totals: dict | None
    owner: Owner
    worker_pid: int | None
    heartbeat_at: dt.datetime | None
    silent_s: float | None

    @classmethod
    def from_row(cls, row) -> Campaign:
        head, (host, space, pid, started), tail = row[:18], row[18:22], row[22:]
        return cls(*head, Owner(host, space, pid, started), *tail)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def as_dict(self) -> dict:
        return {"id": self.id, "state": self.state, "created_by": self.created_by, "area": self.area,
                "teams": self.teams, "days": self.days, "time_limit_s": self.time_limit_s,
                "created_at": _iso(self.created_at), "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at),
                "progress": {"elapsed_s": round(self.elapsed_s, 1), "days_done": self.days_done,
                             "risk_covered": round(self.risk_covered, 2)},
                "cancel_requested": self.cancel_requested, "interrupted": self.interrupted,
                "plan_id": self.plan_id, "plan": f"/plans/{self.plan_id}" if self.plan_id else None,
                "error": self.error, "totals": self.totals,
                "server": {"host": self.owner.host, "pid": self.owner.pid, "worker_pid": self.worker_pid}}


@dataclass(frozen=True)
class ActiveRun:
    """A queued or running campaign, as a new one's start sees it."""

    id: int
    created_by: str
    owner: Owner
    heartbeat_at: dt.datetime | None
    silent_s: float | None


@dataclass(frozen=True)
class NewRun:
    """What a new campaign's row says of it."""

    created_by: str
    area: str | None
    areas: tuple[str, ...]
    teams: int
    days: int
    time_limit_s: float
    request: dict


def read(conn, run_id: int | None = None, active_only: bool = False, limit: int = LIST_LIMIT) -> list[Campaign]:
    """The campaigns ``conn`` may see, newest first: every one, or the one ``run_id`` (an empty list: none)."""
    with conn.cursor() as cur:
        cur.execute(_sql("campaign_runs"), {"id": run_id, "active": active_only, "limit": limit})
        return [Campaign.from_row(row) for row in cur.fetchall()]


def lock_and_list_active(conn) -> list[ActiveRun]:
    """In the caller's transaction: wait until no other campaign is being started (any process), then the queued
    and running ones.  The lock holds until the transaction ends."""
    with conn.cursor() as cur:
        cur.execute(_sql("campaign_run_active"))
        return [ActiveRun(i, by, Owner(host, space, pid, started), beat, silent)
                for i, by, host, space, pid, started, beat, silent in cur.fetchall()]


def insert(conn, run: NewRun, owner: Owner) -> int:
    """In the caller's transaction: a new queued campaign owned by ``owner``; its id."""
    with conn.cursor() as cur:
        cur.execute(_sql("campaign_run_insert"), {
            "created_by": run.created_by, "area": run.area, "areas": list(run.areas), "teams": run.teams,
            "days": run.days, "time_limit_s": run.time_limit_s,
            "request": json.dumps(run.request, ensure_ascii=False, default=str), "owner_host": owner.host,
            "owner_space": owner.space, "owner_pid": owner.pid, "owner_started": owner.started})
        return cur.fetchone()[0]


def started(conn, run_id: int, worker_pid: int) -> None:
    """The campaign's worker process ``worker_pid`` has started its search."""
    with conn.cursor() as cur:
        cur.execute(_sql("campaign_run_started"), {"id": run_id, "worker_pid": worker_pid})


def tick(conn, run_id: int, elapsed_s: float, days_done: int, risk_covered: float) -> bool:
    """The owner's heartbeat and progress; whether the campaign was asked to stop."""
    with conn.cursor() as cur:
        cur.execute(_sql("campaign_run_tick"), {"id": run_id, "elapsed_s": elapsed_s, "days_done": days_done,
                                                "risk_covered": risk_covered})
        row = cur.fetchone()
    return bool(row and row[0])


def end(conn, run_id: int, *, plan_id: int | None = None, interrupted: bool | None = None,
        totals: dict | None = None, error: str | None = None) -> None:
    """The campaign's end: done with its plan, or failed with ``error``."""
    with conn.cursor() as cur:
        cur.execute(_sql("campaign_run_end"), {
            "id": run_id, "state": "failed" if error is not None else "done", "plan_id": plan_id,
            "interrupted": interrupted, "error": error,
            "totals": None if totals is None else json.dumps(totals, ensure_ascii=False)})


def mark_gone(conn, run_id: int, owner: Owner, heartbeat_at: dt.datetime | None) -> bool:
    """Mark a campaign whose owner is gone as failed, if it is still active with the heartbeat judged; whether
    it was."""
    with conn.cursor() as cur:
        cur.execute(_sql("campaign_run_gone"), {"id": run_id, "heartbeat_at": heartbeat_at,
                                                "error": gone_error(owner)})
        return cur.fetchone() is not None


def request_cancel(conn, run_id: int) -> bool:
    """Ask a queued or running campaign ``conn`` may see to stop; whether this asked it (False: not active, asked
    already, or not seen)."""
    with conn.cursor() as cur:
        cur.execute(_sql("campaign_run_cancel"), {"id": run_id})
        return cur.rowcount == 1
