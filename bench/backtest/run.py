"""Benchmark: ``riskmap backtest`` (issue 14 item 6, Benchmark section).

    python bench/backtest/run.py [--sites 100000] [--accidents 10000] [--months 24] [--runs 3] [--no-baseline]
    python bench/backtest/run.py --database URL --from 2025-01-01 --to 2026-12-31 [--runs 3] [--no-baseline]
    python bench/backtest/run.py --demo [--seed 20261129] [--runs 1]       # the capture part: bench/backtest/capture.py

    quick:   python bench/backtest/run.py --sites 10000 --accidents 1000 --runs 1

Two parts.

**Timing** (the default).  Data: the demo scaled (``data.demo.generate_demo``, seed 20261129) to about ``--sites``
enterprises + tailings ponds + venues + pipelines (with settlements in the demo's proportion), imported into a
database of its own, ``riskmap_bench_backtest``, and scored once in full with the real scorer
(``riskmap score --full --as-of`` the end of the first month; untimed).  That run starts the score history.  The
next ``--months`` − 1 monthly runs are *synthetic*, written straight into score_run and score_history with SQL (a
seeded tenth of the sites each month takes its score ± up to 10 points): the backtest reads the history, and
scoring 24 times would only make the set-up slow.  Then ``--accidents`` synthetic accidents over the last 12 months
(seeded): each at a site drawn with weight e^(score/15) (so that the ranking has something to find); 60 % name
their site, 35 % lie up to 300 m from it with no site named and a type that fits its class, 5 % fall anywhere in the
region (most stay unattributed).  All are flagged synthetic.

riskmap: ``python -m api.cli backtest --from --to --format json --out FILE`` as a child process, ``--runs`` times;
the median wall time (starting Python and importing included) is the figure (goal: under 30 s).

Baseline ("a plain geopandas sjoin_nearest + pandas ranking version"), in a child process: reads the sites (four
tables), the accidents and the score history with geopandas/pandas, projects to UTM 50N (EPSG:32650), attributes
each accident naming no site with ``gpd.sjoin_nearest(max_distance=radius)`` against each class that fits its type
(the nearest of those, ties by distance then class then id), and for each distinct accident day builds the
scores of that day (the history rows before it, the last per site) and ranks every site with
``Series.rank(method="min")`` and ``("max")``; then the same capture curve and area.  Its model area and top-20 %
capture are checked against riskmap's (they must agree: it is the same method written plainly).

**Capture curves on the demo** (``--demo``; bench/backtest/capture.py): the demo with its two synthetic years of
inspections, dangers, enforcement and accidents (drawn from a hidden "true hazard", docs/demo.md) and the score
history of every month's end, in a database of its own; the backtest over the second year, every curve, the
issue's two goals, and the curves of the truth's own rankings (how far any model could get).  ``--database URL
--from --to`` backtests any other database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BENCH_DB = "riskmap_bench_backtest"
DEMO_SITES = 3000 + 250 + 800  # the demo's enterprises + ponds + venues (pipelines are few)
SEED = 20261129
UTM_50N = 32650


def bench_score_module():
    spec = importlib.util.spec_from_file_location("bench_score", ROOT / "bench" / "score" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def month_ends(first_month: dt.date, n: int) -> list[dt.date]:
    out = []
    for k in range(n):
        m = first_month.month - 1 + k + 1
        nxt = dt.date(first_month.year + m // 12, m % 12 + 1, 1)
        out.append(nxt - dt.timedelta(days=1))
    return out


def synthetic_history(conn, ends: list[dt.date]) -> int:
    """Months 2 … n of the history, straight into score_run and score_history: a seeded tenth of the sites a
    month takes its score ± up to 10 points."""
    with conn.cursor() as cur:
        cur.execute("SELECT setseed(0.2026)")
        cur.execute("SELECT model_version FROM score_run ORDER BY id DESC LIMIT 1")
        version = cur.fetchone()[0]
        rows = 0
        for day in ends[1:]:
            cur.execute("INSERT INTO score_run (full_run, changes, scored, areas, seconds, model_version, as_of) "
                        "VALUES (false, 0, '{}', 0, 0, %s, %s) RETURNING id", (version, day))
            run = cur.fetchone()[0]
            cur.execute("""
                INSERT INTO score_history (run, kind, feature_id, as_of, scored_at, score, level, lon, lat)
                SELECT %(run)s, kind, feature_id, %(day)s, now(), s,
                       CASE WHEN s >= 70 THEN 'red' WHEN s >= 50 THEN 'orange' WHEN s >= 30 THEN 'yellow'
                            ELSE 'blue' END, lon, lat
                FROM (SELECT DISTINCT ON (kind, feature_id) kind, feature_id, lon, lat,
                             greatest(0.0, least(100.0, score + (random() - 0.5) * 20.0)) AS s
                      FROM score_history WHERE score IS NOT NULL
                      ORDER BY kind, feature_id, as_of DESC, run DESC) h
                WHERE random() < 0.1""", {"run": run, "day": day})
            rows += cur.rowcount
    conn.commit()
    return rows


def synthetic_accidents(conn, n: int, first: dt.date, last: dt.date, seed: int) -> None:
    """``n`` accidents between ``first`` and ``last`` (see the module docstring), flagged synthetic."""
    import numpy as np
    import pandas as pd
    from psycopg2.extras import execute_values

    from geo.risk.store import query_frame

    sites = query_frame(conn, """
        SELECT r.kind, r.feature_id, r.score, ST_X(ST_PointOnSurface(g.geom)) AS lon,
               ST_Y(ST_PointOnSurface(g.geom)) AS lat
        FROM feature_risk r
        JOIN (SELECT 'enterprise' AS kind, id, geom FROM enterprise UNION ALL SELECT 'tailings_pond', id, geom
              FROM tailings_pond UNION ALL SELECT 'venue', id, geom FROM venue UNION ALL
              SELECT 'pipeline', id, geom FROM pipeline) g ON g.kind = r.kind AND g.id = r.feature_id""")
    rng = np.random.default_rng(seed)
    weight = np.exp(sites["score"].to_numpy() / 15.0)
    pick = rng.choice(len(sites), size=n, p=weight / weight.sum())
    chosen = sites.iloc[pick].reset_index(drop=True)
    days = pd.to_datetime(first) + pd.to_timedelta(rng.integers(0, (last - first).days + 1, n), unit="D")
    mode = rng.random(n)
    types = {"enterprise": ["火灾", "爆炸", "中毒和窒息"], "tailings_pond": ["溃坝"], "venue": ["火灾", "踩踏"],
             "pipeline": ["泄漏", "爆炸"]}
    bearing = rng.uniform(0, 2 * np.pi, n)
    dist = rng.uniform(0, 300, n)
    lon = chosen["lon"].to_numpy() + dist * np.sin(bearing) / (111_320 * np.cos(np.radians(chosen["lat"])))
    lat = chosen["lat"].to_numpy() + dist * np.cos(bearing) / 110_574
    far = mode >= 0.95
    lon = np.where(far, rng.uniform(117.5, 119.3, n), np.where(mode < 0.6, chosen["lon"], lon))
    lat = np.where(far, rng.uniform(39.0, 40.4, n), np.where(mode < 0.6, chosen["lat"], lat))
    rows = []
    for i in range(n):
        named = mode[i] < 0.6
        kind = chosen["kind"][i]
        rows.append((f"BENCH-A-{i}", days[i].date(), types[kind][rng.integers(len(types[kind]))], "general",
                     kind if named else None, int(chosen["feature_id"][i]) if named else None,
                     float(lon[i]), float(lat[i])))
    with conn.cursor() as cur:
        cur.execute("DELETE FROM accident WHERE source_id LIKE 'BENCH-A-%'")
        execute_values(cur, "INSERT INTO accident (source_id, occurred_on, accident_type, accident_class, site_kind, "
                            "site_id, synthetic, geom) SELECT v.sid, v.day::date, v.type, v.class, v.kind, "
                            "v.site::bigint, true, ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326) FROM (VALUES %s) "
                            "AS v(sid, day, type, class, kind, site, lon, lat)", rows, page_size=2000)
        cur.execute("ANALYZE accident")
    conn.commit()


def prepare(args) -> tuple[str, dt.date, dt.date]:
    from api.database import database_url
    from api.settings import Settings
    from geo import store

    sb = bench_score_module()
    scale = args.sites / DEMO_SITES
    tag = sb.dataset_tag(SEED, scale, None) + f"-m{args.months}-a{args.accidents}"
    data = args.data / sb.dataset_tag(SEED, scale, None)
    counts = sb.build_data(data, SEED, scale, None)
    sites = sum(counts[k] for k in ("enterprise", "tailings_pond", "venue", "pipeline"))
    url = sb.prepare_database(database_url(Settings()), data, tag, reuse=args.reuse_db, name=BENCH_DB)
    ends = month_ends(dt.date(2025, 1, 1), args.months)
    first, last = ends[-1] - dt.timedelta(days=364), ends[-1]
    conn = store.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM score_history")
        done = cur.fetchone()[0] > 0
    conn.rollback()
    if not done:
        env = dict(os.environ, RISKMAP_DATABASE_URL=url)
        env.pop("RISKMAP_RISK_MODEL", None)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "api.cli", "score", "--full", "--as-of", ends[0].isoformat()],
                       env=env, check=True, capture_output=True)
        print(f"scored {sites:,} sites in full as of {ends[0]} in {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        rows = synthetic_history(conn, ends)
        print(f"synthetic history: {rows:,} rows over {args.months - 1} more months in {time.perf_counter() - t:.1f} s",
              flush=True)
        synthetic_accidents(conn, args.accidents, first, last, SEED)
        print(f"{args.accidents:,} synthetic accidents from {first} to {last}", flush=True)
    conn.close()
    return url, first, last


# ----- the baseline ----------------------------------------------------------------------------------------------

def baseline(url: str, first: dt.date, last: dt.date, radius_m: float) -> dict:
    """The plain version (module docstring): geopandas sjoin_nearest for the attribution, pandas per day."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import psycopg2

    from geo.backtest import accident_types, capture_curve, curve_area, fitting_classes
    from geo.risk.config import load_model

    conn = psycopg2.connect(url)
    config = load_model()["backtest"]
    sites = []
    for kind in ("enterprise", "tailings_pond", "pipeline", "venue"):
        g = gpd.read_postgis(f"SELECT f.id AS feature_id, f.geom, EXISTS (SELECT 1 FROM feature_risk r WHERE "
                             f"r.kind = '{kind}' AND r.feature_id = f.id) AS scored FROM {kind} f", conn,
                             geom_col="geom")
        g["kind"] = kind
        sites.append(g)
    acc = gpd.read_postgis("SELECT id, occurred_on, accident_type, site_kind, site_id, geom FROM accident "
                           "WHERE occurred_on BETWEEN %(a)s AND %(b)s ORDER BY occurred_on, id", conn,
                           geom_col="geom", params={"a": first, "b": last})
    hist = pd.read_sql("SELECT kind, feature_id, as_of, run, score FROM score_history WHERE as_of < %(b)s",
                       conn, params={"b": last})
    conn.close()
    acc["occurred_on"] = pd.to_datetime(acc["occurred_on"])
    hist["as_of"] = pd.to_datetime(hist["as_of"])
    # attribution
    acc["fits"] = fitting_classes(accident_types(acc["accident_type"], config), config).str.split(",")
    unnamed = acc[acc["site_kind"].isna()].to_crs(UTM_50N)
    best = []
    for g in sites:
        kind = g["kind"].iloc[0]
        cand = unnamed[unnamed["fits"].apply(lambda f, k=kind: k in f)]
        scored = g[g["scored"]].to_crs(UTM_50N)
        if cand.empty or scored.empty:
            continue
        j = gpd.sjoin_nearest(cand[["id", "geom"]], scored[["feature_id", "kind", "geom"]], how="inner",
                              max_distance=radius_m, distance_col="distance_m")
        best.append(j[["id", "kind", "feature_id", "distance_m"]])
    near = pd.concat(best).sort_values(["id", "distance_m", "kind", "feature_id"]).drop_duplicates("id")
    named = acc[acc["site_kind"].notna()][["id", "site_kind", "site_id", "occurred_on"]].rename(
        columns={"site_kind": "kind", "site_id": "feature_id"})
    all_sites = pd.concat([g[["kind", "feature_id"]] for g in sites], ignore_index=True)
    named = named.merge(all_sites, on=["kind", "feature_id"])
    near = near.merge(acc[["id", "occurred_on"]], on="id")
    attributed = pd.concat([named, near[["id", "kind", "feature_id", "occurred_on"]]], ignore_index=True)
    attributed["feature_id"] = attributed["feature_id"].astype("int64")
    # ranking, day by day
    n = len(all_sites)
    hist = hist.sort_values(["as_of", "run"])
    a_all, b_all = [], []
    for day, group in attributed.groupby("occurred_on"):
        before = hist[hist["as_of"] < day].drop_duplicates(["kind", "feature_id"], keep="last")
        scores = all_sites.merge(before, on=["kind", "feature_id"], how="left")["score"].fillna(-np.inf)
        keyed = pd.Series(scores.to_numpy(), index=pd.MultiIndex.from_frame(all_sites))
        low = keyed.rank(method="min", ascending=False)
        high = keyed.rank(method="max", ascending=False)
        keys = pd.MultiIndex.from_frame(group[["kind", "feature_id"]])
        a_all.append(low.reindex(keys).to_numpy())
        b_all.append(high.reindex(keys).to_numpy())
    a, b = np.concatenate(a_all), np.concatenate(b_all)
    curve = capture_curve(a, b, n)
    return {"area": curve_area(a, b, n), "top_20": float(curve[19]), "attributed": len(attributed), "sites": n,
            "nearest": [[int(r.id), r.kind, int(r.feature_id), float(r.distance_m)] for r in near.itertuples()]}


