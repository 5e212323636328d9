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

from geo.errors import PlanningError

DEFAULT_WEIGHTS = {"red": 8.0, "orange": 4.0, "yellow": 2.0, "blue": 1.0}  # [assumption] each level twice the next


class AllocationError(PlanningError, ValueError):
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


ADMIN_LEVELS = ("province", "city", "county", "township")


def _sql(name: str) -> str:
    from importlib import resources

    return resources.files("geo.planning").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def area_counts(conn, level: str = "county") -> list[tuple[str, str, dict[str, int]]]:
    """(admin code, name, enterprises per level) of every stored admin area of ``level``."""
    if level not in ADMIN_LEVELS:
        raise AllocationError(f"level: expected one of {', '.join(ADMIN_LEVELS)}, got {level!r}")
    with conn.cursor() as cur:
        cur.execute(_sql("area_enterprise_counts"), {"level": level})
        rows = cur.fetchall()
    return [(code, name, {"red": r, "orange": o, "yellow": y, "blue": b}) for code, name, r, o, y, b in rows]


def parse_weights(text: str) -> dict[str, float]:
    """'red=8,orange=4' -> {'red': 8.0, 'orange': 4.0, ...} (the defaults for the levels not given)."""
    out = dict(DEFAULT_WEIGHTS)
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        level, sep, value = part.partition("=")
        level = level.strip()
        if not sep or level not in DEFAULT_WEIGHTS:
            raise AllocationError(f"weights: expected level=number pairs with levels {', '.join(DEFAULT_WEIGHTS)}, "
                                  f"got {part!r}")
        try:
            out[level] = float(value)
        except ValueError:
            raise AllocationError(f"weights.{level}: expected a number, got {value.strip()!r}") from None
    return out


def allocation_table(conn, teams: int, level: str = "county", weights: Mapping[str, float] | None = None) -> dict:
    """The allocation as a GeoJSON FeatureCollection of the areas (simplified outlines) with their enterprises
    per level, weight and teams, largest allocation first."""
    import json

    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    areas = area_counts(conn, level)
    got = allocate_teams({code: c for code, _, c in areas}, teams, weights)
    with conn.cursor() as cur:
        cur.execute(_sql("area_outlines"), {"level": level})
        outlines = {code: (geom, x, y) for code, geom, x, y in cur.fetchall()}
    features = []
    for code, name, c in areas:
        geom, x, y = outlines[code]
        features.append({"type": "Feature", "id": code, "geometry": json.loads(geom),
                         "properties": {"admin_code": code, "name": name, **c,
                                        "weight": sum(weights.get(lv, 0) * n for lv, n in c.items()),
                                        "teams": got[code], "label_point": [x, y]}})
    features.sort(key=lambda f: (-f["properties"]["teams"], -f["properties"]["weight"], f["id"]))
    return {"type": "FeatureCollection", "features": features, "teams": teams, "level": level, "weights": weights}
