"""The status of a hidden danger and the changes allowed to it (domain.md §8: a danger is rectified by the unit,
then verified (核查 / 验收 → 销号) by the supervisor; a danger found again, or a rectification that did not hold,
is reopened).

    open ──▶ rectified ──▶ verified
                ▲   │          │
                │   ▼          │
              reopened ◀───────┘

Each change has a date, kept in the danger's column for it (``rectified_on``, ``verified_on``, ``reopened_on``)
and in ``status_changed_on``.  Pure functions: the API (PATCH /hidden-dangers/{id}), the command line and the
importer (a re-import that moves a stored danger's status) all decide with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache

from geo.errors import FieldError, TransitionRefused

STATUSES = ("open", "rectified", "verified", "reopened")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("rectified",),
    "rectified": ("verified", "reopened"),
    "verified": ("reopened",),
    "reopened": ("rectified",),
}
# The column holding the date a danger reached each status (an open danger's is the date it was found).
DATE_OF = {"open": "found_on", "rectified": "rectified_on", "verified": "verified_on", "reopened": "reopened_on"}


def allowed(status: str) -> tuple[str, ...]:
    """The statuses a danger in ``status`` may move to."""
    return TRANSITIONS[status]


def check(current: str, new: str) -> None:
    """Raise TransitionRefused (naming the allowed changes) unless ``current`` → ``new`` is allowed."""
    if new not in STATUSES:
        raise FieldError("status", f"unknown status {new!r}; the statuses are: {', '.join(STATUSES)}")
    if new not in TRANSITIONS[current]:
        raise TransitionRefused(current, new, TRANSITIONS[current])


@cache
def path(current: str, target: str) -> tuple[str, ...] | None:
    """The shortest series of allowed changes from ``current`` to ``target`` (empty when they are the same),
    None when there is none (nothing leads back to open).

    >>> path("open", "verified")
    ('rectified', 'verified')
    >>> path("verified", "open") is None
    True
    """
    frontier: list[tuple[str, tuple[str, ...]]] = [(current, ())]
    seen = {current}
    while frontier:
        status, steps = frontier.pop(0)
        if status == target:
            return steps
        for nxt in TRANSITIONS[status]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append((nxt, (*steps, nxt)))
    return None


def change(danger: Mapping, new: str, on: dt.date) -> dict:
    """The columns to write when the stored ``danger`` (a mapping with its status, found_on and
    status_changed_on) moves to ``new`` on the date ``on``.

    Raises TransitionRefused (a conflict with the stored status, naming the allowed changes) or FieldError
    (the date is before the danger was found, or before its last change).  A new rectification clears the
    verification of the previous one (a reopened danger must be verified again); the history keeps it."""
    current = danger["status"]
    check(current, new)
    found_on, last = danger["found_on"], danger.get("status_changed_on")
    if on < found_on:
        raise FieldError("on", f"the change's date {on.isoformat()} is before the danger was found "
                               f"({found_on.isoformat()})")
    if last is not None and on < last:
        raise FieldError("on", f"the change's date {on.isoformat()} is before the danger's last status change "
                               f"({last.isoformat()}, to {current})")
    columns: dict = {"status": new, "status_changed_on": on, DATE_OF[new]: on}
    if new == "rectified":
        columns["verified_on"] = None
    return columns
