"""`riskmap major-risks`: the list of major risks and hidden dangers (重大风险和隐患清单) of an area, written as CSV,
XLSX, the printable HTML page or JSON (the same as GET /major-risks)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import _reported, _settings, app, out

FORMATS = ("csv", "xlsx", "html", "json")


@app.command("major-risks")
def major_risks_cmd(
    area: Annotated[str | None, typer.Option(help="An admin code: the sites whose point lies in that area "
                                                  "(default: everywhere).")] = None,
    format: Annotated[str | None, typer.Option("--format", help="csv, xlsx, html (printable, A4 landscape) or "
                                                                "json; by default the --out file's suffix.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="The file to write; without it, the list is "
                                                                "printed.")] = None,
    kind: Annotated[str | None, typer.Option(help="Comma list of site kinds (default: all).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The date overdue is judged on, YYYY-MM-DD "
                                                              "(default: today).")] = None,
    lang: Annotated[str, typer.Option(help="Language of the page and the spreadsheets' headers: zh or en.")] = "zh",
) -> None:
    """Write the list of major risks and hidden dangers: every red or orange scored site and every open major
    hidden danger, one row each, with the responsible unit and person, the supervising department, the deadline
    and the measures."""
    import json

    from fastapi.encoders import jsonable_encoder

    from api.database import open_database
    from api.routes.major_risks import list_document, list_spreadsheet
    from geo.lists.major_risks import major_risk_list
    from maps.major_risks_page import list_table, major_risks_page

    with _reported():
        fmt = format or (out_file.suffix.lower().lstrip(".") if out_file else None)
        if out_file and fmt not in FORMATS:
            raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)} (or the --out file end in "
                                     f".csv, .xlsx, .html or .json), not {fmt!r}")
        if lang not in ("zh", "en"):
            raise typer.BadParameter(f"--lang must be zh or en, not {lang!r}")
        try:
            day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
        except ValueError:
            raise typer.BadParameter(f"--as-of must be a date YYYY-MM-DD, not {as_of!r}") from None
        kinds = tuple(k.strip() for k in kind.split(",") if k.strip()) if kind else None
        conn = open_database(_settings())
        try:
            lst = major_risk_list(conn, day, area, kinds or None)
        finally:
            conn.close()
        c = lst.counts
        where = f"{lst.area['name']} ({lst.area['admin_code']})" if lst.area else "everywhere"
        out.print(f"major risks and hidden dangers of {where} on {day}: {c['major_risk']} sites (red {c['red']}, "
                  f"orange {c['orange']}), {c['major_hidden_danger']} open major hidden dangers "
                  f"({c['overdue']} overdue)", highlight=False)
        if out_file is None:
            for row in list_table(lst, lang)[1]:
                out.print(" | ".join("" if v is None else str(v) for v in row[:8]), highlight=False)
            return
        if fmt in ("csv", "xlsx"):
            out_file.write_bytes(list_spreadsheet(lst, fmt, lang))
        elif fmt == "html":
            out_file.write_text(major_risks_page(lst, lang, links=False), encoding="utf-8")
        else:
            out_file.write_text(json.dumps(jsonable_encoder(list_document(lst)), ensure_ascii=False, indent=1),
                                encoding="utf-8")
        out.print(f"wrote {out_file}", highlight=False)
