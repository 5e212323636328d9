"""How steady the host gives this machine its CPU: a fixed loop counted in 50 ms windows.

On the shared hosts these benches run on, the machine's cores sometimes run at 40-50 % of their speed for about
half a second every few seconds, both cores at once (2026-12-05: every 5.6 s), whatever runs inside it; the
kernel does not count it as stolen time.  Under bench/load's 50 clients each such slowdown holds up every request
in flight, and the p99 of a run rises from about 120 ms to 450-800 ms, anonymous or not, this code or the
baseline.  So the bench measures the host before and after its runs, and a figure taken while the host slowed
down says so.

``python bench/load/host_check.py [SECONDS]`` prints the same check alone.
"""

from __future__ import annotations

import sys
import time

WINDOW_S = 0.05
SLOW = 0.6  # a window that did less than this share of the median window's work ran slowed down


def cpu_busy() -> tuple[float, float, float]:
    """(busy, stolen, total) jiffies of the whole machine, from /proc/stat.  Stolen: the time the host ran something
    else while this machine had work for its cores (a shared host's neighbours; in bursts of a few tenths of a second
    it stalls every request at once, whatever riskmap does)."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = values[3] + values[4]
    steal = values[7] if len(values) > 7 else 0
    return sum(values) - idle - steal, steal, sum(values)


def host_check(seconds: float = 10.0) -> dict:
    """Count a fixed loop's work in ``WINDOW_S`` windows for ``seconds``: the share of windows slowed down, the
    longest slowed stretch (s) and when the stretches began (s from the start)."""
    counts: list[tuple[float, int]] = []
    t0 = window_start = time.perf_counter()
    n = 0
    while True:
        for _ in range(1000):
            n += 1
        now = time.perf_counter()
        if now - window_start >= WINDOW_S:
            counts.append((window_start - t0, n))
            n, window_start = 0, now
            if now - t0 >= seconds:
                break
    work = sorted(c for _, c in counts)
    median = work[len(work) // 2]
    slow = [(t, c) for t, c in counts if c < SLOW * median]
    starts: list[float] = []
    longest = stretch = 0.0
    last = None
    for t, _ in slow:
        if last is None or t - last > 1.5 * WINDOW_S:
            starts.append(round(t, 2))
            stretch = 0.0
        stretch += WINDOW_S
        longest = max(longest, stretch)
        last = t
    return {"windows": len(counts), "slow_share": len(slow) / max(1, len(counts)), "longest_s": longest,
            "starts": starts}


def describe(check: dict) -> str:
    if not check["starts"]:
        return "steady (no 50 ms window below 60 % of the median speed)"
    starts = ", ".join(f"{s:g}" for s in check["starts"][:8])
    return (f"slowed down in {100 * check['slow_share']:.0f} % of the 50 ms windows ({len(check['starts'])} "
            f"stretches, the longest {check['longest_s']:.2f} s, beginning at {starts} s)")


if __name__ == "__main__":
    print("host:", describe(host_check(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)))
