"""`riskmap major-risks`: the list of major risks and hidden dangers (重大风险和隐患清单) of an area, written as CSV,
XLSX, the printable HTML page, JSON or GeoJSON (the same as GET /major-risks, with the same filters)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, app, out, parse_date

FORMATS = ("csv", "xlsx", "html", "json", "geojson")
SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".html": "html", ".json": "json", ".geojson": "geojson"}


@app.command("major-risks")
def major_risks_cmd(
    area: Annotated[str | None, typer.Option(help="An admin code: the sites whose point lies in that area "
                                                  "(default: everywhere).")] = None,
    format: Annotated[str | None, typer.Option("--format", help="csv, xlsx, html (printable, A4 landscape), json "
                                                                "or geojson; by default the --out file's suffix.")]
    = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="The file to write; without it, the list is "
                                                                "printed.")] = None,
    kind: Annotated[str | None, typer.Option(help="Comma list of site kinds (default: all).")] = None,
    level: Annotated[str | None, typer.Option(help="Comma list of levels, red and/or orange: those sites, and the "
                                                   "dangers whose site has one of them.")] = None,
    status: Annotated[str | None, typer.Option(help="Comma list of danger statuses, open and/or reopened (the "
                                                    "danger rows only).")] = None,
    entry: Annotated[str | None, typer.Option(help="Comma list of rows: major_risk (sites), major_hidden_danger "
                                                   "(dangers); default both.")] = None,
    found_from: Annotated[str | None, typer.Option("--found-from", help="The danger rows found on or after this "
                                                                        "date, YYYY-MM-DD.")] = None,
    found_to: Annotated[str | None, typer.Option("--found-to", help="The danger rows found on or before this date, "
                                                                    "YYYY-MM-DD.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The date overdue is judged on, YYYY-MM-DD "
                                                              "(default: today).")] = None,
    lang: Annotated[str, typer.Option(help="Language of the page, the spreadsheets' headers and the measures written "
                                           "from supervision: zh or en.")] = "zh",
) -> None:
    """Write the list of major risks and hidden dangers: every red or orange scored site and every open major
    hidden danger, one row each, with the responsible unit and person, the supervising department, the deadline
    and the measures.  Without --out, the rows are printed (the JSON or GeoJSON document with --format json or
    geojson)."""
    import json

    from fastapi.encoders import jsonable_encoder

    from api.database import open_database
    from api.routes.major_risks import list_document, list_geojson, list_spreadsheet
    from geo.lists.major_risks import major_risk_list
    from geo.supervision.config import load_supervision
    from maps.major_risks_page import list_table, major_risks_page

    def comma(text: str | None) -> tuple[str, ...] | None:
        return tuple(v.strip() for v in text.split(",") if v.strip()) or None if text else None

    with _reported():
        fmt = format or (SUFFIXES.get(out_file.suffix.lower(), out_file.suffix.lower().lstrip("."))
                         if out_file else None)
        if (out_file or format) and fmt not in FORMATS:
            raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)} (or the --out file end in "
                                     f".csv, .xlsx, .html, .json or .geojson), not {fmt!r}")
        if lang not in ("zh", "en"):
            raise typer.BadParameter(f"--lang must be zh or en, not {lang!r}")
        day = parse_date(as_of, "--as-of") or dt.date.today()
        settings = _settings()
        conn = open_database(settings)
        try:
            lst = major_risk_list(conn, day, area, comma(kind), levels=comma(level), statuses=comma(status),
                                  entries=comma(entry), found_from=parse_date(found_from, "--found-from"),
                                  found_to=parse_date(found_to, "--found-to"),
                                  supervision=load_supervision(settings.supervision), language=lang)
        finally:
            conn.close()
        if out_file is None and fmt in ("json", "geojson"):  # the document alone, for a pipe
            typer.echo(list_geojson(lst) if fmt == "geojson"
                       else json.dumps(jsonable_encoder(list_document(lst)), ensure_ascii=False, indent=1))
            return
        c = lst.counts
        where = f"{lst.area['name']} ({lst.area['admin_code']})" if lst.area else "everywhere"
        out.print(f"major risks and hidden dangers of {where} on {day}: {c['major_risk']} sites (red {c['red']}, "
                  f"orange {c['orange']}), {c['major_hidden_danger']} open major hidden dangers "
                  f"({c['overdue']} overdue)", highlight=False)
        if out_file is None:
            for row in list_table(lst, lang)[1]:
                out.print(" | ".join("" if v is None else str(v) for v in row[:8]), highlight=False, markup=False)
            return
        if fmt in ("csv", "xlsx"):
            out_file.write_bytes(list_spreadsheet(lst, fmt, lang))
        elif fmt == "html":
            out_file.write_text(major_risks_page(lst, lang, links=False), encoding="utf-8")
        elif fmt == "geojson":
            out_file.write_text(list_geojson(lst), encoding="utf-8")
        else:
            out_file.write_text(json.dumps(jsonable_encoder(list_document(lst)), ensure_ascii=False, indent=1),
                                encoding="utf-8")
        out.print(f"wrote {out_file}", highlight=False)
