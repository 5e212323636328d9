"""Benchmark: riskmap under load and through a database restart, on loopback (issue 15, part 4).

    python bench/load/run.py [--clients 50] [--seconds 60] [--quick] [--workers 1] [--auth both|off|on]
                             [--credentials bearer|api-key] [--token T] [--write-share 0.005] [--repeat 1]
                             [--compare-root DIR] [--fault] [--fault-only] [--outage-s 5]
                             [--compare-generators] [--rebuild]

Data: the demo (``riskmap demo --no-serve``: Tangshan, 3,000 enterprises, 250 ponds, 800 venues, 25 pipelines, two
synthetic years of records, scored) in an embedded cluster of the bench's own ($TMPDIR/riskmap-bench-load/cluster,
``RISKMAP_DATA_DIR``), built when missing (``--rebuild`` builds it again).  Its own, because the fault run stops
and starts that cluster's PostgreSQL, which must not pull the database from under anyone else.

Server: ``riskmap serve --workers W`` (1 by default, as in the issue's probe) started by the bench on a free
loopback port, with a fresh admin key in ``RISKMAP_API_KEYS``.

Load: ``--clients`` concurrent clients (50), each on its own keep-alive connection sending its next request as
soon as the last one is answered, for ``--seconds`` (60; ``--quick``: 10).  The mix, in shares of the reads:
- map layers, as maps/static/riskmap.js asks for a 1280 x 860 view (43 %): county zoning of the whole region
  (``/areas?level=county``, zoom 9), H3 zoning of a zoom 10-11 view (``/areas?level=h3:7|8``), one feature class
  of a zoom-13 view (``/features?kind=&bbox=&limit=1000``), pipeline segments of a zoom-13 view
  (``/pipeline-segments``), the exposure heatmap of a zoom-10 view (``/exposure?max_points=11008``);
- near queries at random points inside the region's counties (``/risks/near``, 2 km, 20 %);
- feature pages, JSON (``/features/{kind}/{id}``, 10 %) and HTML (``?format=html``, 5 %);
- bbox pages of 100 enterprises in 0.05° boxes (``/features?kind=enterprise&bbox=&limit=100``, 10 %);
- the map page ``/`` (zh or en, 12 %);
and ``--write-share`` of all requests (0.5 %) are writes an inspector makes: an inspection of a random site, half
of them with a hidden danger found (``POST /inspections``), or a hidden danger alone (``POST /hidden-dangers``).
Each write waits for the re-scoring it causes, up to the server's ``rescore_wait_s`` (5 s), as it does in use.

Authentication: ``--auth off``: reads anonymous (the server runs with ``RISKMAP_ANONYMOUS_READS=true``), writes
with the admin key (``X-API-Key``); ``--auth on``: every request, reads and writes, sends credentials:
``Authorization: Bearer <token>`` (``--credentials bearer``, the default) with the token of an inspector the bench
makes (``riskmap users add bench-load-inspector --role inspector``, or ``rotate`` once it exists), or ``--token``
/ $RISKMAP_BENCH_TOKEN; or the admin key in ``X-API-Key`` (``--credentials api-key``).  Before the runs with
authentication, a fresh token's first ``--clients`` requests are sent at once and the time until the last is
answered is reported (each request checks the token's slow hash until one check is remembered).  ``--auth both``
(the default) runs without then with, ``--repeat`` times each, alternating, as the shared machine's speed drifts;
medians reported.  ``--compare-root DIR`` also serves the checkout in DIR (the code before) and loads it without
authentication in turn with this one, as the baseline, and measures the map page alone (one client) on both.

Reported per run: requests per second, errors (any status but 2xx, except 409 on a write, which a concurrent write
may cause and which says "send it again"; a connection failure counts too), p50 and p99 latency overall and per
request type, the load generator's own CPU time, the machine's load and busy share, the time the host stole, and
the connections the clients opened (50: one each, kept alive).  Before the first run and after the last, a 10 s
check of the host (bench/load/host_check.py): on a shared host the cores sometimes run at half speed for half a
second every few seconds, which the kernel does not count as stolen, and every request in flight waits; a run
beside such slowdowns has a p99 of 450-800 ms whatever the code.  Goals (issue 15): 0 errors, p99 under 200 ms,
authentication costing under 10 % of the rate.

Fault run (``--fault``, after the others; ``--fault-only`` alone): the same load for ``--seconds`` (at least 30),
and at a third of it the bench stops the cluster (``riskmap db stop``: pg_ctl stop -m fast), waits ``--outage-s``
(5), starts it again (``riskmap db start``), riskmap still running.  Checked: during the outage every answer that
is not a 2xx is a 503 with ``Retry-After``; once the database is back, requests succeed again without a restart of
riskmap (the time to the first success, and every error after one second of grace, are reported); every write that
got a 2xx is in the database afterwards (the bench keeps the ids it was given and looks each one up).

The load generator.  The two candidates were measured on this machine with ``--compare-generators`` (the same read
mix, 50 connections, 15 s each, one server worker, alternated twice; docs/benchmarks.md): wrk (C, Debian's ``wrk``,
a Lua script cycling through the same requests, one thread) and the asyncio client below (one process, uvloop and
httptools, hand-written HTTP/1.1 keep-alive, so that no general-purpose client's work is in the way).  wrk disturbs
less: about 100 µs of CPU a request (1.7 % of one core) against the asyncio client's 340-490 µs (6-7 % of one
core), and in six alternated pairs over three sessions the server answered 0.94 to 1.32 times (median 1.15) as many
requests a second under wrk as under the asyncio client, on a machine shared at a load of 9-13, where wrk's own
rate drifted from 146 to 203 requests/s between runs.  The asyncio client is
used nonetheless, because what the bench must report cannot come out of wrk: a latency per request type (wrk's
Lua has no clock finer than a second and wrk keeps one histogram), the Retry-After of each 503, and the ids of the
writes it must check afterwards.  Its few percent of one core make its figures slightly pessimistic.  ``wrk`` is
installed (``apt-get install -y wrk``, Debian's package, when running as root) only for ``--compare-generators``.

The machine is shared: run it when it is otherwise idle, and read the load printed beside each run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.demo_cluster import demo_cluster, demo_env  # noqa: E402
from bench.load.host_check import cpu_busy, describe, host_check  # noqa: E402
from bench.processes import stop  # noqa: E402

HERE = Path(tempfile.gettempdir()) / "riskmap-bench-load"
SERVER_LOG = HERE / "serve.log"
SEED = 20261204
VIEW_PX = (1280, 860)  # the browser window the map layers are asked for
ISSUE_PROBE = {"rps": 387.0, "p50_ms": 121.0, "p99_ms": 341.0, "map_page_p50_ms": 365.0, "map_page_p99_ms": 1280.0}
GOAL_P99_MS = 200.0
GOAL_AUTH_COST = 0.10
REQUEST_TIMEOUT_S = 60.0  # an answer that has not come by then counts as an error (status 0)


# ----- the database and the server --------------------------------------------------------------------------------

def bench_env(extra: dict | None = None) -> dict:
    return demo_env(HERE, extra)


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=bench_env(), check=check,
                          capture_output=True, text=True)


def prepare(rebuild: bool) -> str:
    """The bench's cluster started and holding the scored demo; returns the database URL."""
    return demo_cluster(HERE, rebuild)


