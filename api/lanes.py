"""Request lanes: the map's bounded reads take their turn in a lane of their own, first come first served.

A route that blocks on the database runs in a thread.  FastAPI sends every such route to one pool of threads, and
under load that pool shares the interpreter among all the requests it holds: each request then advances a little
at a time, a costly one (an HTML feature page, the heatmap of a view) finishes last, and the spread of latencies
grows with the number of threads (the p99 of bench/load was 2.7 times its p50 with 16 threads).

The routes the map calls at every move (near queries, feature and area pages, the heatmap, the main page) do
bounded work: a page has a limit, a view a box.  They run here instead, ``MAP_READ_THREADS`` at a time, and the
requests waiting for a thread are taken in the order they came (anyio's limiter is fair): a request waits for the
ones before it and then has the interpreter nearly to itself, so every request of the map waits about as long as
every other (bench/load: p99 about twice the p50 with 4 threads, docs/benchmarks.md).  Of 2, 4, 6, 8 and 16
threads, four gave the lowest p99 at about the same rate as sixteen (a request waits on PostgreSQL part of its
time, so a few threads overlap it); two left a core idle.

Everything else (exports, reports, plans, imports, record pages) keeps FastAPI's pool, so that a long export or a
plan being made never holds up the map, and the map's lane never holds up them.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable
from typing import Any

import anyio
from anyio import to_thread

MAP_READ_THREADS = 4

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def _map_read_limiter() -> anyio.CapacityLimiter:
    # one per event loop (a limiter belongs to the loop it was made in; tests start several)
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(MAP_READ_THREADS)
    return limiter


def map_read(route: Callable[..., Any]) -> Callable[..., Any]:
    """Run this blocking route in the map's read lane (module docstring).  Put it under ``@router.get``: FastAPI
    reads the route's parameters from the function it wraps."""

    @functools.wraps(route)
    async def in_map_read_lane(*args: Any, **kwargs: Any) -> Any:
        return await to_thread.run_sync(functools.partial(route, *args, **kwargs), limiter=_map_read_limiter())

    return in_map_read_lane
