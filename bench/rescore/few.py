"""Benchmark: the background re-scoring run after one inspector's write, this checkout against another (issue 15,
the p99 goal of bench/load).

    python bench/rescore/few.py [--runs 10] [--compare-root /work/main] [--rebuild]

Data: the demo (``riskmap demo --no-serve``: Tangshan, 3,000 enterprises, 250 ponds, 800 venues, 25 pipelines, two
synthetic years of records, scored) in an embedded cluster of the bench's own ($TMPDIR/riskmap-bench-rescore-few/
cluster), built when missing.  Its own, so that the server's CPU time it reads is the runs' alone.

Two scoring processes, one per checkout (this one and ``--compare-root``, the baseline), each as the API's
background scorer is (api/rescoring.py): started once, the scoring modules imported and the connection kept, then
one ``score(conn, model)`` (changes only) per write.  The writes, made by this script between runs and not timed,
are those of a busy day, one per run, on a site drawn at random (seeded):

- ``inspection``: an inspection with no findings recorded (``POST /inspections``);
- ``danger``: a general hidden danger found (``POST /hidden-dangers``);
- ``rectified``: an open hidden danger rectified (its status changed);
- ``attributes``: one enterprise's register counts edited (``PATCH /features/enterprise/{id}``);
- ``moved``: one enterprise moved by about 30 m.

The two checkouts take turns, write by write, as the shared machine's speed drifts.  Measured per run: the scoring
process's CPU time (all its threads), the database server's CPU time (every process of the bench's cluster, those
that ended included: the connection of the run and any it opened), and the wall time of ``score()``.  Reported:
the medians per kind of write and over all runs, and the ratios baseline / this checkout.  Before the runs, both
checkouts' stored results after the same writes are not compared here: tests/geo/risk/test_few_rows.py does that.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.demo_cluster import demo_cluster  # noqa: E402

HERE = Path(tempfile.gettempdir()) / "riskmap-bench-rescore-few"
KINDS = ("inspection", "danger", "rectified", "attributes", "moved")
SEED = 20261205

# The scoring process of one checkout: reads "run" lines, answers each with a JSON line of what one run took.
CHILD = r"""
import json, os, sys, time
from geo import store
from geo.risk.config import load_model
from geo.risk.scoring import score
import geo
os.nice(10)  # as api/rescoring.py's scoring process
conn = store.connect(sys.argv[1])
model = load_model()
score(conn, model)  # (whatever is pending, untimed)
print(json.dumps({"geo": os.path.dirname(geo.__file__)}), flush=True)
for line in sys.stdin:
    c0, t0 = time.process_time(), time.perf_counter()
    s = score(conn, model)
    print(json.dumps({"cpu": time.process_time() - c0, "wall": time.perf_counter() - t0, "full": s.full,
                      "changes": s.changes, "scored": s.scored, "areas": s.areas}), flush=True)
"""


def prepare(rebuild: bool) -> tuple[str, int]:
    """The bench's cluster started and holding the scored demo; returns the database URL and the postmaster's pid."""
    url = demo_cluster(HERE, rebuild)
    return url, int((HERE / "cluster" / "pgdata" / "postmaster.pid").read_text().split()[0])


def server_cpu(postmaster: int) -> float:
    """CPU seconds of the cluster so far: the postmaster's own and its ended children's, plus its live children's."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(pid: int) -> list[str]:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:].decode().split()

    own = fields(postmaster)
    total = sum(int(v) for v in own[11:15])  # utime, stime, cutime, cstime
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                f = fields(int(entry.name))
            except (OSError, ValueError):
                continue
            if int(f[1]) == postmaster:
                total += int(f[11]) + int(f[12])
    return total / tick


