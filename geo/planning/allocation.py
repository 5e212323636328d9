"""Team allocation (issue 6, item 1): inspection teams shared among areas in proportion to their risk-weighted
count of enterprises, by largest remainders, with at least one team wherever a red site stands (when there
are teams enough).

The measures ask for the highest risks to be inspected first by a limited number of teams, with city and county
teams sized by how many enterprises sit at each risk level: an area's weight is the sum over levels of its
enterprises at that level times the level's weight.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

DEFAULT_WEIGHTS = {"red": 8.0, "orange": 4.0, "yellow": 2.0, "blue": 1.0}  # [assumption] each level twice the next


class AllocationError(ValueError):
    """Allocation inputs that cannot be used; the message names the problem."""


def largest_remainder(quotas: Mapping[str, float], seats: int) -> dict[str, int]:
    """``seats`` whole seats shared by Hamilton's method: each key gets the floor of its quota, then the seats
    left go to the largest fractional remainders (ties to the larger quota, then the smaller key).  The quotas
    are scaled to sum to ``seats`` first."""
    total = sum(quotas.values())
    if seats == 0 or total <= 0:
        return {k: 0 for k in quotas}
    scaled = {k: q * seats / total for k, q in quotas.items()}
    out = {k: math.floor(q + 1e-12) for k, q in scaled.items()}
    left = seats - sum(out.values())
    order = sorted(scaled, key=lambda k: (-(scaled[k] - out[k]), -scaled[k], k))
    for k in order[:left]:
        out[k] += 1
    return out


def allocate_teams(counts: Mapping[str, Mapping[str, int]], teams: int,
                   weights: Mapping[str, float] | None = None) -> dict[str, int]:
    """Teams per area.  ``counts``: per area id, enterprises per level ({"red": 2, "blue": 40}).

    Every area with a red enterprise gets a team first when there are at least as many teams as such areas
    (when there are fewer, the red areas share them by weight); the rest are shared by largest remainders in
    proportion to each area's weight beyond the team it already has.
    """
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    if isinstance(teams, bool) or not isinstance(teams, int) or teams < 1:
        raise AllocationError(f"teams: expected a positive whole number, got {teams!r}")
    if not counts:
        raise AllocationError("no areas to allocate teams to")
    for level, w in weights.items():
        if not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            raise AllocationError(f"weights.{level}: expected a non-negative number, got {w!r}")
    for area, by_level in counts.items():
        for level, n in by_level.items():
            if level not in weights:
                raise AllocationError(f"area {area}: unknown level {level!r} (weights: {', '.join(weights)})")
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise AllocationError(f"area {area}: the count of {level} must be a whole number >= 0, got {n!r}")
    weight = {a: sum(weights[lv] * n for lv, n in by_level.items()) for a, by_level in counts.items()}
    if sum(weight.values()) <= 0:
        raise AllocationError("the areas hold no enterprise at a level of positive weight: nothing to share by")
    red = [a for a, by_level in counts.items() if by_level.get("red", 0) > 0]
    if red and teams < len(red):
        return {a: 0 for a in counts} | largest_remainder({a: weight[a] for a in red}, teams)
    base = {a: (1 if a in red else 0) for a in counts}
    left = teams - sum(base.values())
    total = sum(weight.values())
    # what each area would get by weight alone, beyond the team it has already
    beyond = {a: max(0.0, teams * weight[a] / total - base[a]) for a in counts}
    extra = largest_remainder(beyond, left) if sum(beyond.values()) > 0 else largest_remainder(weight, left)
    return {a: base[a] + extra[a] for a in counts}


def area_counts(conn, level: str = "county") -> list[tuple[str, str, dict[str, int]]]:
    """(admin code, name, enterprises per level) of every stored admin area of ``level``."""
    from importlib import resources

    query = resources.files("geo.planning").joinpath("sql/area_enterprise_counts.sql").read_text(encoding="utf-8")
    with conn.cursor() as cur:
        cur.execute(query, {"level": level})
        rows = cur.fetchall()
    return [(code, name, {"red": r, "orange": o, "yellow": y, "blue": b}) for code, name, r, o, y, b in rows]
