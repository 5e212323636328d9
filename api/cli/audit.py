"""`riskmap audit`: the audit trail (geo/audit.py) from a date, as CSV or JSON, on stdout or into a file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, app, out, parse_date

PAGE = 10_000  # events read at a time


@app.command("audit")
def audit_cmd(
    since: Annotated[str, typer.Option(help="From this day (YYYY-MM-DD, UTC), inclusive.")],
    until: Annotated[str | None, typer.Option(help="Up to this day (YYYY-MM-DD, UTC), exclusive.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor's events (e.g. cli:alice, api:3f2a...).")]
    = None,
    table: Annotated[str | None, typer.Option(help="Only events of this table.")] = None,
    action: Annotated[str | None, typer.Option(help="Only insert, update, delete, truncate or auth_failed.")]
    = None,
    format: Annotated[str, typer.Option("--format", help="csv or json (one event per line).")] = "csv",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the audit trail: every write (who, when, from where, the request, the row before and after) and
    every refused credential, oldest first.  CSV goes through riskmap's formula-safe spreadsheet writer."""
    import json
    import sys

    from api.database import open_database
    from geo import audit
    from geo.spreadsheet import csv_bytes

    if format not in ("csv", "json"):
        raise typer.BadParameter(f"expected csv or json, got {format!r}", param_hint="--format")
    if action is not None and action not in audit.ACTIONS:
        raise typer.BadParameter(f"expected one of {', '.join(audit.ACTIONS)}, got {action!r}",
                                 param_hint="--action")
    first = parse_date(since, "--since")
    last = parse_date(until, "--until")
    utc = dt.UTC
    which = audit.EventFilter(since=dt.datetime.combine(first, dt.time(), utc),
                              until=dt.datetime.combine(last, dt.time(), utc) if last else None,
                              actor=actor, table=table, action=action)
    with _reported():
        conn = open_database(_settings())
        try:
            found: list[dict] = []
            while page := audit.events(conn, which, PAGE):
                found += page
                which = audit.EventFilter(**{**which.__dict__, "after": page[-1]["id"]})
        finally:
            conn.close()
    if format == "csv":
        data = csv_bytes(audit.COLUMNS, audit.table_rows(found))
    else:
        data = "".join(json.dumps(audit.as_json(e), ensure_ascii=False) + "\n" for e in found).encode()
    if out_file is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out_file.write_bytes(data)
        out.print(f"wrote {len(found)} events to {out_file}", highlight=False)