class Scorer:
    """The scoring process of one checkout."""

    def __init__(self, name: str, root: Path, url: str):
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(root)}
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, url], cwd=root, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        hello = json.loads(self.proc.stdout.readline())
        if Path(hello["geo"]).resolve() != (root / "geo").resolve():
            raise SystemExit(f"{name}: the scoring process imported {hello['geo']}, not {root / 'geo'}")

    def run(self) -> dict:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name}: the scoring process ended ({self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def write(conn, kind: str, rng: random.Random, ids: dict[str, list[int]], tag: str) -> None:
    """One write of ``kind`` (module docstring), committed."""
    site_kind = rng.choices(("enterprise", "tailings_pond", "venue"), weights=(6, 1, 2))[0]
    site = rng.choice(ids[site_kind])
    with conn.cursor() as cur:
        if kind == "inspection":
            cur.execute("INSERT INTO inspection (source_id, site_kind, site_id, inspected_on, outcome) "
                        "VALUES (%s, %s, %s, current_date, 'no_findings')", (tag, site_kind, site))
        elif kind == "danger":
            cur.execute("INSERT INTO hidden_danger (source_id, site_kind, site_id, description, grade, found_on, "
                        "deadline, status, status_changed_on) VALUES (%s, %s, %s, '压力表未定期校验 (bench)', "
                        "'general', current_date, current_date + 30, 'open', current_date)", (tag, site_kind, site))
        elif kind == "rectified":
            cur.execute("SELECT id FROM hidden_danger WHERE status IN ('open', 'reopened') ORDER BY random() LIMIT 1")
            danger = cur.fetchone()[0]
            cur.execute("UPDATE hidden_danger SET status = 'rectified', status_changed_on = current_date, "
                        "rectified_on = current_date WHERE id = %s", (danger,))
        elif kind == "attributes":
            cur.execute("UPDATE enterprise SET employees = coalesce(employees, 0) + 7, "
                        "violations_12m = (coalesce(violations_12m, 0) + 1) %% 6 WHERE id = %s",
                        (rng.choice(ids["enterprise"]),))
        elif kind == "moved":
            angle = rng.uniform(0, 6.283)
            cur.execute("UPDATE enterprise SET geom = ST_Translate(geom, 0.00027 * cos(%s), 0.00027 * sin(%s)) "
                        "WHERE id = %s", (angle, angle, rng.choice(ids["enterprise"])))
        else:
            raise ValueError(f"no write of kind {kind!r}")
    conn.commit()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per kind of write and checkout")
    ap.add_argument("--compare-root", type=Path, default=None,
                    help="the checkout to compare with (the baseline; default: this one against itself)")
    ap.add_argument("--rebuild", action="store_true", help="build the bench's database again")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from geo import store

    url, postmaster = prepare(args.rebuild)
    conn = store.connect(url)
    with conn.cursor() as cur:
        ids = {}
        for kind in ("enterprise", "tailings_pond", "venue"):
            cur.execute(f"SELECT id FROM {kind} ORDER BY id")
            ids[kind] = [r[0] for r in cur.fetchall()]
    conn.commit()
    base_root = (args.compare_root or ROOT).resolve()
    scorers = {"baseline": Scorer("baseline", base_root, url), "this": Scorer("this", ROOT, url)}
    rng = random.Random(args.seed)
    took: dict[tuple[str, str], list[dict]] = {}
    stamp = time.strftime("%Y%m%dT%H%M%S")
    order = [k for k in KINDS for _ in range(args.runs)]
    rng.shuffle(order)
    try:
        for i, kind in enumerate(order):
            for name in (("baseline", "this") if i % 2 == 0 else ("this", "baseline")):
                write(conn, kind, rng, ids, f"bench-few-{stamp}-{i}-{name}")
                s0 = server_cpu(postmaster)
                r = scorers[name].run()
                r["server_cpu"] = server_cpu(postmaster) - s0
                if r["full"]:
                    raise SystemExit(f"{name}: a {kind} write made a full run: {r}")
                took.setdefault((name, kind), []).append(r)
    finally:
        for s in scorers.values():
            s.close()
        conn.close()

    print(f"baseline: {base_root}; this: {ROOT}; {args.runs} runs per kind of write and checkout, alternated")
    print("write | checkout | scoring process CPU | server CPU | wall | areas rows (median)")
    rows = {}
    for kind in (*KINDS, "all"):
        for name in ("baseline", "this"):
            runs = [r for k in KINDS for r in took.get((name, k), []) if kind in ("all", k)]
            rows[(kind, name)] = [median([r[f] * 1000 for r in runs]) for f in ("cpu", "server_cpu", "wall")]
            cpu, server, wall = rows[(kind, name)]
            print(f"{kind} | {name} | {cpu:.1f} ms | {server:.1f} ms | {wall:.1f} ms | "
                  f"{median([r['areas'] for r in runs]):.0f}")
        b, t = rows[(kind, "baseline")], rows[(kind, "this")]
        print(f"{kind} | ratio baseline / this | {b[0] / t[0]:.2f} | {b[1] / max(t[1], 1e-9):.2f} | "
              f"{b[2] / t[2]:.2f} |")
    print(json.dumps({f"{k}:{n}": dict(zip(("cpu_ms", "server_cpu_ms", "wall_ms"), v, strict=True))
                      for (k, n), v in rows.items()}))


if __name__ == "__main__":
    main()
