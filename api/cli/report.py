"""`riskmap report`: the monthly report of an area (api/monthly_report.py) as a printable HTML page and an XLSX
workbook."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, app, out

FORMATS = ("html", "xlsx", "both")


@app.command("report")
def report_cmd(
    area: Annotated[str, typer.Option(help="Admin code of the area, e.g. 130203.")],
    month: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    out_dir: Annotated[Path, typer.Option("--out", help="The folder to write the files to, or the one file to "
                                                        "write (a name ending .html or .xlsx).")] = Path("."),
    format: Annotated[str | None, typer.Option(help="html (the printable page), xlsx (the workbook) or both "
                                                    "(default: both; a file --out: its own).")] = None,
    lang: Annotated[str, typer.Option(help="The page's language: zh or en.")] = "zh",
    config: Annotated[Path | None, typer.Option(help="The supervision settings file (default: "
                                                     "RISKMAP_SUPERVISION, else the shipped one).")] = None,
) -> None:
    """The monthly report of an area: sites per risk level and their change from the month before, hidden
    dangers found, overdue and closed, inspections done against those due, look-backs, enforcement, accidents,
    and the list of major risks and hidden dangers, all as of the month's last day.  Writes
    report-<area>-<month>.html and/or .xlsx into the folder --out, or the one file --out names (.html or .xlsx)."""
    from api.database import open_database
    from api.monthly_report import MonthError, month_report, parse_month, report_workbook
    from geo.supervision.config import load_supervision
    from maps.monthly_report_page import monthly_report_page

    if format is not None and format not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}, got {format!r}", param_hint="--format")
    one_file = out_dir.suffix.lower() in (".html", ".xlsx")
    if one_file:
        own = out_dir.suffix.lower()[1:]
        if format not in (None, own):
            raise typer.BadParameter(f"--out {out_dir.name} is one {own} file; --format {format} asks for "
                                     f"{'both files: give a folder' if format == 'both' else 'the other one'}",
                                     param_hint="--format")
        format = own
    format = format or "both"
    if lang not in ("zh", "en"):
        raise typer.BadParameter(f"expected zh or en, got {lang!r}", param_hint="--lang")
    try:
        period = parse_month(month, dt.date.today())
    except MonthError as e:
        raise typer.BadParameter(str(e).removeprefix("--month: "), param_hint="--month") from None
    with _reported():
        settings = _settings()
        supervision = load_supervision(config or settings.supervision)
        conn = open_database(settings)
        try:
            report = month_report(conn, area, period, supervision)
        finally:
            conn.close()
        (out_dir.parent if one_file else out_dir).mkdir(parents=True, exist_ok=True)
        stem = out_dir.with_suffix("") if one_file else out_dir / f"report-{area}-{period.label}"
        written = []
        if format in ("html", "both"):
            path = out_dir if one_file else stem.with_suffix(".html")
            path.write_text(monthly_report_page(report, lang), encoding="utf-8")
            written.append(path)
        if format in ("xlsx", "both"):
            path = out_dir if one_file else stem.with_suffix(".xlsx")
            path.write_bytes(report_workbook(report, lang))
            written.append(path)
        total = report["inspections"]["total"]
        out.print(f"{report['area']['name']} ({area}), {period.label}: {report['hidden_dangers']['found']} hidden "
                  f"dangers found, {report['hidden_dangers']['overdue_at_end']} overdue at the month's end; "
                  f"{total['due_done']} of {total['due']} sites due inspected; "
                  f"{report['enforcement']['decided']} enforcement decisions", highlight=False)
        for path in written:
            out.print(f"wrote {path}", highlight=False)
