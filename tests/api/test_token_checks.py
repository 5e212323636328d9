"""A token's slow hash is checked once, even when many requests bring a fresh token at the same moment
(api/access.py ``TokenChecks``): the others wait for that check and take its result."""

from __future__ import annotations

import threading

from api.access import TokenChecks
from geo import users


def check_at_once(checks: TokenChecks, attempts: list[tuple[str, str]], stored: str) -> list[bool]:
    """``checks.matches`` of each (token, secret) attempt, all in threads released together."""
    results: list[bool | None] = [None] * len(attempts)
    start = threading.Barrier(len(attempts))

    def attempt(i: int, token: str, secret: str) -> None:
        start.wait()
        results[i] = checks.matches(token, secret, stored)

    threads = [threading.Thread(target=attempt, args=(i, t, s)) for i, (t, s) in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_fresh_token_sent_by_many_requests_at_once_is_hashed_once(monkeypatch):
    """16 requests with the same fresh token at once all pass, and scrypt runs for one of them only."""
    stored = users.hash_secret("the-secret")
    hashed = []
    real = users.secret_matches
    monkeypatch.setattr(users, "secret_matches", lambda secret, s: hashed.append(secret) or real(secret, s))
    results = check_at_once(TokenChecks(), [("rm_id.the-secret", "the-secret")] * 16, stored)
    assert results == [True] * 16 and len(hashed) == 1


def test_a_wrong_secret_waiting_beside_the_right_one_is_refused():
    """Wrong secrets of the same token id checked at the same time as the right one are refused, each checked
    itself (a wrong token is never taken for the right one remembered), and the right one passes."""
    stored = users.hash_secret("the-secret")
    attempts = [("rm_id.the-secret", "the-secret"), ("rm_id.not-it", "not-it")] * 3
    assert check_at_once(TokenChecks(), attempts, stored) == [True, False] * 3