@dataclass
class Region:
    """What the requests are drawn from: the region's extent, points inside its counties, feature ids."""

    extent: tuple[float, float, float, float]
    points: list[tuple[float, float]]
    ids: dict[str, list[int]]
    h3_resolutions: list[int]


def region(url: str, seed: int) -> Region:
    from geo import store
    from geo.risk.config import load_model

    conn = store.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM area "
                    "WHERE level = 'county') x")
        extent = tuple(float(v) for v in cur.fetchone())
        cur.execute("SELECT ST_X(p.geom), ST_Y(p.geom) FROM ST_Dump(ST_GeneratePoints((SELECT ST_Union(geom) FROM "
                    "area WHERE level = 'county'), 5000, %s)) p", (seed % 100_000,))
        points = [(float(x), float(y)) for x, y in cur.fetchall()]
        ids = {}
        for kind in ("enterprise", "tailings_pond", "venue", "pipeline"):
            cur.execute(f"SELECT id FROM {kind} ORDER BY id")
            ids[kind] = [r[0] for r in cur.fetchall()]
    conn.close()
    return Region(extent, points, ids, sorted(int(r) for r in load_model()["area"]["h3_resolutions"]))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int, key: str, root: Path = ROOT) -> tuple[subprocess.Popen, int]:
    """``riskmap serve`` of the code in ``root`` (this checkout, or the baseline's) on a free port."""
    port = free_port()
    # anonymous reads on, for the runs without authentication (the runs with it send credentials anyway)
    env = bench_env({"RISKMAP_API_KEYS": key, "RISKMAP_ANONYMOUS_READS": "true", "PYTHONPATH": str(root)})
    # the server's log to a file: through a pipe nobody reads, the warning logged for each 503 of an outage
    # would fill the pipe and stop the server
    log = open(SERVER_LOG, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers",
                             str(workers)], cwd=root, env=env, stdout=log, stderr=log, start_new_session=True)
    log.close()
    t0 = time.time()
    while time.time() - t0 < 90:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                if r.status == 200:
                    return proc, port
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"riskmap serve did not start: {SERVER_LOG.read_text(errors='replace')[-2000:]}")


# ----- the mix -------------------------------------------------------------------------------------------------------

READ_MIX = {  # request type: share of the reads (%)
    "layer: county zoning": 8, "layer: H3 zoning": 10, "layer: features": 15, "layer: pipeline segments": 5,
    "layer: exposure": 5, "near": 20, "feature JSON": 10, "feature HTML": 5, "bbox page": 10, "map page /": 12,
}
FEATURE_KINDS = ("enterprise", "tailings_pond", "venue")


