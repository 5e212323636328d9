"""`riskmap score`: risk scores, area risk and the exposure surface."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import _progress, _reported, _settings, app, err, out, parse_date
from geo.errors import RiskmapError

if TYPE_CHECKING:
    from api.settings import Settings


@app.command("score")
def score_cmd(
    full: Annotated[bool, typer.Option("--full", help="Recompute everything, not only what changed.")] = False,
    model: Annotated[Path | None, typer.Option(help="Risk-model file (default: RISKMAP_RISK_MODEL, else the "
                                                    "shipped geo/risk/model.toml).")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Score as of this date, YYYY-MM-DD (default: today): inspection ages are measured to it, "
                        "records dated later do not count, and the score history records it.")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Score everything in spatial partitions on a local Dask cluster of this many "
                                 "worker processes (a full run; default: one process, no partitions).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Score everything in spatial partitions on the running Dask cluster at this address, "
                            "e.g. tcp://HOST:8786 (its workers must reach the database URL).")] = None,
    partition_resolution: Annotated[int | None, typer.Option(
        "--partition-resolution", min=0, max=15,
        help="H3 resolution of the partitions of --workers / --scheduler (4: cells of about 1,770 km²; default: "
             "the finest whose partitions hold 2,000 features on average).")] = None,
) -> None:
    """Compute risk scores, levels and factors per feature, area risk and the exposure surface."""
    from api.database import database_url, open_database

    day = parse_date(as_of, "--as-of")
    if workers is not None and scheduler is not None:
        raise typer.BadParameter("give --workers or --scheduler, not both", param_hint="--workers / --scheduler")
    with _reported():
        settings = _settings()
        conn = open_database(settings)
        try:
            if workers is None and scheduler is None:
                summary = _run_scoring(conn, settings, model, full, day)
            else:
                summary = _run_partitioned(conn, database_url(settings), settings, model, day, workers, scheduler,
                                           partition_resolution)
        finally:
            conn.close()
        _print_score_summary(summary)


def _run_scoring(conn, settings: Settings, model_path: Path | None, full: bool, as_of=None):
    from geo.risk.config import load_model
    from geo.risk.scoring import STEPS, score

    model = load_model(model_path or settings.risk_model)
    with _progress("scoring", total=len(STEPS)) as update:
        return score(conn, model, as_of, full=full, progress=lambda name, done, total: update(done, total))


def _run_partitioned(conn, url: str, settings: Settings, model_path: Path | None, as_of, workers: int | None,
                     scheduler: str | None, resolution: int | None):
    """A full run in H3 partitions on a Dask cluster (geo/risk/distributed.py), a progress step per partition."""
    from geo.risk.config import load_model
    from geo.risk.distributed import dask_client, score_partitioned

    model = load_model(model_path or settings.risk_model)
    with dask_client(workers, scheduler) as client, _progress("scoring in partitions") as update:
        return score_partitioned(conn, url, model, client, as_of, resolution=resolution,
                                 progress=lambda name, done, total: update(done, total))


SCORE_OPTION = typer.Option("--score/--no-score",
                            help="Then bring the scores up to date with the change, as `riskmap score` does (changes "
                                 "only).  --no-score leaves that for a later `riskmap score`.")


def follow_with_scores(conn, settings: Settings, written: str, score: bool) -> None:
    """After a committed write from the command line: the scores follow it (changes only), or, with --no-score,
    a word that they wait.  A failed run exits with its error's code, saying that ``written`` stays written."""
    if not score:
        out.print("scores not brought up to date (--no-score): `riskmap score` does it; GET /health shows the "
                  "changes waiting")
        return
    try:
        summary = _run_scoring(conn, settings, None, False)
    except RiskmapError as e:
        err.print(f"[bold red]error:[/] {written} is written, but bringing the scores up to date failed: {e} "
                  "(`riskmap score` tries again)", markup=True, highlight=False)
        raise typer.Exit(e.exit_code) from None
    _print_score_summary(summary)


def _print_score_summary(summary) -> None:
    what = "full recompute" if summary.full else "changes only"
    if summary.partitions:
        what += (f" in {summary.partitions} partitions (H3 resolution {summary.partition_resolution}), "
                 f"halo {summary.halo_m:,.0f} m, areas in {summary.area_groups} groups")
    scored = ", ".join(f"{k} {n}" for k, n in summary.scored.items()) or "nothing changed"
    out.print(f"scored ({what}, {summary.seconds:.1f} s): {scored}; {summary.areas} area rows; score history "
              f"+{summary.history} rows ({summary.history_seconds:.2f} s)")
    for kind, levels in summary.levels.items():
        out.print(f"  {kind:17s} " + "  ".join(f"{lv} {n}" for lv, n in levels.items()))
