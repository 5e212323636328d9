"""Refused credentials: each one recorded in the audit trail, and a client that keeps failing slowed down.

Every refusal of the credential check (api/access.py: no key, a key that is not valid, writes disabled) is an
``auth_failed`` event of the audit trail (geo/audit.py), with the client's address, the request and the
fingerprint of the key sent (never the key).  After ``limit`` refusals from one address within ``window_s``
seconds, that address is answered 429 with ``Retry-After`` (until its oldest refusal in the window is older than
the window) without its key being looked at: guessing keys gets slow, and the trail grows by at most ``limit``
rows per address and window.  Addresses spread over a whole network could still each fail ``limit`` times, so
the rows recorded per window are capped for all addresses together as well (``record_cap``); past it the
refusals are still answered and counted, and one log line says how many went unrecorded.

The counts live in the process: with ``riskmap serve --workers N`` each worker counts its own, so an address may
fail up to N times ``limit`` per window.  Recording is a short insert in the thread pool, off the event loop;
a database that is down does not keep the 401/403 from going out (the failure is logged instead).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque

import psycopg2
import psycopg2.pool
from starlette.concurrency import run_in_threadpool

from geo import audit
from geo.errors import RiskmapError

log = logging.getLogger("riskmap.api")

MAX_ADDRESSES = 100_000  # addresses tracked at most: the oldest are forgotten first (memory stays bounded)


class TooManyFailures(RiskmapError):
    """Too many refused credentials from one address: try again after ``retry_after_s`` seconds."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class FailedAuth:
    """The refusals of the last ``window_s`` seconds, per client address (see the module's docstring)."""

    def __init__(self, limit: int, window_s: float, record_cap: int | None = None, clock=time.monotonic):
        self.limit, self.window_s = limit, window_s
        self.record_cap = record_cap if record_cap is not None else 50 * limit
        self._clock = clock
        self._by_address: dict[str, deque[float]] = {}
        self._recorded: deque[float] = deque()  # when each recorded refusal was, for the cap of all addresses
        self._unrecorded = 0
        self._lock = threading.Lock()

    def refusal(self, client: str | None) -> TooManyFailures | None:
        """The 429 for ``client`` when it failed ``limit`` times within the window, else None."""
        if self.limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            times = self._by_address.get(client or "")
            if times is None:
                return None
            self._forget_old(times, now)
            if len(times) < self.limit:
                return None
            wait = max(1, math.ceil(times[0] + self.window_s - now))
        return TooManyFailures(f"too many refused credentials from this address ({len(times)} within "
                               f"{self.window_s:g} s); try again in {wait} s", wait)

    def _forget_old(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window_s:
            times.popleft()

    def _count(self, client: str | None) -> bool:
        """Count a refusal; whether it is to be recorded (within the cap of all addresses)."""
        now = self._clock()
        with self._lock:
            key = client or ""
            times = self._by_address.pop(key, None) or deque()
            self._forget_old(times, now)
            times.append(now)
            self._by_address[key] = times  # (re-)inserted last: the dict is in order of latest refusal
            while len(self._by_address) > MAX_ADDRESSES:
                del self._by_address[next(iter(self._by_address))]
            self._forget_old(self._recorded, now)
            if len(self._recorded) >= self.record_cap:
                self._unrecorded += 1
                if self._unrecorded == 1:
                    log.warning("more than %d refused credentials within %g s: the next ones are answered but "
                                "not recorded in the audit trail until the rate falls", self.record_cap,
                                self.window_s)
                return False
            if self._unrecorded:
                log.warning("%d refused credentials went unrecorded (over %d within %g s)", self._unrecorded,
                            self.record_cap, self.window_s)
                self._unrecorded = 0
            self._recorded.append(now)
            return True

    async def failed(self, pool, client: str | None, claimed: str | None, request: str, reason: str) -> None:
        """Count the refusal of ``client``'s credential and record it (who it claimed to be: a key's
        fingerprint, or None; the request; why) in the audit trail, in the thread pool."""
        if not self._count(client):
            return
        await run_in_threadpool(_record, pool, claimed, client, request, reason)


def _record(pool, claimed: str | None, client: str | None, request: str, reason: str) -> None:
    try:
        conn = pool.getconn()
    except (psycopg2.OperationalError, psycopg2.pool.PoolError) as e:
        log.warning("could not record a refused credential from %s (%s): %s", client, request, str(e).strip())
        return
    broken = False
    try:
        audit.auth_failed(conn, claimed, client, request, reason)
    except psycopg2.Error as e:
        broken = isinstance(e, (psycopg2.OperationalError, psycopg2.InterfaceError)) and e.pgcode is None
        log.warning("could not record a refused credential from %s (%s): %s", client, request, str(e).strip())
    finally:
        pool.putconn(conn, broken=broken)