def view_box(rng: random.Random, reg: Region, zoom: int) -> str:
    """The bbox riskmap.js asks for a VIEW_PX view at ``zoom`` centred at a random point of the region."""
    lon, lat = rng.choice(reg.points)
    import math

    half_w = VIEW_PX[0] / 2 * 360 / (256 * 2 ** zoom)
    half_h = VIEW_PX[1] / 2 * 360 / (256 * 2 ** zoom) * math.cos(math.radians(lat))
    return f"{lon - half_w:.5f},{lat - half_h:.5f},{lon + half_w:.5f},{lat + half_h:.5f}"


def read_request(rng: random.Random, reg: Region) -> tuple[str, str]:
    """(type, path) of a random read of the mix."""
    kind_of = rng.choices(list(READ_MIX), weights=list(READ_MIX.values()))[0]
    if kind_of == "layer: county zoning":
        x0, y0, x1, y1 = reg.extent
        return kind_of, f"/areas?level=county&bbox={x0:.5f},{y0:.5f},{x1:.5f},{y1:.5f}&limit=2000"
    if kind_of == "layer: H3 zoning":
        zoom = rng.choice((10, 11))
        res = min(max(zoom - 3, min(reg.h3_resolutions)), max(reg.h3_resolutions))
        return kind_of, f"/areas?level=h3:{res}&bbox={view_box(rng, reg, zoom)}&limit=2000"
    if kind_of == "layer: features":
        return kind_of, f"/features?kind={rng.choice(FEATURE_KINDS)}&bbox={view_box(rng, reg, 13)}&limit=1000"
    if kind_of == "layer: pipeline segments":
        return kind_of, f"/pipeline-segments?bbox={view_box(rng, reg, 13)}&limit=1000"
    if kind_of == "layer: exposure":
        return kind_of, f"/exposure?bbox={view_box(rng, reg, 10)}&max_points={VIEW_PX[0] * VIEW_PX[1] // 100}"
    if kind_of == "near":
        lon, lat = rng.choice(reg.points)
        return kind_of, f"/risks/near?lon={lon:.6f}&lat={lat:.6f}&radius_m=2000"
    if kind_of in ("feature JSON", "feature HTML"):
        kind = rng.choices(("enterprise", "tailings_pond", "venue", "pipeline"), weights=(6, 1, 2, 1))[0]
        path = f"/features/{kind}/{rng.choice(reg.ids[kind])}"
        return kind_of, path + ("?format=html" if kind_of == "feature HTML" else "")
    if kind_of == "bbox page":
        lon, lat = rng.choice(reg.points)
        box = f"{lon:.5f},{lat:.5f},{lon + 0.05:.5f},{lat + 0.05:.5f}"
        return kind_of, f"/features?kind=enterprise&bbox={box}&limit=100"
    return kind_of, "/" + rng.choice(("", "?lang=en"))


def write_request(rng: random.Random, reg: Region, tag: str) -> tuple[str, str, dict]:
    """(type, path, body) of an inspector's write: an inspection (half with a hidden danger) or a danger alone."""
    today = dt.date.today()
    kind = rng.choices(("enterprise", "tailings_pond", "venue"), weights=(6, 1, 2))[0]
    site = rng.choice(reg.ids[kind])
    danger = {"description": "压力表未定期校验 (bench)", "grade": rng.choices(("general", "major"), weights=(9, 1))[0],
              "deadline": (today + dt.timedelta(days=30)).isoformat(), "responsible_unit": "bench"}
    if rng.random() < 0.7:
        found = rng.random() < 0.5
        body = {"source_id": f"bench-load-{tag}", "site_kind": kind, "site_id": site, "inspected_on": today.isoformat(),
                "team": "bench", "outcome": "dangers_found" if found else "no_findings",
                "hidden_dangers": [{**danger, "source_id": f"bench-load-{tag}-d"}] if found else []}
        return "write: inspection", "/inspections", body
    body = {"source_id": f"bench-load-{tag}", "site_kind": kind, "site_id": site, "found_on": today.isoformat(),
            **danger}
    return "write: hidden danger", "/hidden-dangers", body


# ----- the load generator --------------------------------------------------------------------------------------------

class Answer:
    """httptools callbacks: the status, the headers asked for and the body of one response."""

    def __init__(self, keep_body: bool):
        self.headers: dict[bytes, bytes] = {}
        self.body = bytearray()
        self.keep_body = keep_body  # only a write's answer is read (its ids); the layers' are up to 600 KB
        self.done = False
        self.parser = None
        self.keep_alive = False

    def on_headers_complete(self) -> None:
        # asked here, not after the body: once the message is complete, httptools 0.9 answers False whatever the
        # headers said, and a client asking then reconnected for every request (a new connection each time, until
        # the ports in TIME_WAIT ran out and connecting stalled every few seconds)
        self.keep_alive = self.parser.should_keep_alive()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        if self.keep_body:
            self.body += body

    def on_message_complete(self) -> None:
        self.done = True


