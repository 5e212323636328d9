"""The principals of tokens seen lately (api/signed_in.py), against a real PostgreSQL: a change to the users that
has committed is seen by the very next look, however late its notification would arrive on its own."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg2

from api.signed_in import SignedIn


def test_a_committed_user_change_empties_it_before_the_next_look(db_url):
    """300 times: a principal is remembered, another session commits a change to the users (the notification a
    revocation sends), and the next look finds nothing; with the machine busy (three processes spinning), so that
    the notification has no time to arrive by itself (before the cache made sure of it, this failed at once)."""
    other = psycopg2.connect(db_url)
    other.autocommit = True
    cache = SignedIn(db_url)
    busy = []
    try:
        deadline = time.monotonic() + 30
        while cache._conn is None:
            assert time.monotonic() < deadline, "the cache never started listening"
            time.sleep(0.05)
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
        stale = 0
        for _ in range(300):
            cache.put("rm_token", "principal", cache.generation)
            assert cache.get("rm_token") == "principal"
            with other.cursor() as cur:
                cur.execute("SELECT pg_notify('riskmap_users', 'changed')")  # as migration 0020's trigger does
            stale += cache.get("rm_token") is not None
        assert stale == 0
    finally:
        for p in busy:
            p.kill()
            p.wait()
        cache.close()
        other.close()


def _listening(cache: SignedIn) -> None:
    deadline = time.monotonic() + 30
    while cache._conn is None:
        assert time.monotonic() < deadline, "the cache never started listening"
        time.sleep(0.05)


def test_the_event_loops_look_sees_a_committed_change_too(db_url):
    """The same from the event loop (``aget``, as the server's requests ask): 200 times, a remembered principal,
    a change committed by another session, and the next look finds nothing."""
    import asyncio

    other = psycopg2.connect(db_url)
    other.autocommit = True
    cache = SignedIn(db_url)
    try:
        _listening(cache)

        async def looks() -> int:
            stale = 0
            for _ in range(200):
                cache.put("rm_token", "principal", cache.generation)
                assert await cache.aget("rm_token") == "principal"
                with other.cursor() as cur:
                    cur.execute("SELECT pg_notify('riskmap_users', 'changed')")
                stale += await cache.aget("rm_token") is not None
            return stale

        assert asyncio.run(looks()) == 0
    finally:
        cache.close()
        other.close()


def test_requests_of_the_event_loop_share_round_trips_and_never_block_it(db_url):
    """50 requests looking at once make far fewer round trips than 50 (one serves every request that came before
    it started), all find the principal, and the loop keeps running while a round trip is slow: a timer of the
    loop fires during a round trip held up for 0.3 s."""
    import asyncio

    class Counted(SignedIn):
        trips = 0
        hold = 0.0

        def _round_trip(self, start):
            type(self).trips += 1
            time.sleep(self.hold)
            return super()._round_trip(start)

    cache = Counted(db_url)
    try:
        _listening(cache)
        cache.put("rm_token", "principal", cache.generation)

        async def at_once() -> list:
            return await asyncio.gather(*(cache.aget("rm_token") for _ in range(50)))

        assert asyncio.run(at_once()) == ["principal"] * 50
        assert Counted.trips <= 3

        Counted.hold = 0.3
        ticks = []

        async def slow_trip() -> object:
            async def tick():
                while True:
                    ticks.append(time.monotonic())
                    await asyncio.sleep(0.02)

            ticker = asyncio.create_task(tick())
            await asyncio.sleep(0.05)
            started = time.monotonic()
            found = await cache.aget("rm_token")
            ticker.cancel()
            return found, started

        found, started = asyncio.run(slow_trip())
        assert found == "principal"
        assert sum(1 for t in ticks if t > started) >= 5  # the loop ran on during the 0.3 s round trip
    finally:
        cache.close()
