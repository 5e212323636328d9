"""Benchmark, capture part (issue 14, Benchmark section): the risk model against the accidents of the demo's two
synthetic years (docs/demo.md).

    python bench/backtest/run.py --demo [--seed 20261129] [--runs 1]

A database of its own (``riskmap_bench_demo``) gets what ``riskmap demo`` loads: the Tangshan demo region, the two
synthetic years of records (2024-11-01 to 2026-10-31) and the score history at every month's end
(data/loader.py load_demo_history), then a full run as of the demo's day.  ``riskmap backtest`` then runs over
the **second year** (2025-11-01 to 2026-10-31): the first year's accidents give the industry ranking its sector
rates (no hindsight), and every accident of the window is ranked by the score its site had before it.

Printed: every capture curve (model, expected accidents, size, industry, random) at 1, 5, 10, 20 and 50 % and
its area; the two goals of the issue (the model's top 20 % captures at least twice the best naive ranking's; its
area beats every naive ranking's), for riskmap's score and for the same score as expected accidents
(geo/risk/likelihood.py); and what the simulation knows that the model cannot: how much of the true hazard's
variance is latent, and the curves of three rankings by the truth itself on each accident's day (the whole true
rate; its observable part, register and records; its static part), over the window's accidents at registered
sites.  Those ceilings show how far any model could get on these data.
"""

from __future__ import annotations

import datetime as dt
import json
import time

from data.demo.common import AS_OF

WINDOW = (dt.date(2025, 11, 1), dt.date(2026, 10, 31))
BENCH_DB = "riskmap_bench_demo"
POINTS = (1, 2, 5, 10, 15, 20, 30, 40, 50, 60, 80)  # the x of the curves printed (all 100 are in the JSON)
CEILINGS = {"true": "the true rate that day (all terms)", "observable": "its observable part (register and records)",
            "static": "its static part (register only)"}


def prepare_demo(base_url: str, seed: int) -> tuple[str, object, dict]:
    """A fresh database holding the demo with its history (module docstring); returns its URL, the History
    (with its truth) and the seconds each step took."""
    import psycopg2

    from data.loader import load_demo, load_demo_history
    from geo import store
    from geo.risk.config import load_model
    from geo.risk.scoring import score

    url = base_url.rsplit("/", 1)[0] + "/" + BENCH_DB
    admin = psycopg2.connect(base_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {BENCH_DB}")
    admin.close()
    conn = store.connect(url)
    store.migrate(conn)
    seconds = {}
    try:
        t = time.perf_counter()
        load_demo(conn, seed=seed)
        seconds["demo region"] = time.perf_counter() - t
        t = time.perf_counter()
        history, counts = load_demo_history(conn, load_model(), seed)
        seconds["records and monthly score history"] = time.perf_counter() - t
        t = time.perf_counter()
        score(conn, load_model(), AS_OF, full=True)
        seconds["final run"] = time.perf_counter() - t
    finally:
        conn.close()
    print(f"demo with its history in {BENCH_DB}: {counts}; " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()),
          flush=True)
    return url, history, seconds


def ceilings(history, first: dt.date, last: dt.date) -> dict:
    """The capture curves of the truth's own rankings over the window's accidents at registered sites."""
    import numpy as np

    from geo.backtest import capture_curve, curve_area

    acc = history.accidents.dropna(subset=["kind"])
    acc = acc[(acc["occurred_on"] >= first) & (acc["occurred_on"] <= last)]
    n = len(history.sites)
    out = {}
    for name in CEILINGS:
        a, b = acc[f"{name}_a"].to_numpy(np.float64), acc[f"{name}_b"].to_numpy(np.float64)
        curve = capture_curve(a, b, n)
        out[name] = {"capture": curve, "area": curve_area(a, b, n), "top_20": float(curve[19])}
    out["accidents"] = len(acc)
    return out


def why(url: str, history, first: dt.date, last: dt.date) -> dict:
    """What the model ranks against what the accidents follow, at the window's middle: the classes in the
    model's top 20 % and among the window's accidents, and the rank correlations (per class) between the model's
    score and the true hazard's static part, management and frailty."""
    import numpy as np
    import pyarrow as pa

    from geo import store
    from geo.risk.store import query_frame

    middle = first + (last - first) / 2
    conn = store.connect(url)
    try:
        scores = query_frame(conn,
            "SELECT DISTINCT ON (h.kind, h.feature_id) h.kind, f.source_id, h.score FROM score_history h "
            "JOIN (SELECT 'enterprise' AS kind, id, source_id FROM enterprise UNION ALL SELECT 'tailings_pond', id, "
            "source_id FROM tailings_pond UNION ALL SELECT 'pipeline', id, source_id FROM pipeline UNION ALL "
            "SELECT 'venue', id, source_id FROM venue) f ON f.kind = h.kind AND f.id = h.feature_id "
            "WHERE h.as_of <= %(day)s ORDER BY h.kind, h.feature_id, h.as_of DESC, h.run DESC", {"day": middle},
            column_types={"kind": pa.string(), "source_id": pa.string(), "score": pa.float64()})
    finally:
        conn.close()
    sites = history.sites.merge(scores, on=["kind", "source_id"], how="left")
    top = sites["score"].rank(ascending=False, method="first") <= 0.2 * len(sites)
    acc = history.accidents.dropna(subset=["kind"])
    acc = acc[(acc["occurred_on"] >= first) & (acc["occurred_on"] <= last)]
    out = {"as_of": middle.isoformat(),
           "top_20_by_class": sites.loc[top, "kind"].value_counts().to_dict(),
           "sites_by_class": sites["kind"].value_counts().to_dict(),
           "accidents_by_class": acc["kind"].value_counts().to_dict(), "correlation": {}}
    for kind, g in sites[np.isfinite(sites["base"])].groupby("kind"):
        if len(g) > 30:
            out["correlation"][kind] = {term: round(float(g["score"].corr(g[term], method="spearman")), 3)
                                        for term in ("static", "management", "frailty")}
    return out


