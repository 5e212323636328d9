"""The TOPTW instances of ../shared/bench/toptw/ (Montemanni & Gambardella's Cordeau-based pr01-pr10): reading
them, turning them into riskmap's instance JSON, and checking a plan exactly in their own convention.

Format (TOPTW_format.txt there): line 1 ``k v N t`` (N customers), line 2 ``D Q``, then one line per vertex
``i x y d S f a list O C``, vertex 0 the depot; O and C are the last two tokens.  Every tour leaves the depot at
0 and is back by the depot's C; service at a customer starts within [O, C] (waiting if early) and lasts d.
Travel time is the Euclidean distance rounded *down* to two decimals (the format's convention for the Cordeau
instances).

The check is exact: every time is an integer number of hundredths, and a distance's hundredths are
``isqrt(dx^2 + dy^2) // 10^q`` over coordinates scaled to integers by 10^q (no floating point anywhere).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

DECIMALS = 2  # distances rounded down to hundredths (Cordeau instances)


class FormatError(ValueError):
    """A TOPTW file that does not read as the format says; the message names the file and line."""


@dataclass(frozen=True)
class Vertex:
    id: int
    x: Decimal
    y: Decimal
    service: Decimal
    score: Decimal
    open: Decimal
    close: Decimal


@dataclass(frozen=True)
class Toptw:
    name: str
    depot: Vertex
    customers: list[Vertex]

    @property
    def budget(self) -> Decimal:
        """Each tour's time budget: the depot's closing time."""
        return self.depot.close


def _number(token: str, where: str) -> Decimal:
    try:
        v = Decimal(token)
    except InvalidOperation:
        raise FormatError(f"{where}: {token!r} is not a number") from None
    if not v.is_finite():
        raise FormatError(f"{where}: {token!r} is not a finite number")
    return v


def read(path: Path) -> Toptw:
    """The instance in ``path``; FormatError names the line that does not fit the format."""
    path = Path(path)
    lines = [(no, line.split()) for no, line in enumerate(path.read_text().splitlines(), 1) if line.strip()]
    if len(lines) < 3:
        raise FormatError(f"{path}: expected a header line, a D Q line and the vertices")
    (no, head), vertex_lines = lines[0], lines[2:]
    if len(head) < 3:
        raise FormatError(f"{path}:{no}: expected 'k v N t'")
    n = int(_number(head[2], f"{path}:{no} N"))
    if len(vertex_lines) != n + 1:
        raise FormatError(f"{path}: the header says {n} customers (and the depot), but {len(vertex_lines)} "
                          f"vertex lines follow")
    vertices = []
    for k, (no, tokens) in enumerate(vertex_lines):
        where = f"{path}:{no}"
        if len(tokens) < 7:
            raise FormatError(f"{where}: expected 'i x y d S f a list O C', got {len(tokens)} fields")
        i, x, y, d, s = (_number(t, where) for t in tokens[:5])
        o, c = _number(tokens[-2], f"{where} O"), _number(tokens[-1], f"{where} C")
        if i != k:
            raise FormatError(f"{where}: vertex {i} where vertex {k} was expected")
        if d < 0 or s < 0 or o > c:
            raise FormatError(f"{where}: negative service or score, or a window opening after it closes")
        vertices.append(Vertex(int(i), x, y, d, s, o, c))
    return Toptw(path.stem, vertices[0], vertices[1:])


def as_instance(inst: Toptw, tours: int, time_limit: float, seed: int) -> dict:
    """riskmap's instance JSON: a site per customer (score, service, window), ``tours`` teams leaving the depot
    with its closing time as budget, travel rounded down to hundredths."""
    depot = {"x": float(inst.depot.x), "y": float(inst.depot.y)}
    return {"metric": "euclidean", "travel_decimals": DECIMALS, "travel_rounding": "down",
            "sites": [{"id": f"c{v.id}", "x": float(v.x), "y": float(v.y), "prize": float(v.score),
                       "service": float(v.service), "tw": [float(v.open), float(v.close)]} for v in inst.customers],
            "teams": [{"id": f"tour{k}", "start": depot, "end": depot, "budget": float(inst.budget)}
                      for k in range(1, tours + 1)],
            "time_limit_s": time_limit, "seed": seed}


def _hundredths(v: Decimal, what: str) -> int:
    h = v * 100
    if h != h.to_integral_value():
        raise FormatError(f"{what}: {v} is not a whole number of hundredths")
    return int(h)


def distance_hundredths(a: Vertex, b: Vertex) -> int:
    """The Euclidean distance between two vertices in hundredths, rounded down, exactly."""
    q = max(-min(v.as_tuple().exponent for v in (a.x, a.y, b.x, b.y)), 0)
    dx, dy = (int((p - r).scaleb(q)) for p, r in ((a.x, b.x), (a.y, b.y)))
    return math.isqrt((dx * dx + dy * dy) * 10 ** (2 * DECIMALS)) // 10 ** q


def check(inst: Toptw, tours: int, solution: dict) -> tuple[int, list[int]]:
    """The plan's score and each tour's end time (hundredths), after checking exactly that there are at most
    ``tours`` tours, no customer is visited twice, service starts within every window and every tour is back
    by the depot's closing time; AssertionError says what is broken."""
    by_id = {f"c{v.id}": v for v in inst.customers}
    assert len(solution["routes"]) <= tours, f"{len(solution['routes'])} tours > {tours}"
    seen: set[str] = set()
    score, ends = Decimal(0), []
    for route in solution["routes"]:
        t, here = 0, inst.depot
        for c in route["sites"]:
            assert c in by_id, f"{c}: no such customer"
            assert c not in seen, f"{c} visited twice"
            seen.add(c)
            v = by_id[c]
            t += distance_hundredths(here, v)
            assert t <= _hundredths(v.close, c), f"{route['team']}: {c} reached at {t / 100} after its window " \
                                                f"closes at {v.close}"
            t = max(t, _hundredths(v.open, c)) + _hundredths(v.service, c)
            score += v.score
            here = v
        t += distance_hundredths(here, inst.depot)
        assert t <= _hundredths(inst.budget, "depot"), f"{route['team']}: back at {t / 100} > {inst.budget}"
        ends.append(t)
    assert score == Decimal(str(solution["total_prize"])), f"score {score} != total_prize {solution['total_prize']}"
    return int(score), ends


def read_bks(path: Path) -> dict[tuple[str, int], int]:
    """Best-known scores: (instance, tours) -> score, from BKS.tsv (instance, m, bks)."""
    rows = [line.split("\t") for line in Path(path).read_text().splitlines()[1:] if line.strip()]
    return {(name, int(m)): int(bks) for name, m, bks in rows}
