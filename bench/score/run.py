"""Benchmark: `riskmap score --full` on the demo region scaled to 1,000,000 point features plus 20,000 km of
pipelines, against a straightforward geopandas implementation of the same model on the same data (issue 3).

    python bench/score/run.py [--points 1000000 | --scale S] [--pipeline-km 20000] [--runs 3]
                              [--baseline-runs 1] [--no-baseline] [--no-steps] [--reuse-db]
                              [--profile] [--auto-explain] [--explain]

    quick:   python bench/score/run.py --points 50000 --pipeline-km 1000 --runs 1

Data: ``data.demo.generate_demo(counties, seed, scale=..., pipeline_km=...)`` (scale = points / 9,050, the demo's
proportions: 3,000 enterprises : 250 tailings ponds : 800 venues : 5,000 settlements), written once as one
GeoPackage per kind under $TMPDIR/riskmap-bench-score/<tag>/ and imported with ``geo.importer.import_file``
(plus the Tangshan counties as admin areas) into a fresh database ``riskmap_bench_score`` on the embedded cluster
(or on the server of RISKMAP_DATABASE_URL), followed by ANALYZE.

riskmap: ``python -m api.cli score --full`` as a child process with RISKMAP_DATABASE_URL set to that database;
wall time and peak RSS via os.wait4, ``--runs`` times (VACUUM ANALYZE and CHECKPOINT, untimed, before each run).
The PostgreSQL server's memory is not in that RSS: while each run lasts, the script samples the proportional set
size (PSS, shared memory divided among the processes sharing it) of the postmaster and all its children from
/proc/<pid>/smaps_rollup every 0.25 s and reports the peak of the sum (whole cluster, so other clients of the
same cluster would count too; not measured when the server is not local).  Then one more run in a child
process that calls ``geo.risk.scoring.score`` with a progress callback gives the time of each step of STEPS.
Where the time goes, each an extra untimed run: ``--profile`` runs score() under cProfile (the functions taking
the most time, and how long the client waited on PostgreSQL); ``--auto-explain`` runs it with auto_explain
(plans, with actual rows and buffers, of every statement over 2 s as executed inside the scoring transaction);
``--explain`` runs EXPLAIN (ANALYZE, BUFFERS) of the layer and aggregation queries after the runs, outside that
transaction.  The plans and the profile are written beside the data.  Others may edit geo/ while the benchmark
runs, so each run prints a hash of geo/ (and says so when it changed during the run).

Baseline ("a straightforward geopandas implementation, sjoin per rule, then groupby"): a child process reads the
same GeoPackages with geopandas, projects to UTM 50N (EPSG:32650, metres), and computes the context columns that
geo/risk/context.py computes, each as buffer + gpd.sjoin + groupby:
people within 500 m of each enterprise (outside its site); settlements and venues within 1 km of each pond,
kept when inside the ±45° sector around the downstream direction (spherical azimuth from the pond's centroid
with numpy; the full circle without a direction); pipelines cut into ~1 km segments and their 2 km GB 50251
units (shapely.ops.substring on the WGS 84 lines, fractions as in pipeline_segments.sql), with households,
people, tall-building and 50-household-village flags within 200 m of the segment and households within 200 m of
the unit, 特定场所 within the impact distance and within 200 m, and enterprises within 5 / 50 / 200 m (by
industry and status); per venue, GB 18218 major hazards and hazardous-industry enterprises within 500 m and the
pipeline segments whose impact distance reaches it.  It then calls the SAME pure rules (score_enterprise,
score_tailings_pond, score_pipeline, score_venue with load_model() parameters, final_level), rolls pipelines
up to their worst segment, assigns representative points to the admin areas (sjoin) and to H3 cells at the
model's resolutions (h3.latlng_to_cell), finds the exposed residents (within 500 m of an orange or red
feature: buffer + sjoin), aggregates with its own pandas groupbys (``groupby_aggregate``: the formulas of
geo.risk.aggregate, written the straightforward way) and builds the exposure grid with
geo.risk.aggregate.exposure_grid.  It writes nothing to a database; its time is the child
process's wall time minus the untimed writing of its results for the agreement check.  The agreement with
riskmap (context values, scores and levels of up to 1,000 random features per class, and every area row) is
printed at the end.  Expect small differences in the context values: the buffers are geopandas' default
32-gons (inscribed: up to 2.4 m short of 500 m, 4.8 m of 1 km), distances are planar in UTM (scale factor
about 0.9997 here) rather than geodesic, and the sector azimuth is spherical rather than ellipsoidal.

Goals (issue 3): riskmap under 60 s and under 4 GB peak memory, and at least 3 times faster than the baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

DEMO_POINTS = 3000 + 250 + 800 + 5000  # the demo's enterprises + ponds + venues + settlements (data/demo.py)
KINDS = ("enterprise", "tailings_pond", "pipeline", "venue", "settlement")
BENCH_DB = "riskmap_bench_score"
UTM_50N = 32650
SAMPLE = 1000


# ----- data -------------------------------------------------------------------------------------------------------

def code_fingerprint() -> str:
    """A hash of riskmap's scoring code (geo/: Python, SQL, TOML, tables), to say which version was measured."""
    root = Path(__file__).resolve().parents[2] / "geo"
    h = hashlib.sha1()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in {".py", ".sql", ".toml", ".csv"} and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:10]


def dataset_tag(seed: int, scale: float, pipeline_km: float | None) -> str:
    km = "demo" if pipeline_km is None else f"{pipeline_km:g}"
    return f"seed{seed}-scale{scale:.6g}-km{km}"