def sensitivity(url: str, first: dt.date, last: dt.date) -> list[dict]:
    """The expected-accidents ranking's area and top-20 % capture for other values of its three assumptions
    (β, the exposure elasticities scaled, the prior's site-years): how much the result owes to the values chosen."""
    from geo import store
    from geo.backtest import BacktestSettings, run_backtest
    from geo.risk.config import load_model

    model = load_model()
    shipped = model["likelihood"]
    out = []
    conn = store.connect(url)
    try:
        for beta in (0.02, 0.039, 0.06):
            for scale in (0.5, 1.0):
                for prior in (10.0, 50.0, 200.0):
                    model["likelihood"] = {"score_weight": beta, "prior_site_years": prior,
                                           "exposure_elasticity": {k: v * scale for k, v in
                                                                   shipped["exposure_elasticity"].items()}}
                    r = run_backtest(conn, BacktestSettings(first, last), model)["rankings"]["expected"]
                    out.append({"score_weight": beta, "elasticity_scale": scale, "prior_site_years": prior,
                                "area": r["area"], "top_20": r["top_20"]})
    finally:
        conn.close()
    return out


def report(backtest: dict, history, truth: dict, reasons: dict | None = None,
           spread: list[dict] | None = None) -> None:
    """Print the curves, the goals and the ceilings (module docstring)."""
    print("\nranking | area | " + " | ".join(f"top {x} %" for x in POINTS))
    rows = {**backtest["rankings"], **{f"truth: {k}": v for k, v in truth.items() if k in CEILINGS}}
    for name, r in rows.items():
        c = r["capture"]
        print(f"{name} | {r['area']:.3f} | " + " | ".join(f"{100 * c[x - 1]:.1f} %" for x in POINTS))
    best = backtest["rankings"][backtest["best_naive"]]
    naive = {k: backtest["rankings"][k]["area"] for k in ("size", "industry", "random")}
    for name in ("model", "expected"):  # riskmap's score, and the same score as expected accidents
        ranked = backtest["rankings"][name]
        ratio = backtest[f"{name}_top_20_vs_best_naive"]
        print(f"\n{name}: goal 1, top 20 % ≥ 2 × best naive ({backtest['best_naive']}): "
              f"{100 * ranked['top_20']:.1f} % vs {100 * best['top_20']:.1f} % → ratio {ratio} → "
              f"{'met' if ratio and ratio >= 2 else 'NOT met'}; 2 × the best naive is {200 * best['top_20']:.1f} %, "
              f"the truth's own ranking reaches {100 * truth['true']['top_20']:.1f} %")
        beaten = [k for k, v in naive.items() if ranked["area"] <= v]
        print(f"{name}: goal 2, area {ranked['area']:.3f} beats every naive ranking "
              f"({', '.join(f'{k} {v:.3f}' for k, v in naive.items())}): "
              f"{'met' if not beaten else 'NOT met (not beaten: ' + ', '.join(beaten) + ')'}")
    print(f"expected accidents' basis: {backtest['expected_basis']}")
    if spread:
        areas, tops = [r["area"] for r in spread], [r["top_20"] for r in spread]
        print(f"expected accidents under other assumptions ({len(spread)} sets: β 0.02 / 0.039 / 0.06, elasticities "
              f"× ½ / 1, prior 10 / 50 / 200 site-years): area {min(areas):.3f} … {max(areas):.3f}, top 20 % "
              f"{100 * min(tops):.1f} … {100 * max(tops):.1f} %")
        for r in spread:
            print(f"  β {r['score_weight']:<5} elasticity × {r['elasticity_scale']:<3} "
                  f"prior {r['prior_site_years']:>5.0f}: area {r['area']:.3f}, top 20 % {100 * r['top_20']:.1f} %")
    v = history.variance
    print(f"hidden from the model: {100 * v['latent_share']:.0f} % of Var(log hazard) is latent (management "
          f"{100 * v['management_share']:.0f} %, frailty {100 * v['frailty_share']:.0f} %); observed "
          f"{100 * v['observed_share']:.0f} %, records {100 * v['records_share']:.0f} %")
    print(f"window {backtest['window']['from']} … {backtest['window']['to']}: {backtest['accidents']} accidents, "
          f"{backtest['attributed']['total']} attributed ({backtest['attributed']['named']} named, "
          f"{backtest['attributed']['nearest']} nearest), {backtest['unattributed']['count']} unattributed; "
          f"industry rates: {backtest['industry_basis']}; truth curves over {truth['accidents']} accidents at "
          f"registered sites")
    if reasons:
        print(f"why, as of {reasons['as_of']}: the model's top 20 % holds {reasons['top_20_by_class']} (sites "
              f"{reasons['sites_by_class']}); the window's accidents at registered sites happened at "
              f"{reasons['accidents_by_class']}; rank correlation of the model's score with the true hazard's "
              f"terms, per class: {reasons['correlation']}")
    print(json.dumps({k: {m: backtest["rankings"][k][m] for m in ("area", "top_20")} for k in ("model", "expected")}
                     | {
                        "naive": {k: {"area": backtest["rankings"][k]["area"],
                                      "top_20": backtest["rankings"][k]["top_20"]} for k in naive},
                        "truth": {k: {"area": round(truth[k]["area"], 6), "top_20": round(truth[k]["top_20"], 6)}
                                  for k in CEILINGS}}))