class Client:
    """One keep-alive HTTP/1.1 connection to the server (reconnecting when the server closes it)."""

    opened = 0  # connections opened by every client of the process (a run reports how many it opened)

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes | None
                      ) -> tuple[int, dict[bytes, bytes], bytes]:
        import httptools

        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            Client.opened += 1
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode("latin-1") + b"\r\n" + (body or b""))
        answer = Answer(keep_body=body is not None)
        parser = answer.parser = httptools.HttpResponseParser(answer)
        try:
            while not answer.done:
                chunk = await self.reader.read(262_144)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                parser.feed_data(chunk)
        except BaseException:
            self.close()
            raise
        if not answer.keep_alive:
            self.close()
        return parser.get_status_code(), answer.headers, bytes(answer.body)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Result:
    """One request: its type, when it ended (s since the run began), its latency (ms), status (0: no answer)."""

    kind: str
    ended: float
    ms: float
    status: int
    retry_after: bool = False
    written: list[tuple[str, int]] = field(default_factory=list)  # (table, id) of an acknowledged write


def is_error(r: Result) -> bool:
    return not (200 <= r.status < 300 or (r.status == 409 and r.kind.startswith("write")))


async def client_loop(k: int, port: int, reg: Region, seconds: float, write_share: float, headers: dict,
                      write_headers: dict, results: list[Result], t0: float, seed: int) -> None:
    rng = random.Random(seed * 1000 + k)
    client = Client(port)
    n = 0
    while True:
        start = time.perf_counter()
        if start - t0 >= seconds:
            break
        n += 1
        if rng.random() < write_share:
            kind, path, body = write_request(rng, reg, f"{seed}-{k}-{n}-{secrets.token_hex(3)}")
            method, payload, sent = "POST", json.dumps(body).encode(), write_headers
        else:
            (kind, path), method, payload, sent = read_request(rng, reg), "GET", None, headers
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):  # (no task per request, unlike wait_for)
                status, answer_headers, answer_body = await client.request(method, path, sent, payload)
        except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError):
            client.close()
            status, answer_headers, answer_body = 0, {}, b""
            await asyncio.sleep(0.05)  # the server is not there: do not spin
        end = time.perf_counter()
        r = Result(kind, end - t0, (end - start) * 1000, status, b"retry-after" in answer_headers)
        if method == "POST" and 200 <= status < 300:
            written = json.loads(answer_body)
            table = "inspection" if path == "/inspections" else "hidden_danger"
            r.written = [(table, written["id"])] + [("hidden_danger", d["id"])
                                                   for d in written.get("hidden_dangers", [])]
        results.append(r)
    client.close()


def load(port: int, reg: Region, clients: int, seconds: float, write_share: float, headers: dict,
               write_headers: dict, seed: int, during=None) -> tuple[list[Result], float]:
    """Run the clients for ``seconds``; ``during(t0)`` (a coroutine) runs beside them.  The results and the time."""
    import uvloop

    async def run() -> tuple[list[Result], float]:
        results: list[Result] = []
        t0 = time.perf_counter()
        tasks = [asyncio.create_task(client_loop(k, port, reg, seconds, write_share, headers, write_headers, results,
                                                 t0, seed)) for k in range(clients)]
        if during is not None:
            tasks.append(asyncio.create_task(during(t0)))
        await asyncio.gather(*tasks)
        return results, time.perf_counter() - t0

    return uvloop.run(run())


# ----- figures -------------------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, max(0, int(round(q / 100 * len(s) + 0.5)) - 1))]