def build_data(folder: Path, seed: int, scale: float, pipeline_km: float | None) -> dict[str, int]:
    """The scaled demo as one GeoPackage per kind (written once; reused when all files exist)."""
    import geopandas as gpd

    from data.demo import generate_demo
    from data.loader import counties_path

    counts_file = folder / "counts.json"
    if counts_file.exists() and all((folder / f"{k}.gpkg").exists() for k in KINDS):
        return json.loads(counts_file.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    print(f"generating the data set ({folder.name}) ...", flush=True)
    t0 = time.perf_counter()
    counties = gpd.read_file(counties_path(), engine="pyogrio")
    frames = generate_demo(counties, seed=seed, scale=scale, pipeline_km=pipeline_km)
    t1 = time.perf_counter()
    for kind, frame in frames.items():
        tmp = folder / f"{kind}.tmp.gpkg"
        tmp.unlink(missing_ok=True)
        frame.to_file(tmp, driver="GPKG", layer=kind, engine="pyogrio")
        tmp.rename(folder / f"{kind}.gpkg")
    counts = {k: len(f) for k, f in frames.items()}
    lines = frames["pipeline"].to_crs(UTM_50N)
    counts["pipeline_km"] = round(float(lines.length.sum()) / 1000, 1)
    counts_file.write_text(json.dumps(counts))
    print(f"  generated in {t1 - t0:.1f} s, written in {time.perf_counter() - t1:.1f} s", flush=True)
    return counts


def bench_url(base_url: str, name: str = BENCH_DB) -> str:
    return base_url.rsplit("/", 1)[0] + "/" + name


def import_data_set(conn, folder: Path) -> None:
    """The Tangshan counties and the data set's GeoPackages, imported."""
    from data.loader import counties_path
    from geo.importer import import_file

    import_file(conn, counties_path(), "area")
    for kind in KINDS:
        t = time.perf_counter()
        report = import_file(conn, folder / f"{kind}.gpkg", kind)
        print(f"  imported {report.rows_read:>9,} {kind} in {time.perf_counter() - t:.1f} s", flush=True)


def prepare_database(base_url: str, folder: Path | None, tag: str, reuse: bool, name: str = BENCH_DB,
                     load=None) -> str:
    """A fresh database ``name`` holding the data set (or the existing one with ``--reuse-db`` if it holds this
    tag): ``load(conn)`` fills it (default: ``import_data_set`` of ``folder``)."""
    import psycopg2

    from geo import store

    url = bench_url(base_url, name)
    admin = psycopg2.connect(base_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,))
        row = cur.fetchone()
        if reuse and row is not None and row[0] == tag:
            admin.close()
            print(f"reusing database {name} ({tag})", flush=True)
            return url
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name}")
    conn = store.connect(url)
    store.migrate(conn)
    t0 = time.perf_counter()
    (load or (lambda c: import_data_set(c, folder)))(conn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("ANALYZE")
    conn.close()
    print(f"  import + ANALYZE: {time.perf_counter() - t0:.1f} s", flush=True)
    with admin.cursor() as cur:
        cur.execute(f"COMMENT ON DATABASE {name} IS %s", (tag,))
    admin.close()
    return url


# ----- measuring child processes --------------------------------------------------------------------------------

class ServerMemory:
    """Peak of the summed PSS of a local PostgreSQL cluster (postmaster + children), sampled in a thread."""

    def __init__(self, postmaster_pid: int | None, interval: float = 0.25):
        self.pid = postmaster_pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = None

    @staticmethod
    def find(conn) -> int | None:
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW data_directory")
                data_dir = Path(cur.fetchone()[0])
            conn.rollback()
            pid = int((data_dir / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
            return pid
        except Exception:  # not local, not readable, not superuser: not measured
            conn.rollback()
            return None

    def _pids(self) -> list[int]:
        pids = [self.pid]
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as f:
                        stat = f.read()
                    if int(stat[stat.rindex(b")") + 2:].split()[1]) == self.pid:
                        pids.append(int(entry.name))
                except (OSError, ValueError):
                    pass
        return pids

    def sample(self) -> int:
        total = 0
        for pid in self._pids():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except OSError:
                pass
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(self.interval)

    def __enter__(self):
        if self.pid is not None:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def timed(cmd: list[str], env: dict, server: ServerMemory | None = None) -> tuple[float, int, int | None, str]:
    """Wall seconds, peak RSS (bytes) of one child process, peak server PSS (bytes, None if not measured), stdout."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    monitor = server or ServerMemory(None)
    with monitor:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed:\n{stdout}\n{stderr}")
    return elapsed, usage.ru_maxrss * 1024, (monitor.peak if monitor.pid else None), stdout


def child_env(url: str) -> dict:
    env = dict(os.environ, RISKMAP_DATABASE_URL=url)
    env.pop("RISKMAP_RISK_MODEL", None)  # both sides use the shipped model
    return env


# ----- riskmap: per-step times and query plans (child modes) -----------------------------------------------------

def run_steps(url: str, profile: Path | None = None, plans: Path | None = None) -> None:
    """Child mode: one full scoring with the progress callback; prints {step: seconds} as JSON.  With
    ``profile``, under cProfile (stats written there); with ``plans``, with auto_explain reporting the plan of
    every statement over 2 s, as run inside the scoring transaction (written there).  Either way the step times
    then include the overhead."""
    import collections
    import cProfile

    from geo import store
    from geo.risk.config import load_model
    from geo.risk.scoring import score

    conn = store.connect(url)
    if plans:
        conn.notices = collections.deque()
        with conn.cursor() as cur:
            cur.execute("LOAD 'auto_explain'")
            for name, value in (("log_min_duration", "2s"), ("log_analyze", "on"), ("log_buffers", "on"),
                                ("log_timing", "on"), ("log_nested_statements", "on"), ("log_level", "notice")):
                cur.execute(f"SET auto_explain.{name} = '{value}'")
        conn.commit()
    model = load_model()
    marks: list[tuple[str, float]] = []
    profiler = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    summary = score(conn, model, full=True, progress=lambda name, done, total: marks.append(
        (name, time.perf_counter())))
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    t_end = time.perf_counter()
    steps, last = {}, t0
    for name, t in marks:
        steps[name] = t - last
        last = t
    steps["commit"] = t_end - last  # clearing risk_dirty, the level counts and the commit
    if plans:
        plans.write_text("\n\n".join(str(n).strip() for n in conn.notices))
    print(json.dumps({"steps": steps, "total": t_end - t0, "scored": summary.scored, "areas": summary.areas}))


def explain(url: str, path: Path) -> dict[str, float]:
    """EXPLAIN (ANALYZE, BUFFERS) of the scoring queries, each in a rolled-back transaction; plans to ``path``."""
    from geo import store
    from geo.risk import aggregate
    from geo.risk.config import load_model
    from geo.risk.scoring import context_params
    from geo.risk.store import sql_text

    model = load_model()
    conn = store.connect(url)
    everything = {"bbox": None, "nobox": True, "x0": None, "y0": None, "x1": None, "y1": None}  # no bounding box
    queries = {
        "pipeline_segments (INSERT)": (sql_text("pipeline_segments").split(";")[1], context_params(model, None)),
        **{f"{k} layer": (sql_text(f"{k}_layer"), {"ids": None, **everything,
                                                   "persons_per_household": model["context"]["persons_per_household"]})
           for k in ("enterprise", "tailings_pond", "pipeline_segment", "venue", "settlement")},
        "areas: feature points": (sql_text("feature_points"), {"kinds": list(aggregate.SCORED_KINDS), **everything}),
        "areas: hot features": (sql_text("hot_features"), {**everything, "radius": model["area"]["exposure_radius_m"]}),
    }
    times = {}
    with open(path, "w") as f:
        for name, (q, params) in queries.items():
            try:
                with conn.cursor() as cur:
                    if name.startswith("pipeline_segments"):  # re-cut: the old segments go first, as in scoring
                        cur.execute(sql_text("pipeline_segments").split(";")[0], params)
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + q.strip().rstrip(";"), params)
                    plan = "\n".join(r[0] for r in cur.fetchall())
            except Exception as e:  # geo/ changed under us: report, do not stop the benchmark
                plan = f"failed: {type(e).__name__}: {e}"
            conn.rollback()
            m = re.search(r"Execution Time: ([\d.]+) ms", plan)
            times[name] = float(m.group(1)) / 1000 if m else float("nan")
            f.write(f"===== {name}: {times[name]:.2f} s\n{plan}\n\n")
    conn.close()
    return times


# ----- the baseline: geopandas, sjoin per rule, then groupby ---------------------------------------------------

def _pairs(points, zones) -> tuple[np.ndarray, np.ndarray]:
    """(row of ``points``, row of ``zones``) for every point inside (or on) a zone polygon: one gpd.sjoin."""
    import geopandas as gpd

    left = gpd.GeoDataFrame(geometry=points.reset_index(drop=True), crs=points.crs)
    right = gpd.GeoDataFrame(geometry=zones.reset_index(drop=True), crs=zones.crs)
    j = gpd.sjoin(left, right, how="inner", predicate="intersects")
    return j.index.to_numpy(), j["index_right"].to_numpy()


def _count(index: np.ndarray, n: int, weights=None) -> np.ndarray:
    """groupby(index).sum() (or .size()) over 0..n-1, zero where a row has no pair."""
    if weights is None:
        return pd.Series(1, index=index).groupby(level=0).sum().reindex(range(n), fill_value=0).to_numpy()
    return pd.Series(weights, index=index).groupby(level=0).sum().reindex(range(n), fill_value=0).to_numpy()


def _azimuth_deg(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Initial great-circle bearing from 1 to 2, degrees clockwise from north (0-360)."""
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0


def _segments(pipes, ctx: dict):
    """~1 km segments and their 2 km units of every line, as pipeline_segments.sql cuts them (WGS 84)."""
    from pyproj import Geod
    from shapely.ops import substring

    lines = pipes.explode(index_parts=False).reset_index(drop=True)
    geod = Geod(ellps="WGS84")  # geodesic lengths, as ST_Length(geography): the same number of segments
    length_m = np.array([geod.geometry_length(g) for g in lines.geometry])
    keep = length_m > 0
    lines, length_m = lines[keep].reset_index(drop=True), length_m[keep]
    n = np.maximum(1, np.round(length_m / ctx["segment_length_m"])).astype(int)
    line_idx = np.repeat(np.arange(len(lines)), n)
    seq = np.concatenate([np.arange(k) for k in n])
    nn, ll = n[line_idx], length_m[line_idx]
    half_unit = ctx["unit_length_m"] / 2.0 / np.maximum(ll, 1.0)
    geoms = lines.geometry.to_numpy()
    seg = [substring(geoms[i], s / k, (s + 1) / k, normalized=True) for i, s, k in zip(line_idx, seq, nn, strict=True)]
    unit = [substring(geoms[i], max(0.0, (s + 0.5) / k - h), min(1.0, (s + 0.5) / k + h), normalized=True)
            for i, s, k, h in zip(line_idx, seq, nn, half_unit, strict=True)]
    frame = lines.drop(columns="geometry").iloc[line_idx].reset_index(drop=True)
    frame["seq"] = seq
    return frame, np.array(seg, dtype=object), np.array(unit, dtype=object)


def groupby_aggregate(assigned: pd.DataFrame, people: pd.DataFrame, model: dict) -> pd.DataFrame:
    """The baseline's area aggregation: the same formulas as geo.risk.aggregate.aggregate_partition (per class
    the mean of the top_n scores, their complement geometric mean, the highest level, counts, exposed people),
    written as the straightforward pandas groupbys over (area_type, resolution, area_id)."""
    from geo.risk.framework import LEVEL_RANK, LEVELS, level_from_score

    keys = ["area_type", "resolution", "area_id"]
    top_n = int(model["area"]["top_n"])
    a = assigned.copy()
    a["rank"] = a["level"].map(LEVEL_RANK)
    a = a.sort_values("score", ascending=False)
    top = a.groupby([*keys, "kind"], sort=False).head(top_n)
    class_scores = top.groupby([*keys, "kind"])["score"].mean().reset_index()
    class_scores["log_rest"] = np.log(np.maximum(100.0 - class_scores["score"].clip(0, 100), 1e-9))
    score = (100.0 - np.exp(class_scores.groupby(keys)["log_rest"].mean())).rename("score")
    level_max = a.groupby(keys)["rank"].max().map(dict(enumerate(LEVELS))).rename("level_max")
    features = a.groupby(keys).size().rename("features")
    c = a.groupby([*keys, "kind", "level"]).size().rename("n").reset_index().sort_values([*keys, "kind", "level"])
    c["pair"] = '"' + c["level"].astype(str) + '": ' + c["n"].astype(str)
    per_kind = c.groupby([*keys, "kind"])["pair"].agg(", ".join).reset_index()
    per_kind["entry"] = '"' + per_kind["kind"].astype(str) + '": {' + per_kind["pair"] + "}"
    counts = ("{" + per_kind.groupby(keys)["entry"].agg(", ".join) + "}").rename("counts")
    out = pd.concat([score, level_max, features, counts], axis=1).reset_index()
    out["level_banded"] = level_from_score(out["score"].to_numpy(), model["levels"])
    out["level"] = out["level_max"] if model["area"]["level_rule"] == "max" else out["level_banded"]
    exposed = people.groupby(keys)["people"].sum().rename("population_exposed").reset_index()
    out = out.merge(exposed, on=keys, how="left")
    out["population_exposed"] = out["population_exposed"].fillna(0.0)
    return out


def baseline(folder: Path, counties_file: Path, out_dir: Path | None) -> dict:
    """Child mode: the whole model with geopandas on the GeoPackages; returns step times (s)."""
    import geopandas as gpd
    import h3
    import shapely

    from geo.risk.aggregate import exposure_grid
    from geo.risk.config import load_model
    from geo.risk.enterprise import score_enterprise
    from geo.risk.framework import LEVEL_RANK, final_level
    from geo.risk.pipeline import impact_distance_m, score_pipeline
    from geo.risk.tailings_pond import score_tailings_pond
    from geo.risk.venue import score_venue

    model = load_model()
    ctx = model["context"]
    pph = float(ctx["persons_per_household"])
    as_of = dt.date.today()
    times: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        times[name] = now - clock[0]
        clock[0] = now

    # --- read and project ---------------------------------------------------------------------------------
    layers = {k: gpd.read_file(folder / f"{k}.gpkg", engine="pyogrio", use_arrow=True) for k in KINDS}
    areas = gpd.read_file(counties_file, engine="pyogrio")[["admin_code", "level", "geometry"]].rename(
        columns={"level": "admin_level"})
    lap("read")
    ent, pond, pipe, ven, st = (layers[k] for k in KINDS)
    ent_m, pond_m, ven_m = ent.geometry.to_crs(UTM_50N), pond.geometry.to_crs(UTM_50N), ven.geometry.to_crs(UTM_50N)
    st_pt = st.geometry.representative_point()
    st_m = st_pt.to_crs(UTM_50N)
    ven_pt_m = ven.geometry.representative_point().to_crs(UTM_50N)
    st_people = st["population"].astype("float64").fillna(st["households"].astype("float64") * pph).to_numpy()
    st_hh = st["households"].astype("float64").fillna(st["population"].astype("float64") / pph).to_numpy()
    st_tall = st["buildings_4plus_dominant"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    lap("project")

    # --- enterprises: people within 500 m outside the site (GB 18218 α) ----------------------------------------
    s_i, e_i = _pairs(st_m, ent_m.buffer(ctx["alpha_radius_m"]))
    outside = ~shapely.intersects(st_m.to_numpy()[s_i], ent_m.to_numpy()[e_i])
    ent_frame = pd.DataFrame(ent.drop(columns="geometry"))
    ent_frame["people_500m"] = _count(e_i[outside], len(ent), st_people[s_i[outside]])
    res_ent = score_enterprise(ent_frame, model["enterprise"], as_of)
    lap("enterprise")

    # --- tailings ponds: people and facilities in the 1 km downstream sector --------------------------------
    pond_buf = pond_m.buffer(ctx["downstream_radius_m"])
    centroid = pond.geometry.centroid  # in degrees, as ST_Centroid(geom)::geography
    direction = pond["downstream_direction_deg"].astype("float64").to_numpy()

    def in_sector(targets_lonlat, t_i, p_i):
        az = _azimuth_deg(centroid.x.to_numpy()[p_i], centroid.y.to_numpy()[p_i],
                          targets_lonlat.x.to_numpy()[t_i], targets_lonlat.y.to_numpy()[t_i])
        d = direction[p_i]
        return np.isnan(d) | (np.abs((az - d + 540.0) % 360.0 - 180.0) <= ctx["sector_half_angle_deg"])

    s_i, p_i = _pairs(st_m, pond_buf)
    ok = in_sector(st_pt, s_i, p_i)
    v_i, pv_i = _pairs(ven_pt_m, pond_buf)
    ok_v = in_sector(ven.geometry.representative_point(), v_i, pv_i)
    pond_frame = pd.DataFrame(pond.drop(columns="geometry"))
    pond_frame["downstream_people_1km"] = _count(p_i[ok], len(pond), st_people[s_i[ok]])
    pond_frame["downstream_facilities_1km"] = _count(pv_i[ok_v], len(pond))
    pond_frame["downstream_area"] = np.where(np.isnan(direction), "circle", "sector")
    res_pond = score_tailings_pond(pond_frame, model["tailings_pond"], as_of)
    lap("tailings_pond")

    # --- pipeline segments --------------------------------------------------------------------------------
    seg_frame, seg_geom, unit_geom = _segments(pipe, ctx)
    seg_m = gpd.GeoSeries(seg_geom, crs=4326).to_crs(UTM_50N)
    unit_m = gpd.GeoSeries(unit_geom, crs=4326).to_crs(UTM_50N)
    n_seg = len(seg_frame)
    seg_frame["segment_length_m"] = seg_m.length.to_numpy()
    seg_frame["impact_m"] = np.asarray(impact_distance_m(seg_frame, model["pipeline"]), dtype="float64")
    lap("segments")
    corridor = ctx["corridor_m"]
    s_i, g_i = _pairs(st_m, seg_m.buffer(corridor))
    seg_frame["households_200m"] = _count(g_i, n_seg, st_hh[s_i])
    seg_frame["population_200m"] = _count(g_i, n_seg, st_people[s_i])
    seg_frame["buildings_4plus_200m"] = _count(g_i, n_seg, st_tall[s_i]) > 0
    seg_frame["villages_50hh_200m"] = _count(g_i, n_seg, st_hh[s_i] >= 50)
    s_i, u_i = _pairs(st_m, unit_m.buffer(corridor))
    seg_frame["households_2km_unit"] = _count(u_i, n_seg, st_hh[s_i])
    vtype = ven["venue_type"].to_numpy(dtype=object)
    site1, site2 = np.isin(vtype, ctx["specific_sites_1"]), np.isin(vtype, ctx["specific_sites_2"])
    sites = np.flatnonzero(site1 | site2)
    reach = np.maximum(corridor, seg_frame["impact_m"].fillna(0).to_numpy())
    v_i, g_i = _pairs(ven_m.iloc[sites], seg_m.buffer(reach))
    v_i = sites[v_i]
    d = shapely.distance(ven_m.to_numpy()[v_i], seg_m.to_numpy()[g_i])
    pir = d <= seg_frame["impact_m"].to_numpy()[g_i]
    near = d <= corridor
    for col, mask in (("specific_sites_1_pir", site1[v_i] & pir), ("specific_sites_2_pir", site2[v_i] & pir),
                      ("specific_sites_1_200m", site1[v_i] & near), ("specific_sites_2_200m", site2[v_i] & near)):
        seg_frame[col] = _count(g_i[mask], n_seg)
    e_i, g_i = _pairs(ent_m, seg_m.buffer(corridor))
    d = shapely.distance(ent_m.to_numpy()[e_i], seg_m.to_numpy()[g_i])
    industry = ent["industry"].to_numpy(dtype=object)[e_i]
    status = ent["status"].to_numpy(dtype=object)[e_i]
    for col, mask in (
            ("fuel_sites_200m", np.isin(industry, ctx["fuel_site_industries"]) & (d <= corridor)),
            ("flammable_sites_50m", np.isin(industry, ctx["flammable_site_industries"]) & (d <= ctx["zone_50_m"])),
            ("enterprises_5m", d <= ctx["zone_5_m"]), ("enterprises_50m", d <= ctx["zone_50_m"]),
            ("enterprises_200m", d <= corridor),
            ("construction_200m", (status == "under_construction") & (d <= corridor)),
            ("mining_200m", (industry == "mining") & (d <= corridor))):
        seg_frame[col] = _count(g_i[mask], n_seg)
    res_seg = score_pipeline(seg_frame, model["pipeline"], as_of)
    lap("pipeline_segment")

    # --- venues: hazards within 500 m and pipelines whose impact distance reaches them ------------------------
    e_i, v_i = _pairs(ent_m, ven_m.buffer(ctx["venue_hazard_radius_m"]))
    major = res_ent.extra["major_hazard"].to_numpy(dtype=bool)
    hazardous = np.isin(ent["industry"].to_numpy(dtype=object), ctx["hazardous_industries"])
    ven_frame = pd.DataFrame(ven.drop(columns="geometry"))
    ven_frame["major_hazards_500m"] = _count(v_i, len(ven), major[e_i])
    ven_frame["hazardous_sites_500m"] = _count(v_i, len(ven), hazardous[e_i])
    v_i, g_i = _pairs(ven_pt_m, seg_m.buffer(seg_frame["impact_m"].to_numpy()))
    ven_frame["pipelines_in_impact_radius"] = _count(v_i, len(ven))
    res_ven = score_venue(ven_frame, model["venue"], as_of)
    lap("venue")

    # --- levels, and pipelines rolled up to their worst segment ---------------------------------------------
    results = {}
    for kind, res, frame, ids in (("enterprise", res_ent, ent_frame, ent["source_id"]),
                                  ("tailings_pond", res_pond, pond_frame, pond["source_id"]),
                                  ("venue", res_ven, ven_frame, ven["source_id"]),
                                  ("pipeline_segment", res_seg, seg_frame, seg_frame["source_id"])):
        out = frame.copy()
        out["source_id"] = ids.to_numpy()
        out["score"] = np.clip(res.score.to_numpy(dtype="float64"), 0, 100)
        out["level"] = final_level(res.score, res.direct_red, model["levels"])
        results[kind] = out
    segs = results["pipeline_segment"]
    worst = (segs.assign(rank=segs["level"].map(LEVEL_RANK))
             .sort_values(["source_id", "rank", "score", "seq"], ascending=[True, False, False, True])
             .drop_duplicates("source_id"))
    results["pipeline"] = worst[["source_id", "score", "level", "seq"]].reset_index(drop=True)
    lap("levels")

    # --- areas: admin areas (sjoin) and H3 cells, exposed residents, aggregation ---------------------------
    rep = {"enterprise": ent.geometry.representative_point(), "tailings_pond": pond.geometry.representative_point(),
           "venue": ven.geometry.representative_point(),
           "pipeline_segment": gpd.GeoSeries(shapely.line_interpolate_point(seg_geom, 0.5, normalized=True),
                                             crs=4326)}
    points = pd.concat([pd.DataFrame({"kind": k, "score": results[k]["score"].to_numpy(),
                                      "level": results[k]["level"].to_numpy(),
                                      "lon": rep[k].x.to_numpy(), "lat": rep[k].y.to_numpy()}) for k in rep],
                       ignore_index=True)
    hot = {k: results[k]["level"].isin(["red", "orange"]).to_numpy() for k in rep}
    hot_geoms = pd.concat([ent_m[hot["enterprise"]], pond_m[hot["tailings_pond"]], ven_m[hot["venue"]],
                           seg_m[hot["pipeline_segment"]]], ignore_index=True)
    s_i, _ = _pairs(st_m, hot_geoms.buffer(model["area"]["exposure_radius_m"]))
    exposed = np.unique(s_i)
    people = pd.DataFrame({"lon": st_pt.x.to_numpy()[exposed], "lat": st_pt.y.to_numpy()[exposed],
                           "people": st_people[exposed]})
    resolutions = [int(r) for r in model["area"]["h3_resolutions"]]
    admin_res = {"province": 1, "city": 2, "county": 3, "township": 4}

    def assign(frame: pd.DataFrame) -> pd.DataFrame:
        """One row per point and area: the admin areas it lies in (sjoin) and its H3 cell per resolution."""
        pts = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326)
        j = gpd.sjoin(pts, areas, how="inner", predicate="intersects")
        admin = pd.DataFrame(j.drop(columns=["geometry", "index_right", "admin_code", "admin_level"]))
        admin["area_type"] = "admin"
        admin["resolution"] = j["admin_level"].map(admin_res).to_numpy()
        admin["area_id"] = j["admin_code"].astype(str).to_numpy()
        parts = [admin]
        for r in resolutions:
            cells = [h3.latlng_to_cell(y, x, r) for x, y in zip(frame["lon"], frame["lat"], strict=True)]
            parts.append(frame.assign(area_type="h3", resolution=r, area_id=cells))
        return pd.concat(parts, ignore_index=True)

    assigned = assign(points)
    people_assigned = assign(people) if len(people) else pd.DataFrame(
        columns=["area_type", "resolution", "area_id", "people"])
    area_rows = groupby_aggregate(assigned, people_assigned, model)
    lap("areas")

    # --- exposure surface ---------------------------------------------------------------------------------
    cell = float(model["exposure"]["cell_m"])
    seg_len = seg_frame["segment_length_m"].to_numpy()
    step = np.minimum(1.0, cell / np.maximum(seg_len, 1.0))
    k = np.floor(1.0 / step + 1e-9).astype(int)
    which = np.repeat(np.arange(n_seg), k)
    frac = np.concatenate([np.arange(1, m + 1) for m in k]) * step[which]
    along = shapely.line_interpolate_point(seg_geom[which], np.minimum(frac, 1.0), normalized=True)
    grid_points = pd.concat([points[points["kind"] != "pipeline_segment"][["kind", "score", "lon", "lat"]],
                             pd.DataFrame({"kind": "pipeline_segment",
                                           "score": results["pipeline_segment"]["score"].to_numpy()[which],
                                           "lon": shapely.get_x(along), "lat": shapely.get_y(along)})],
                            ignore_index=True)
    xs, ys, values, to_local = exposure_grid(grid_points, model)
    iy, ix = np.nonzero(values >= 1.0)
    to_local.transform(xs[ix], ys[iy], direction="INVERSE")
    lap("exposure")
    times["total"] = sum(times.values())
    times["exposure_cells"] = int(len(ix))
    times["area_rows"] = int(len(area_rows))
    times["segments_n"] = int(n_seg)

    if out_dir is not None:  # untimed: what the agreement check needs
        t = time.perf_counter()
        out_dir.mkdir(parents=True, exist_ok=True)
        for kind, frame in results.items():
            keep = ["source_id", *(["seq"] if "seq" in frame else []), *COMPARE.get(kind, []), "score", "level"]
            pd.DataFrame(frame[keep]).to_parquet(out_dir / f"{kind}.parquet")
        area_rows[["area_type", "resolution", "area_id", "score", "level", "features", "population_exposed"]] \
            .to_parquet(out_dir / "areas.parquet")
        times["save"] = time.perf_counter() - t
    return times


# ----- agreement --------------------------------------------------------------------------------------------------

COMPARE = {  # kind: context columns compared (names as in the SQL and the baseline)
    "enterprise": ["people_500m"],
    "tailings_pond": ["downstream_people_1km", "downstream_facilities_1km"],
    "venue": ["major_hazards_500m", "hazardous_sites_500m", "pipelines_in_impact_radius"],
    "pipeline_segment": ["households_200m", "households_2km_unit", "population_200m", "specific_sites_1_pir",
                         "specific_sites_1_200m", "enterprises_200m", "enterprises_50m"],
}


def agreement(url: str, out_dir: Path, seed: int = 1) -> list[str]:
    """Lines comparing riskmap's stored results and context with the baseline's, on random samples."""
    from geo import store
    from geo.risk.config import load_model
    from geo.risk.context import Neighbours, context_frame
    from geo.risk.store import query_frame

    model = load_model()
    conn = store.connect(url)
    rng = np.random.default_rng(seed)
    lines = []
    max_impact = float(query_frame(conn, "SELECT coalesce(max(impact_m), 0) AS m FROM pipeline_segment")["m"][0])
    for kind, columns in COMPARE.items():
        base = pd.read_parquet(out_dir / f"{kind}.parquet")
        if kind == "pipeline_segment":
            keys = query_frame(conn, "SELECT g.id, p.source_id || '#' || g.seq AS key FROM pipeline_segment g "
                                     "JOIN pipeline p ON p.id = g.pipeline_id")
            base["key"] = base["source_id"] + "#" + base["seq"].astype(str)
        else:
            keys = query_frame(conn, f"SELECT id, source_id AS key FROM {kind}")
            base["key"] = base["source_id"]
        ids = rng.choice(keys["id"].to_numpy(), size=min(SAMPLE, len(keys)), replace=False)
        ctx = context_frame(Neighbours(conn, model), kind, [int(i) for i in ids], max_impact)
        risk = query_frame(conn, "SELECT feature_id, score, level FROM feature_risk WHERE kind = %(k)s "
                                 "AND feature_id = ANY(%(ids)s)", {"k": kind, "ids": [int(i) for i in ids]})
        rm = (ctx[["feature_id", *columns]].merge(risk, on="feature_id")
              .merge(keys.rename(columns={"id": "feature_id"}), on="feature_id"))
        both = rm.merge(base[["key", *columns, "score", "level"]], on="key", suffixes=("_rm", "_gp"))
        parts = [f"{kind}: {len(both)}/{len(ids)} sampled matched"]
        for c in columns:
            a, b = both[f"{c}_rm"].astype(float).to_numpy(), both[f"{c}_gp"].astype(float).to_numpy()
            close = np.abs(a - b) <= np.maximum(1e-6, 0.01 * np.abs(a))
            same = np.isclose(a, b, rtol=1e-9, atol=1e-6)  # equal but for float rounding
            parts.append(f"{c} equal {np.mean(same):.1%} (within 1 % {np.mean(close):.1%}, "
                         f"sums {a.sum():,.0f} vs {b.sum():,.0f})")
        ds = np.abs(both["score_rm"].to_numpy() - both["score_gp"].to_numpy())
        parts.append(f"score within 0.01 {np.mean(ds <= 0.01):.1%} (max diff {ds.max() if len(ds) else 0:.2f}); "
                     f"level equal {np.mean(both['level_rm'] == both['level_gp']):.1%}")
        lines.append("; ".join(parts))
    rm_areas = query_frame(conn, "SELECT area_type, resolution, area_id, score, level, features, population_exposed "
                                 "FROM area_risk")
    gp_areas = pd.read_parquet(out_dir / "areas.parquet")
    rm_areas["area_id"] = rm_areas["area_id"].astype(str)
    m = rm_areas.merge(gp_areas, on=["area_type", "resolution", "area_id"], suffixes=("_rm", "_gp"), how="outer",
                       indicator=True)
    inner = m[m["_merge"] == "both"]
    lines.append(
        f"areas: riskmap {len(rm_areas):,} rows, baseline {len(gp_areas):,}, in both {len(inner):,}; "
        f"features equal {np.mean(inner['features_rm'] == inner['features_gp']):.1%}, "
        f"score within 0.5 {np.mean(np.abs(inner['score_rm'] - inner['score_gp']) <= 0.5):.1%}, "
        f"level equal {np.mean(inner['level_rm'] == inner['level_gp']):.1%}, "
        f"population exposed total {inner['population_exposed_rm'].sum():,.0f} vs "
        f"{inner['population_exposed_gp'].sum():,.0f}")
    conn.close()
    return lines


# ----- main -------------------------------------------------------------------------------------------------------

def _mib(b: float | None) -> str:
    return "not measured" if b is None else f"{b / 2**20:,.0f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--points", type=int, default=1_000_000,
                      help="point features in total (enterprises, ponds, venues, settlements; default 1,000,000)")
    size.add_argument("--scale", type=float, help="generate_demo scale (overrides --points; 1.0 = the demo)")
    ap.add_argument("--pipeline-km", type=float, default=20_000.0, help="total pipeline length (default 20,000)")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--runs", type=int, default=3, help="timed riskmap runs (median reported; 0: none)")
    ap.add_argument("--baseline-runs", type=int, default=1, help="timed baseline runs (default 1: it is slow)")
    ap.add_argument("--no-baseline", action="store_true", help="time riskmap only")
    ap.add_argument("--no-steps", action="store_true", help="skip the extra run timing each scoring step")
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the scoring queries after the runs")
    ap.add_argument("--auto-explain", action="store_true",
                    help="one more scoring run with auto_explain: plans of the statements over 2 s, in the scoring "
                         "transaction, written beside the data")
    ap.add_argument("--profile", action="store_true",
                    help="one more scoring run under cProfile: the functions taking the most time are printed")
    ap.add_argument("--reuse-db", action="store_true", help="keep the database if it already holds this data set")
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "riskmap-bench-score")
    # child modes (internal)
    ap.add_argument("--child-steps", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--child-baseline", metavar="FOLDER", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-profile", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-plans", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child_steps:
        run_steps(args.child_steps, args.child_profile, args.child_plans)
        return
    if args.child_baseline:
        from data.loader import counties_path

        print(json.dumps(baseline(args.child_baseline, counties_path(), args.child_out)))
        return

    from api.database import database_url
    from api.settings import Settings
    from geo import store

    scale = args.scale if args.scale is not None else args.points / DEMO_POINTS
    tag = dataset_tag(args.seed, scale, args.pipeline_km)
    folder = args.data / tag
    counts = build_data(folder, args.seed, scale, args.pipeline_km)
    points = sum(counts[k] for k in ("enterprise", "tailings_pond", "venue", "settlement"))
    print(f"data set {tag}: {points:,} point features ("
          + ", ".join(f"{counts[k]:,} {k}" for k in ("enterprise", "tailings_pond", "venue", "settlement"))
          + f"), {counts['pipeline']} pipelines, {counts['pipeline_km']:,.0f} km", flush=True)

    url = prepare_database(database_url(Settings()), folder, tag, args.reuse_db)
    conn = store.connect(url)
    conn.autocommit = True
    postmaster = ServerMemory.find(conn)
    env = child_env(url)
    me = [sys.executable, str(Path(__file__).resolve())]
    riskmap = [sys.executable, "-m", "api.cli", "score", "--full"]

    rm_times, rm_rss, rm_server = [], [], []
    codes: set[str] = set()
    for run in range(args.runs):
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
            cur.execute("CHECKPOINT")
        load = os.getloadavg()[0]
        code = code_fingerprint()
        t, rss, server, stdout = timed(riskmap, env, ServerMemory(postmaster))
        code = code if code == code_fingerprint() else f"{code}, changed during the run to {code_fingerprint()}"
        codes.add(code)
        rm_times.append(t)
        rm_rss.append(rss)
        rm_server.append(server)
        summary = next((line.strip() for line in stdout.splitlines() if line.startswith("scored")), "")
        print(f"riskmap run {run + 1}: {t:.1f} s, peak RSS {_mib(rss)}, server peak PSS {_mib(server)} "
              f"(load average before: {load:.2f}; geo/ {code}) | {summary}", flush=True)

    steps = None
    if not args.no_steps:
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
            cur.execute("CHECKPOINT")
        code = code_fingerprint()
        t, rss, server, stdout = timed([*me, "--child-steps", url], env, ServerMemory(postmaster))
        codes.add(code if code == code_fingerprint() else f"{code}, changed during the run to {code_fingerprint()}")
        steps = json.loads(stdout.strip().splitlines()[-1])
        print(f"riskmap per-step run: {t:.1f} s, peak RSS {_mib(rss)}, server peak PSS {_mib(server)} "
              f"(geo/ {code})", flush=True)

    profile_text = None
    if args.profile:
        import io
        import pstats

        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
            cur.execute("CHECKPOINT")
        prof_file = folder / "score.prof"
        t, _, _, stdout = timed([*me, "--child-steps", url, "--child-profile", str(prof_file)], env)
        buf = io.StringIO()
        stats = pstats.Stats(str(prof_file), stream=buf).strip_dirs()
        stats.sort_stats("cumulative").print_stats(r"scoring|aggregate|store|enterprise|pipeline|venue|pond|"
                                                   r"chemicals|framework|h3|convolve", 40)
        stats.sort_stats("tottime").print_stats(20)
        waiting = sum(v[2] for k, v in stats.stats.items()
                      if k[2] in ("<method 'copy_expert' of 'psycopg2.extensions.cursor' objects>",
                                  "<method 'execute' of 'psycopg2.extensions.cursor' objects>"))
        profile_text = (f"profiled run: {t:.1f} s (cProfile overhead included); waiting on PostgreSQL (psycopg2 "
                        f"copy_expert + execute): {waiting:.1f} s of {stats.total_tt:.1f} s in the profile\n"
                        + buf.getvalue())
        (folder / "profile.txt").write_text(profile_text)
        print(f"cProfile of one scoring run written to {folder / 'profile.txt'} ({t:.1f} s)", flush=True)

    in_run = None
    if args.auto_explain:
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
            cur.execute("CHECKPOINT")
        plan_file = folder / "auto_explain.txt"
        t, _, _, stdout = timed([*me, "--child-steps", url, "--child-plans", str(plan_file)], env)
        in_run = []
        for block in plan_file.read_text().split("\n\n"):
            m = re.search(r"duration: ([\d.]+) ms", block)
            q = re.search(r"Query Text: (.*)", block)
            if m:
                in_run.append((float(m.group(1)) / 1000, re.sub(r"\s+", " ", q.group(1) if q else "?")[:110]))
        print(f"auto_explain run: {t:.1f} s (EXPLAIN ANALYZE overhead included); plans in {plan_file}", flush=True)

    plans = None
    if args.explain:
        plan_file = folder / "explain.txt"
        plans = explain(url, plan_file)
        print(f"EXPLAIN ANALYZE plans written to {plan_file}", flush=True)

    base_times, base_rss, base_inner = [], [], []
    out_dir = folder / "baseline-results"
    if not args.no_baseline:
        for run in range(args.baseline_runs):
            load = os.getloadavg()[0]
            code = code_fingerprint()
            t, rss, _, stdout = timed([*me, "--child-baseline", str(folder), "--child-out", str(out_dir)], env)
            codes.add(code if code == code_fingerprint() else f"{code}, changed during the run to {code_fingerprint()}")
            inner = json.loads(stdout.strip().splitlines()[-1])
            base_times.append(t - inner.get("save", 0.0))
            base_rss.append(rss)
            base_inner.append(inner)
            print(f"baseline run {run + 1}: {base_times[-1]:.1f} s, peak RSS {_mib(rss)} "
                  f"(load average before: {load:.2f})", flush=True)
    conn.close()

    print(f"\n=== scoring benchmark: {points:,} point features + {counts['pipeline_km']:,.0f} km of pipelines "
          f"({tag}) ===")
    print(f"riskmap code measured (hash of geo/): {', '.join(sorted(codes)) or code_fingerprint()}")
    med = statistics.median(rm_times) if rm_times else None
    if rm_times:
        print(f"riskmap score --full: median {med:.1f} s over {args.runs} runs "
              f"({', '.join(f'{t:.1f}' for t in rm_times)})  goal < 60 s: {'met' if med < 60 else 'NOT met'}")
        peak = max(rm_rss)
        print(f"riskmap peak RSS (client process): {_mib(peak)}  "
              f"goal < 4 GB: {'met' if peak < 4 * 2**30 else 'NOT met'}")
        server_peak = max((s for s in rm_server if s is not None), default=None)
        print(f"PostgreSQL server peak PSS during the runs (whole cluster, sampled every 0.25 s): "
              f"{_mib(server_peak)}")
        if server_peak is not None:
            total = peak + server_peak
            print(f"  client + server: {_mib(total)}  goal < 4 GB: {'met' if total < 4 * 2**30 else 'NOT met'}")
    if steps:
        print(f"riskmap per step (one run, {steps['total']:.1f} s in score(); scored {steps['scored']}, "
              f"{steps['areas']:,} area rows):")
        for name, s in steps["steps"].items():
            print(f"  {name:18s} {s:7.1f} s  {s / steps['total']:5.1%}")
    if profile_text:
        print("cProfile of one scoring run (top of the cumulative list; full text in profile.txt):")
        print("\n".join(profile_text.splitlines()[:60]))
    if in_run:
        print("statements over 2 s inside one scoring run (auto_explain, with its timing overhead):")
        for seconds, text in in_run:
            print(f"  {seconds:7.1f} s  {text}")
    if plans:
        print("EXPLAIN ANALYZE execution times (after the runs, outside the scoring transaction):")
        for name, s in plans.items():
            print(f"  {name:30s} {s:7.1f} s")
    if base_times:
        bmed = statistics.median(base_times)
        inner = base_inner[-1]
        how = "once" if len(base_times) == 1 else f"median of {len(base_times)}"
        print(f"baseline (geopandas sjoin + groupby, same rules): {bmed:.1f} s ({how}), peak RSS "
              f"{_mib(max(base_rss))}; read {inner['read']:.1f} s, compute {bmed - inner['read']:.1f} s")
        print("  baseline steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in inner.items()
                                                if k not in ("total", "save") and isinstance(v, float)))
        print(f"  baseline outputs: {inner['segments_n']:,} segments, {inner['area_rows']:,} area rows, "
              f"{inner['exposure_cells']:,} exposure cells")
        if med:
            ratio = bmed / med
            print(f"ratio baseline / riskmap: {ratio:.2f}  goal >= 3: {'met' if ratio >= 3 else 'NOT met'}  "
                  f"(without the baseline's file read: {(bmed - inner['read']) / med:.2f})")
        print("agreement riskmap vs baseline (random samples of up to 1,000 features per class):")
        for line in agreement(url, out_dir):
            print("  " + line)


if __name__ == "__main__":
    main()
