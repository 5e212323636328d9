"""The one writer of the spreadsheets riskmap hands out (CSV and XLSX): every list, report, plan and table a user
downloads goes through ``csv_bytes`` or ``xlsx_book``, so that no text cell can start a formula (OWASP "CSV
injection") and Chinese text opens right in Excel."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

# Text that a spreadsheet would read as the start of a formula (OWASP "CSV injection"): = + - @, tab, CR.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 80  # XLSX column width cap, in characters


def spreadsheet_safe(value: Any) -> Any:
    """A cell value that no spreadsheet runs as a formula: text starting with ``=``, ``+``, ``-``, ``@``, a tab or
    a carriage return gets a leading single quote; numbers, booleans and None pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The one CSV writer of spreadsheets riskmap hands out: UTF-8 with a byte-order mark (so that Excel reads
    Chinese text), CRLF line ends, a header row, and every text cell formula-safe (``spreadsheet_safe``)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([spreadsheet_safe(c) for c in columns])
    writer.writerows([spreadsheet_safe(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def _width(value: Any) -> int:
    # East Asian wide characters take two columns
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: its name, column headers, rows, and number formats by column name."""

    name: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    number_formats: dict[str, str] | None = None


def xlsx_book(sheets: Sequence[Sheet]) -> bytes:
    """The one XLSX writer of spreadsheets riskmap hands out: one sheet per ``Sheet``, each with its header row
    bold and frozen, an auto-filter, columns sized to their content (capped), its number formats, and every text
    cell formula-safe after the control characters XML 1.0 cannot hold are dropped (openpyxl refuses them): text
    that a spreadsheet would run as a formula (``FORMULA_STARTS``) is stored as a text cell marked with the
    spreadsheet's own hidden quote prefix, so it shows as written and never runs (a CSV has no cell types: there
    ``spreadsheet_safe`` puts a visible quote in front).  Numbers, dates and None stay typed cells."""
    def cell(value: Any) -> Any:
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

    def as_text(row) -> None:
        for c in row:
            if isinstance(c.value, str) and c.value.startswith(FORMULA_STARTS):
                c.data_type = "s"  # (openpyxl took it for a formula)
                c.quotePrefix = True

    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        ws = wb.create_sheet(cell(sheet.name)[:31])
        ws.append([cell(c) for c in sheet.columns])
        for header in ws[1]:
            header.font = Font(bold=True)
        rows = [[cell(v) for v in row] for row in sheet.rows]
        for row in rows:
            ws.append(row)
        for row in ws.iter_rows():
            as_text(row)
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = ws.dimensions
        for i, name in enumerate(sheet.columns, start=1):
            widest = max([_width(name)] + [_width(r[i - 1]) for r in rows])
            ws.column_dimensions[get_column_letter(i)].width = min(widest + 2, MAX_WIDTH)
        for name, fmt in (sheet.number_formats or {}).items():
            col = list(sheet.columns).index(name) + 1
            for (c,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                c.number_format = fmt
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsx_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "list",
               number_formats: dict[str, str] | None = None) -> bytes:
    """A workbook of one sheet (``xlsx_book``)."""
    return xlsx_book([Sheet(sheet, columns, list(rows), number_formats)])
