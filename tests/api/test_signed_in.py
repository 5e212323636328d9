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
