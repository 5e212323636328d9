"""`riskmap records`: one stored record with its history, and a hidden danger's status changes (the same rules as
PATCH /hidden-dangers/{id}: geo/records/transitions.py).  Records are added with `riskmap import --kind ...`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, cli_actor, open_for_writing, out
from api.cli.scoring import SCORE_OPTION, follow_with_scores

records_app = typer.Typer(help="The campaign's records: inspections, hidden dangers, enforcement actions, "
                               "accidents.", no_args_is_help=True)

KINDS = ("inspection", "hidden_danger", "enforcement_action", "accident")


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise typer.BadParameter(f"unknown record kind {kind!r}; expected one of: {', '.join(KINDS)}")
    return kind


@records_app.command("show")
def show(
    kind: Annotated[str, typer.Argument(help="inspection, hidden_danger, enforcement_action or accident.",
                                        callback=_kind)],
    record_id: Annotated[int, typer.Argument(help="The record's riskmap id.")],
    history: Annotated[bool, typer.Option("--history", help="Also every change: when, who, what.")] = False,
) -> None:
    """Print one record as JSON (with its history when asked)."""
    from api.database import open_database
    from geo.records import store

    with _reported():
        conn = open_database(_settings())
        try:
            doc = store.read(conn, kind, record_id)
            if history:
                doc["history"] = store.history(conn, kind, record_id)
        finally:
            conn.close()
        out.print_json(json.dumps(doc, ensure_ascii=False, default=str))


@records_app.command("set-status")
def set_status(
    danger_id: Annotated[int, typer.Argument(help="The hidden danger's riskmap id.")],
    status: Annotated[str, typer.Argument(help="rectified, verified or reopened (as the rules allow).")],
    on: Annotated[dt.datetime, typer.Option("--on", formats=["%Y-%m-%d"],
                                            help="The date of the change (YYYY-MM-DD).")],
    score: Annotated[bool, SCORE_OPTION] = True,
) -> None:
    """Move a hidden danger's status along the allowed transitions (open → rectified → verified; rectified or
    verified → reopened → rectified); any other change is refused, naming the allowed ones (exit 3)."""
    from geo.records import store

    with _reported():
        settings = _settings()
        conn = open_for_writing(settings, f"riskmap records set-status {danger_id} {status} --on {on.date()}")
        try:
            danger = store.change_danger(conn, danger_id, status=status, on=on.date(), actor=cli_actor())
            out.print(f"hidden danger {danger_id} ({danger['source_id']}) is {danger['status']} since "
                      f"{danger['status_changed_on']}")
            follow_with_scores(conn, settings, f"hidden danger {danger_id}'s change", score)
        finally:
            conn.close()
