"""CPU a request of bench/load's read mix costs the server and PostgreSQL, one client, checkouts in turn.

    python bench/load/cpu_alone.py [--requests 2000] [--repeat 4] [--only TYPE] ROOT [ROOT ...]

On a machine shared with other work, latencies under load move with everything else that runs; the CPU time a
request costs moves much less.  This serves each checkout ROOT (``riskmap serve --workers 1``, on bench/load's own
database, built by ``bench/load/run.py`` when missing), sends the same ``--requests`` reads of the mix (``--only``:
one request type, e.g. "layer: H3 zoning") from one client, and reads from /proc the CPU time (user + system)
the server's process tree and the cluster's (the postmaster and every backend) used meanwhile; the checkouts are
measured in turn, ``--repeat`` times, and the medians printed with their ratio to the first ROOT (the baseline).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as load  # noqa: E402 - bench/load/run.py: the database, the server, the mix and the client

TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    children = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children[int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])].append(int(entry))
            except OSError:
                pass
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children[p]
    return tree


def cpu_s(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass  # ended meanwhile
    return total / TICKS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="+", help="checkouts to serve; the first is the baseline")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--only", help="one request type of the mix")
    args = ap.parse_args()
    import uvloop

    url = load.prepare(False)
    reg = load.region(url, load.SEED)
    postmaster = int((load.HERE / "cluster" / "pgdata" / "postmaster.pid").read_text().split()[0])
    rng = random.Random(load.SEED)
    reads = [load.read_request(rng, reg) for _ in range(args.requests)]
    if args.only:
        reads = [r for r in reads if r[0] == args.only]
    servers = {root: load.start_server(1, "bench-cpu-" + os.urandom(16).hex(), Path(root).resolve())
               for root in args.roots}
    figures = collections.defaultdict(list)
    try:
        for k in range(args.repeat):
            for root in args.roots:
                proc, port = servers[root]

                async def measure(proc=proc, port=port) -> tuple[float, float, float]:
                    client = load.Client(port)
                    for _, path in reads[:50]:  # warm
                        await client.request("GET", path, {}, None)
                    s0, p0, t0 = cpu_s(process_tree(proc.pid)), cpu_s(process_tree(postmaster)), time.perf_counter()
                    for _, path in reads:
                        status, _, _ = await client.request("GET", path, {}, None)
                        if status != 200:
                            raise RuntimeError(f"GET {path} answered {status}")
                    s1, p1, t1 = cpu_s(process_tree(proc.pid)), cpu_s(process_tree(postmaster)), time.perf_counter()
                    client.close()
                    n = len(reads) / 1000
                    return (s1 - s0) / n, (p1 - p0) / n, (t1 - t0) / n

                server, pg, wall = uvloop.run(measure())
                figures[root].append((server, pg, wall))
                print(f"run {k + 1}, {root}: server {server:.3f} ms, PostgreSQL {pg:.3f} ms of CPU a request "
                      f"(wall {wall:.2f} ms)", flush=True)
    finally:
        for proc, _ in servers.values():
            load.stop(proc)
    base = None
    for root in args.roots:
        med = [statistics.median(f[i] for f in figures[root]) for i in range(3)]
        base = base or med
        print(f"{root}, medians of {args.repeat}: server {med[0]:.3f} ms, PostgreSQL {med[1]:.3f} ms, both "
              f"{med[0] + med[1]:.3f} ms of CPU a request; ratio to {args.roots[0]}: server {med[0] / base[0]:.3f}, "
              f"PostgreSQL {med[1] / base[1]:.3f}, both {(med[0] + med[1]) / (base[0] + base[1]):.3f}")


if __name__ == "__main__":
    main()
