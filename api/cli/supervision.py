"""`riskmap supervision` and `riskmap staffing`: precise supervision of the scored sites, and the inspector-days
each county needs (issue 14 item 4)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, app, out

CONFIG_HELP = "The supervision settings file (default: RISKMAP_SUPERVISION, else the shipped one)."


def _config(path: Path | None):
    from geo.supervision.config import load_supervision

    return load_supervision(path or _settings().supervision)


def _date(text: str | None, option: str) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option}: expected a date YYYY-MM-DD, got {text!r}") from None


def _emit(data: bytes | str, out_file: Path | None) -> None:
    if out_file is None:
        if isinstance(data, bytes):
            typer.echo(data.decode("utf-8-sig"), nl=False)
        else:
            typer.echo(data)
        return
    if isinstance(data, bytes):
        out_file.write_bytes(data)
    else:
        out_file.write_text(data + "\n", encoding="utf-8")
    out.print(f"wrote {out_file}", highlight=False)


@app.command("supervision")
def supervision_cmd(
    area: Annotated[str | None, typer.Option(help="Admin code of the area (default: everywhere).")] = None,
    as_of: Annotated[str | None, typer.Option(help="The date judged, YYYY-MM-DD (default: today).")] = None,
    kind: Annotated[str | None, typer.Option(help="Comma list of kinds (default: all scored kinds).")] = None,
    light: Annotated[str | None, typer.Option(help="Comma list of lights to list: red, yellow, green.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only the sites overdue for inspection.")] = False,
    format: Annotated[str, typer.Option(help="table, json or csv.")] = "table",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    config: Annotated[Path | None, typer.Option(help=CONFIG_HELP)] = None,
) -> None:
    """Every scored site's supervision recommendation: inspection frequency of its level, last inspection, next
    due date, overdue or not, red / yellow / green light, the measure allowed for an open major hidden danger
    (for that site alone), and why it is a look-back (回头看) site.  Worst first."""
    from api.database import open_database
    from api.routes.risk_list import csv_bytes
    from api.routes.supervision import CSV_COLUMNS, csv_row
    from geo.supervision.config import SITE_KINDS
    from geo.supervision.rules import LIGHTS
    from geo.supervision.sites import recommendations

    with _reported():
        if format not in ("table", "json", "csv"):
            raise typer.BadParameter(f"--format must be table, json or csv, not {format!r}")
        kinds = [k.strip() for k in (kind or "").split(",") if k.strip()] or list(SITE_KINDS)
        bad = [k for k in kinds if k not in SITE_KINDS]
        if bad:
            raise typer.BadParameter(f"--kind: unknown kind(s) {', '.join(bad)}; expected {', '.join(SITE_KINDS)}")
        lights = [v.strip() for v in (light or "").split(",") if v.strip()] or None
        if lights and any(v not in LIGHTS for v in lights):
            raise typer.BadParameter(f"--light: expected a comma list of {', '.join(LIGHTS)}, got {light!r}")
        day = _date(as_of, "--as-of")
        settings = _config(config)
        conn = open_database(_settings())
        try:
            recs = recommendations(conn, day, settings, area=area, kinds=kinds, lights=lights,
                                   overdue=True if overdue else None, levels_then=day < dt.date.today())
        finally:
            conn.close()
        items = [r.as_dict() for r in recs]
        if format == "json":
            _emit(json.dumps({"as_of": day.isoformat(), "area": area, "count": len(items), "items": items},
                             ensure_ascii=False, indent=1), out_file)
        elif format == "csv":
            _emit(csv_bytes(CSV_COLUMNS, (csv_row(i) for i in items)), out_file)
        else:
            _table(items, day, area)


def _table(items: list[dict], day: dt.date, area: str | None) -> None:
    from rich.table import Table

    counts = {c: sum(1 for i in items if i["light"] == c) for c in ("red", "yellow", "green")}
    table = Table(title=f"supervision on {day.isoformat()}{' in ' + area if area else ''}: "
                        f"red {counts['red']}, yellow {counts['yellow']}, green {counts['green']}; "
                        f"{sum(1 for i in items if i['overdue'])} overdue, "
                        f"{sum(1 for i in items if i['look_back'])} look-back")
    for column in ("light", "site", "level", "next due", "overdue d", "open (major)", "measure", "look-back"):
        table.add_column(column)
    for i in items[:200]:
        m = i["measure"]
        table.add_row(i["light"], f"{i['kind']}.{i['id']} {i['name']}", i["level"], i["next_due"] or "never",
                      str(i["days_overdue"]) if i["overdue"] else "",
                      f"{i['open_dangers']} ({i['open_major_dangers']})",
                      (m["action"] + (f" by {m['deadline']}" if m["deadline"] else "")) if m else "",
                      ", ".join(lb["reason"] for lb in i["look_back"]))
    out.print(table)
    if len(items) > 200:
        out.print(f"... and {len(items) - 200} more (--format json or csv lists them all)", highlight=False)


@app.command("staffing")
def staffing_cmd(
    level: Annotated[str, typer.Option(help="Admin level: province, city, county or township.")] = "county",
    format: Annotated[str, typer.Option(help="table, json or csv.")] = "table",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    config: Annotated[Path | None, typer.Option(help=CONFIG_HELP)] = None,
) -> None:
    """The inspector-days each county needs a year to inspect every scored site at its level's frequency, against
    the inspectors it has where the settings give them."""
    from api.database import open_database
    from api.routes.risk_list import csv_bytes
    from geo.supervision.staffing import ADMIN_LEVELS, county_staffing

    with _reported():
        if level not in ADMIN_LEVELS:
            raise typer.BadParameter(f"--level must be {', '.join(ADMIN_LEVELS)}, not {level!r}")
        if format not in ("table", "json", "csv"):
            raise typer.BadParameter(f"--format must be table, json or csv, not {format!r}")
        settings = _config(config)
        conn = open_database(_settings())
        try:
            table = county_staffing(conn, settings, level)
        finally:
            conn.close()
        if format == "json":
            _emit(json.dumps(table, ensure_ascii=False, indent=1), out_file)
            return
        columns = ("admin_code", "name", "sites", "inspections_per_year", "inspector_days", "inspectors_needed",
                   "staff", "shortfall_inspectors")
        rows = [[a[c] if not isinstance(a[c], float) else round(a[c], 2) for c in columns] for a in table["areas"]]
        if format == "csv":
            _emit(csv_bytes(columns, rows), out_file)
            return
        from rich.table import Table

        t = table["total"]
        tbl = Table(title=f"inspector-days a year by {level}: {t['inspector_days']:,.1f} in all "
                          f"({t['inspectors_needed']:,.1f} inspectors)")
        for column in columns:
            tbl.add_column(column.replace("_", " "), justify="left" if column in ("admin_code", "name") else "right")
        for row in rows:
            tbl.add_row(*("" if v is None else f"{v:,}" if isinstance(v, (int, float)) else str(v) for v in row))
        out.print(tbl)
        if table["outside_areas"]["sites"]:
            out.print(f"{table['outside_areas']['sites']} scored sites lie in no {level} "
                      f"({table['outside_areas']['inspector_days']:,.1f} inspector-days)", highlight=False)