def nearest_differences(url: str, first: dt.date, last: dt.date, radius_m: float, theirs: list) -> list[dict]:
    """The accidents the baseline attributed by nearest site to another site than riskmap did, with both
    distances (riskmap's geodesic, the baseline's planar in UTM 50N)."""
    from geo import store
    from geo.backtest import attribute
    from geo.risk.config import load_model

    conn = store.connect(url)
    try:
        acc = attribute(conn, first, last, radius_m, load_model()["backtest"])
    finally:
        conn.close()
    ours = {int(r.id): (r.site_kind, int(r.site_id), float(r.distance_m))
            for r in acc[acc["how"] == "nearest"].itertuples()}
    out = []
    for i, kind, fid, dist in theirs:
        mine = ours.get(i)
        if mine is None or (mine[0], mine[1]) != (kind, fid):
            out.append({"accident": i, "riskmap": None if mine is None else f"{mine[0]} {mine[1]} at {mine[2]:.3f} m",
                        "baseline": f"{kind} {fid} at {dist:.3f} m"})
    return out


# ----- main ------------------------------------------------------------------------------------------------------

def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:5])} ... failed:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sites", type=int, default=100_000)
    ap.add_argument("--accidents", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--radius-m", type=float, default=500.0)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--reuse-db", action="store_true", help="keep the database if it already holds this data set")
    ap.add_argument("--database", help="an existing database to backtest (e.g. the demo with its history)")
    ap.add_argument("--demo", action="store_true",
                    help="the capture part: the demo with its two synthetic years in a database of its own, "
                         "backtested over the second year (bench/backtest/capture.py)")
    ap.add_argument("--seed", type=int, default=SEED, help="the demo's seed (with --demo)")
    ap.add_argument("--from", dest="first", type=dt.date.fromisoformat, help="window start (with --database)")
    ap.add_argument("--to", dest="last", type=dt.date.fromisoformat, help="window end (with --database)")
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "riskmap-bench-score")
    ap.add_argument("--child-baseline", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child_baseline:
        t0 = time.perf_counter()
        result = baseline(args.child_baseline, args.first, args.last, args.radius_m)
        result["seconds"] = time.perf_counter() - t0
        print(json.dumps(result))
        return
    demo = None
    if args.demo:
        import capture

        from api.database import database_url
        from api.settings import Settings

        url, demo, _ = capture.prepare_demo(database_url(Settings()), args.seed)
        first, last = capture.WINDOW
    elif args.database:
        if not (args.first and args.last):
            raise SystemExit("--database needs --from and --to (the window of its accidents)")
        url, first, last = args.database, args.first, args.last
    else:
        url, first, last = prepare(args)
    env = dict(os.environ, RISKMAP_DATABASE_URL=url)
    env.pop("RISKMAP_RISK_MODEL", None)
    out = Path(tempfile.mkdtemp(prefix="riskmap-bench-backtest-")) / "report.json"
    cmd = [sys.executable, "-m", "api.cli", "backtest", "--from", first.isoformat(), "--to", last.isoformat(),
           "--radius-m", str(args.radius_m), "--format", "json", "--out", str(out)]
    times = []
    for run in range(args.runs):
        times.append(timed(cmd, env))
        print(f"riskmap backtest run {run + 1}: {times[-1]:.1f} s", flush=True)
    report = json.loads(out.read_text(encoding="utf-8"))
    riskmap_s = statistics.median(times)
    print(f"\nriskmap backtest: median {riskmap_s:.1f} s over {args.runs} runs (goal < 30 s); {report['sites']:,} "
          f"sites, {report['accidents']:,} accidents, {report['attributed']['total']:,} attributed "
          f"({report['attributed']['named']:,} named, {report['attributed']['nearest']:,} nearest), "
          f"{report['unattributed']['count']:,} unattributed")
    if demo is not None:
        capture.report(report, demo, capture.ceilings(demo, first, last), capture.why(url, demo, first, last),
                       capture.sensitivity(url, first, last))
    else:
        print("\nranking | area | top 1 % | top 5 % | top 10 % | top 20 % | top 50 %")
        for name, r in report["rankings"].items():
            c = r["capture"]
            print(f"{name} | {r['area']:.3f} | "
                  + " | ".join(f"{100 * c[x - 1]:.1f} %" for x in (1, 5, 10, 20, 50)))
    model = report["rankings"]["model"]
    if not args.no_baseline:
        base = subprocess.run([sys.executable, __file__, "--child-baseline", url, "--from", first.isoformat(),
                               "--to", last.isoformat(), "--radius-m", str(args.radius_m)],
                              env=env, capture_output=True, text=True)
        if base.returncode != 0:
            raise SystemExit(f"baseline failed:\n{base.stderr}")
        b = json.loads(base.stdout.strip().splitlines()[-1])
        agree = (abs(b["area"] - model["area"]) < 1e-6 and abs(b["top_20"] - model["top_20"]) < 1e-6
                 and b["attributed"] == report["attributed"]["total"])
        verdict = "identical"
        if not agree:  # say which accidents went elsewhere: planar and geodesic nearest differ on near-ties
            moved = nearest_differences(url, first, last, args.radius_m, b["nearest"])
            verdict = (f"DIFFERENT (baseline area {b['area']:.6f}, top 20 % {b['top_20']:.6f}, attributed "
                       f"{b['attributed']}); accidents attributed to another nearest site: {json.dumps(moved)}")
        print(f"\nbaseline (geopandas sjoin_nearest + pandas ranking per day): {b['seconds']:.1f} s inside its "
              f"process; riskmap {riskmap_s:.1f} s (command) → {b['seconds'] / riskmap_s:.1f} × faster; agreement "
              f"(attributed, model area, top 20 %): {verdict}")


if __name__ == "__main__":
    main()