def figures(results: list[Result], elapsed: float, window: float | None = None) -> dict:
    """Counts, rate, errors and latencies, overall and per request type.  The rate counts the requests answered
    within the load's ``window`` (its seconds; the last requests in flight, writes waiting for their scores
    among them, end after it)."""
    window = window or elapsed
    by_kind: dict[str, list[Result]] = {}
    for r in results:
        by_kind.setdefault(r.kind, []).append(r)
    kinds = {k: {"n": len(rs), "errors": sum(is_error(r) for r in rs),
                 "p50_ms": percentile([r.ms for r in rs], 50), "p99_ms": percentile([r.ms for r in rs], 99)}
             for k, rs in sorted(by_kind.items())}
    statuses: dict[int, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return {"requests": len(results), "rps": sum(r.ended <= window for r in results) / window,
            "errors": sum(is_error(r) for r in results),
            "p50_ms": percentile([r.ms for r in results], 50), "p99_ms": percentile([r.ms for r in results], 99),
            "kinds": kinds, "statuses": dict(sorted(statuses.items()))}


def measured(fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)``; its result with the machine's CPU use and the generator's own CPU time meanwhile."""
    busy0, steal0, total0 = cpu_busy()
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    opened0 = Client.opened
    out = fn(*args, **kwargs)
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, steal1, total1 = cpu_busy()
    cores = os.cpu_count() or 1
    return out, {"machine_busy": (busy1 - busy0) / max(1, total1 - total0),
                 "stolen": (steal1 - steal0) / max(1, total1 - total0),
                 "connections": Client.opened - opened0,
                 "generator_cpu_s": (self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime),
                 "children_cpu_s": (kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime),
                 "cores": cores}


def print_run(name: str, f: dict, use: dict, elapsed: float) -> None:
    print(f"{name}: {f['requests']:,} requests in {elapsed:.1f} s, {f['rps']:.0f} requests/s, {f['errors']} errors, "
          f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms; statuses {f['statuses']}; generator CPU "
          f"{use['generator_cpu_s']:.1f} s ({100 * use['generator_cpu_s'] / elapsed / use['cores']:.1f} % of the "
          f"machine), machine busy {100 * use['machine_busy']:.0f} %, stolen by the host "
          f"{100 * use.get('stolen', 0):.1f} %, load average {os.getloadavg()[0]:.2f}, "
          f"{use.get('connections', 0):,} connections opened", flush=True)
    for kind, k in f["kinds"].items():
        print(f"    {kind:26s} {k['n']:7,} requests, {k['errors']:4} errors, p50 {k['p50_ms']:7.1f} ms, "
              f"p99 {k['p99_ms']:7.1f} ms")


INSPECTOR = "bench-load-inspector"


def inspector_token() -> str:
    """A token of the bench's own inspector (``riskmap users add``, or ``rotate`` once the user exists)."""
    made = cli("users", "rotate", INSPECTOR, check=False)
    if made.returncode != 0:
        made = cli("users", "add", INSPECTOR, "--role", "inspector")
    return [line for line in made.stdout.splitlines() if line.strip()][-1].strip()


def auth_headers(auth: bool, credentials: str, key: str, token: str | None) -> tuple[dict, dict]:
    """(read headers, write headers) of a run with or without authentication."""
    if credentials == "bearer":
        cred = {"Authorization": f"Bearer {token}"}
    else:
        cred = {"X-API-Key": key}
    return (cred if auth else {}), (cred if auth else {"X-API-Key": key})


def missing_writes(url: str, results: list[Result]) -> tuple[int, list[tuple[str, int]]]:
    """(acknowledged writes, those of them not in the database)."""
    from geo import store

    acknowledged = [w for r in results for w in r.written]
    conn = store.connect(url)
    missing = []
    with conn.cursor() as cur:
        for table in ("inspection", "hidden_danger"):
            ids = [i for t, i in acknowledged if t == table]
            cur.execute(f"SELECT id FROM {table} WHERE id = ANY(%s)", (ids,))
            found = {row[0] for row in cur.fetchall()}
            missing += [(table, i) for i in ids if i not in found]
    conn.close()
    return len(acknowledged), missing


def mix_alone(port: int, reg: Region, headers: dict, n: int = 400) -> list[float]:
    """Latencies (ms) of the first ``n`` reads of the mix (the same ones each time) sent by one client with
    ``headers``: what a request costs the server, without the queue of a loaded server."""
    import uvloop

    rng = random.Random(SEED)
    paths = [read_request(rng, reg)[1] for _ in range(n)]

    async def run() -> list[float]:
        client, times = Client(port), []
        for path in paths:
            t = time.perf_counter()
            status, _, _ = await client.request("GET", path, headers, None)
            times.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
        client.close()
        return times

    return uvloop.run(run())


def page_alone(port: int, n: int = 300) -> list[float]:
    """Latencies (ms) of ``n`` requests of the map page ``/`` (zh and en in turn) by one client: its own cost,
    without the queue of a loaded server."""
    import uvloop

    async def run() -> list[float]:
        client, times = Client(port), []
        for i in range(n):
            t = time.perf_counter()
            status, _, _ = await client.request("GET", "/?lang=en" if i % 2 else "/", {}, None)
            times.append((time.perf_counter() - t) * 1000)
            if status != 200:
                raise RuntimeError(f"GET / answered {status}")
        client.close()
        return times

    return uvloop.run(run())


# ----- the fault run -------------------------------------------------------------------------------------------------

def fault_run(url: str, reg: Region, args, key: str) -> bool:
    seconds = max(30.0, args.seconds)
    proc, port = start_server(args.workers, key)
    marks: dict[str, float] = {}

    async def restart(t0: float) -> None:
        await asyncio.sleep(seconds / 3)
        marks["stop"] = time.perf_counter() - t0
        await asyncio.to_thread(cli, "db", "stop")
        marks["stopped"] = time.perf_counter() - t0
        await asyncio.sleep(args.outage_s)
        marks["start"] = time.perf_counter() - t0
        await asyncio.to_thread(cli, "db", "start")
        marks["up"] = time.perf_counter() - t0
        print(f"  (database stopped at {marks['stop']:.1f} s and up again at {marks['up']:.1f} s)", flush=True)

    read, write = auth_headers(False, args.credentials, key, args.token)
    try:
        (results, elapsed), use = measured(load, port, reg, args.clients, seconds, args.write_share, read,
                                                         write, SEED + 99, during=restart)
        alive = proc.poll() is None
    finally:
        stop(proc)
    grace = 1.0
    before = [r for r in results if r.ended < marks["stop"]]
    outage = [r for r in results if marks["stop"] <= r.ended < marks["up"] + grace]
    after = [r for r in results if r.ended >= marks["up"] + grace]
    f = figures(results, elapsed, seconds)
    print_run(f"fault run ({args.clients} clients, {seconds:.0f} s, database stopped at {marks['stop']:.1f} s, "
              f"down {marks['stopped'] - marks['stop']:.1f} s later, started at {marks['start']:.1f} s, up at "
              f"{marks['up']:.1f} s)", f, use, elapsed)
    unavailable = [r for r in outage if r.status == 503]
    wrong = [r for r in outage if is_error(r) and r.status != 503]
    no_retry = [r for r in unavailable if not r.retry_after]
    # the first success once the start command was given (the server may accept before the command returns)
    first_ok = min((r.ended for r in results if r.ended >= marks["start"] and 200 <= r.status < 300), default=None)
    after_errors = [r for r in after if is_error(r)]
    acknowledged, missing = missing_writes(url, results)
    print(f"  before the stop: {len(before):,} requests, {sum(is_error(r) for r in before)} errors")
    print(f"  outage (stop .. up + {grace:g} s): {len(outage):,} requests, {len(unavailable):,} answered 503 "
          f"({len(no_retry)} without Retry-After), {len(wrong)} other errors "
          f"{sorted({r.status for r in wrong})}")
    print(f"  after: first success {first_ok - marks['start']:.2f} s after `riskmap db start` was run (which "
          f"returned after {marks['up'] - marks['start']:.2f} s)" if first_ok is not None
          else "  after: NO successful request after the database was up")
    print(f"  after the grace second: {len(after):,} requests, {len(after_errors)} errors "
          f"{sorted({r.status for r in after_errors})}; riskmap was {'still' if alive else 'NOT'} running "
          "(never restarted)")
    print(f"  writes acknowledged (2xx): {acknowledged}; missing from the database afterwards: {len(missing)}")
    ok = not wrong and not no_retry and first_ok is not None and not after_errors and not missing and alive \
        and len(unavailable) > 0
    print(f"fault run: {'passed' if ok else 'FAILED'} (503 with Retry-After during the outage, recovery without a "
          "restart, every acknowledged write kept)", flush=True)
    return ok


# ----- wrk, for --compare-generators ---------------------------------------------------------------------------------

WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def ensure_wrk() -> str:
    """wrk's path, installing Debian's package when it is missing (as ./run installs Debian packages)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt-get install -y wrk) ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, capture_output=True).returncode:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed for --compare-generators and is not installed: apt-get install wrk "
                         "(Debian's package), as root")
    return found


def wrk_run(port: int, paths: list[str], seconds: int, connections: int) -> tuple[dict, float]:
    """wrk over ``paths`` (one thread); its figures and its own CPU time."""
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "paths.txt").write_text("\n".join(paths) + "\n")
        (Path(d) / "cycle.lua").write_text(WRK_SCRIPT % (Path(d) / "paths.txt"))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([ensure_wrk(), "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency",
                              "-s", str(Path(d) / "cycle.lua"), f"http://127.0.0.1:{port}"],
                             capture_output=True, text=True, check=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)

    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return ({"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
             "p50_ms": ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
             "p99_ms": ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
             "errors": int(bad.group(1)) if bad else 0,
             "requests": int(re.search(r"(\d+) requests in", out).group(1))},
            after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


def compare_generators(reg: Region, args, key: str) -> None:
    seconds = 15
    rng = random.Random(SEED)
    paths = [read_request(rng, reg)[1] for _ in range(5000)]
    proc, port = start_server(args.workers, key)
    try:
        load(port, reg, args.clients, 3, 0.0, {}, {}, SEED)  # warm-up
        rows = []
        for _ in range(2):  # alternated, twice, as the machine's speed drifts
            w, wcpu = wrk_run(port, paths, seconds, args.clients)
            rows.append(("wrk (C, Lua script, 1 thread)", w, wcpu))
            (results, elapsed), use = measured(load, port, reg, args.clients, seconds, 0.0, {}, {}, SEED)
            f = figures(results, elapsed, seconds)
            rows.append(("asyncio client (uvloop, httptools)", f, use["generator_cpu_s"]))
    finally:
        stop(proc)
    print(f"=== load generators: the read mix, {args.clients} connections, {seconds} s each, alternated ===")
    for name, f, cpu in rows:
        print(f"  {name:38s} {f['rps']:6.0f} requests/s, p50 {f['p50_ms']:6.1f} ms, p99 {f['p99_ms']:6.1f} ms, "
              f"{f['errors']} errors; generator CPU {cpu:5.2f} s = {1e6 * cpu / max(1, f['requests']):5.0f} µs a "
              f"request, {100 * cpu / seconds:4.1f} % of one core", flush=True)


# ----- main ----------------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients (connections)")
    ap.add_argument("--seconds", type=float, default=60.0, help="seconds of load per run")
    ap.add_argument("--quick", action="store_true", help="10 s runs, to try the bench")
    ap.add_argument("--workers", type=int, default=1, help="riskmap serve --workers")
    ap.add_argument("--auth", choices=("both", "off", "on"), default="both",
                    help="runs without authentication (reads anonymous), with it (every request), or both")
    ap.add_argument("--credentials", choices=("bearer", "api-key"), default="bearer",
                    help="what an authenticated request sends: Authorization: Bearer (an inspector's token) or "
                         "X-API-Key (the admin key of RISKMAP_API_KEYS)")
    ap.add_argument("--token", default=os.environ.get("RISKMAP_BENCH_TOKEN"),
                    help="the bearer token to send (default: one of the bench's own inspector, made for the run)")
    ap.add_argument("--write-share", type=float, default=0.005, help="share of requests that are writes")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each kind, alternating (medians reported)")
    ap.add_argument("--fault", action="store_true", help="also the database-restart run")
    ap.add_argument("--fault-only", action="store_true", help="only the database-restart run")
    ap.add_argument("--outage-s", type=float, default=5.0, help="seconds the database stays down in the fault run")
    ap.add_argument("--compare-generators", action="store_true", help="only compare wrk with the asyncio client")
    ap.add_argument("--rebuild", action="store_true", help="build the demo database again")
    ap.add_argument("--compare-root", help="a checkout of the code before (e.g. /work/main): also served, loaded "
                                           "without authentication in turn with this one, as the baseline")
    args = ap.parse_args()
    if args.quick:
        args.seconds = 10.0

    print(f"=== riskmap under load ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC) ===", flush=True)
    url = prepare(args.rebuild)
    reg = region(url, SEED)
    key = "bench-" + secrets.token_urlsafe(32)
    if args.credentials == "bearer" and not args.token and not args.compare_generators and not args.fault_only:
        args.token = inspector_token()
    print(f"demo: {sum(len(v) for v in reg.ids.values()):,} features in {', '.join(f'{v:.3f}' for v in reg.extent)}; "
          f"{args.clients} clients, {args.seconds:g} s a run, {args.workers} server worker(s), writes "
          f"{100 * args.write_share:g} %; {os.cpu_count()} cores, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} before", flush=True)
    print(f"host before the runs (10 s): {describe(host_check(10.0))}", flush=True)
    if args.compare_generators:
        compare_generators(reg, args, key)
        return
    ok = True
    if not args.fault_only:
        modes = {"both": [False, True], "off": [False], "on": [True]}[args.auth]
        runs: dict[bool, list[dict]] = {m: [] for m in modes}
        proc, port = start_server(args.workers, key)
        base_proc = base_port = None
        baseline: list[dict] = []
        try:
            load(port, reg, args.clients, 3, args.write_share, {}, {"X-API-Key": key}, SEED)  # warm-up
            if args.compare_root:
                base_proc, base_port = start_server(args.workers, key, Path(args.compare_root).resolve())
                load(base_port, reg, args.clients, 3, args.write_share, {}, {"X-API-Key": key}, SEED)
            alone = {"this checkout": page_alone(port)}
            if base_port is not None:
                alone["baseline"] = page_alone(base_port)
                alone["this checkout"] += page_alone(port)
                alone["baseline"] += page_alone(base_port)
            for name, times in alone.items():
                print(f"map page / alone (one client, {len(times)} requests), {name}: median "
                      f"{statistics.median(times):.2f} ms, p99 {percentile(times, 99):.2f} ms", flush=True)
            if base_port is not None:
                print(f"  this checkout / baseline, median: "
                      f"{statistics.median(alone['this checkout']) / statistics.median(alone['baseline']):.3f}")
            if True in modes:
                # a fresh token's first requests, all at once: each checks the token's slow hash until one check
                # is remembered; then the runs measure the steady state
                read, write = auth_headers(True, args.credentials, key, args.token)
                results, elapsed = load(port, reg, args.clients, 3, args.write_share, read, write, SEED)
                first = sorted(results, key=lambda r: r.ended)[:args.clients]
                print(f"a fresh credential's first {len(first)} requests, sent at once: the last answered after "
                      f"{max(r.ms for r in first):,.0f} ms (p50 {percentile([r.ms for r in first], 50):,.0f} ms), "
                      f"{sum(is_error(r) for r in first)} errors", flush=True)
                # what authentication adds to each request, measured without the queue: the same reads by one
                # client with and without credentials, in turn three times; the mean is the server's time a request
                # (each request's median of its three, so that the heavy layers' spread does not drown the difference)
                anonymous, signed = [], []
                for _ in range(3):
                    anonymous.append(mix_alone(port, reg, {}))
                    signed.append(mix_alone(port, reg, read))
                bare = statistics.fmean(statistics.median(t) for t in zip(*anonymous, strict=True))
                sent = statistics.fmean(statistics.median(t) for t in zip(*signed, strict=True))
                print(f"the read mix alone (one client, {len(signed[0])} requests x 3 each): mean of each request's "
                      f"median {bare:.2f} ms anonymous, {sent:.2f} ms with credentials: authentication adds "
                      f"{sent - bare:+.2f} ms a request, {100 * (1 - bare / sent):.1f} % of the rate of a saturated "
                      "server (goal < 10 %)", flush=True)
            for k in range(args.repeat):
                if base_port is not None:  # the baseline's code, without authentication, in turn with ours
                    read, write = auth_headers(False, args.credentials, key, args.token)
                    (results, elapsed), use = measured(load, base_port, reg, args.clients, args.seconds,
                                                                     args.write_share, read, write, SEED + k)
                    baseline.append(figures(results, elapsed, args.seconds))
                    print_run(f"run {k + 1}, baseline {args.compare_root} without authentication", baseline[-1],
                              use, elapsed)
                for auth in modes:
                    read, write = auth_headers(auth, args.credentials, key, args.token)
                    (results, elapsed), use = measured(load, port, reg, args.clients, args.seconds,
                                                                     args.write_share, read, write, SEED + k)
                    f = figures(results, elapsed, args.seconds)
                    acknowledged, missing = missing_writes(url, results)
                    f["missing_writes"] = len(missing)
                    runs[auth].append(f)
                    print_run(f"run {k + 1}, {'with' if auth else 'without'} authentication"
                              f"{f' ({args.credentials})' if auth else ''}", f, use, elapsed)
                    print(f"    writes acknowledged {acknowledged}, missing afterwards {len(missing)}", flush=True)
        finally:
            stop(proc)
            if base_proc is not None:
                stop(base_proc)
        summary = {}
        for auth, fs in runs.items():
            m = {key_: statistics.median(f[key_] for f in fs) for key_ in ("rps", "errors", "p50_ms", "p99_ms")}
            page = [f["kinds"]["map page /"] for f in fs if "map page /" in f["kinds"]]
            m["page_p50_ms"] = statistics.median(p["p50_ms"] for p in page)
            m["page_p99_ms"] = statistics.median(p["p99_ms"] for p in page)
            summary[auth] = m
            name = "with" if auth else "without"
            print(f"{name} authentication, median of {len(fs)}: {m['rps']:.0f} requests/s, {m['errors']:g} errors, "
                  f"p50 {m['p50_ms']:.1f} ms, p99 {m['p99_ms']:.1f} ms (map page / p50 {m['page_p50_ms']:.1f} ms, "
                  f"p99 {m['page_p99_ms']:.1f} ms)")
            b = ISSUE_PROBE
            print(f"  against the issue's probe (wrk, 50 connections, 1 worker, before): rate x"
                  f"{m['rps'] / b['rps']:.2f}, p99 x{m['p99_ms'] / b['p99_ms']:.2f}; map page p50 x"
                  f"{m['page_p50_ms'] / b['map_page_p50_ms']:.3f}, p99 x{m['page_p99_ms'] / b['map_page_p99_ms']:.3f}"
                  " (a different mix and generator: a guide, not a ratio of like with like)")
            print(f"  goals: 0 errors {'met' if m['errors'] == 0 else 'NOT met'}; p99 < {GOAL_P99_MS:.0f} ms "
                  f"{'met' if m['p99_ms'] < GOAL_P99_MS else 'NOT met'}")
            ok = ok and m["errors"] == 0
        if baseline and False in summary:
            b = {key_: statistics.median(f[key_] for f in baseline) for key_ in ("rps", "errors", "p50_ms", "p99_ms")}
            b["page_p50_ms"] = statistics.median(f["kinds"]["map page /"]["p50_ms"] for f in baseline)
            b["page_p99_ms"] = statistics.median(f["kinds"]["map page /"]["p99_ms"] for f in baseline)
            m = summary[False]
            print(f"baseline {args.compare_root}, median of {len(baseline)}: {b['rps']:.0f} requests/s, "
                  f"{b['errors']:g} errors, p50 {b['p50_ms']:.1f} ms, p99 {b['p99_ms']:.1f} ms (map page / p50 "
                  f"{b['page_p50_ms']:.1f} ms, p99 {b['page_p99_ms']:.1f} ms)")
            print(f"  this checkout / baseline, without authentication: rate {m['rps'] / b['rps']:.2f}, p50 "
                  f"{m['p50_ms'] / b['p50_ms']:.2f}, p99 {m['p99_ms'] / b['p99_ms']:.2f}; map page / p50 "
                  f"{m['page_p50_ms'] / b['page_p50_ms']:.2f}, p99 {m['page_p99_ms'] / b['page_p99_ms']:.2f}",
                  flush=True)
        if True in summary and False in summary:
            cost = 1 - summary[True]["rps"] / summary[False]["rps"]
            print(f"authentication costs {100 * cost:.1f} % of the rate (with / without = "
                  f"{summary[True]['rps'] / summary[False]['rps']:.3f}; goal < {100 * GOAL_AUTH_COST:.0f} %: "
                  f"{'met' if cost < GOAL_AUTH_COST else 'NOT met'})", flush=True)
    if args.fault or args.fault_only:
        ok = fault_run(url, reg, args, key) and ok
    print(f"host after the runs (10 s): {describe(host_check(10.0))}", flush=True)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
