"""Domain errors.  No HTTP here: the API maps these classes to status codes in one table."""

from __future__ import annotations

from dataclasses import dataclass, field


class RiskmapError(Exception):
    """Base class of every error riskmap reports to a user."""

    exit_code = 1

    def __reduce__(self):
        # Pickled as its message and fields, not as the arguments of its __init__ (which many subclasses take in
        # other shapes): the API's writes raise them in a writer process and the request answers them
        # (api/writer.py).
        return _rebuild, (self.__class__, self.args, self.__dict__)


def _rebuild(cls: type[RiskmapError], args: tuple, fields: dict) -> RiskmapError:
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(fields)
    return exc


class UnknownKind(RiskmapError):
    exit_code = 2

    def __init__(self, kind: str, valid: list[str], records: list[str] | None = None):
        self.kind = kind
        also = f"; or a record kind: {', '.join(records)}" if records else ""
        super().__init__(f"unknown feature kind {kind!r}; expected one of: {', '.join(valid)}{also}")


class UnknownTable(RiskmapError):
    """A table name a command does not work on (``riskmap db cluster --table``); the message lists those it does."""

    exit_code = 2

    def __init__(self, table: str, valid: tuple[str, ...] | list[str]):
        self.table = table
        super().__init__(f"unknown table {table!r}; expected one of: {', '.join(valid)}")


class InvalidCRS(RiskmapError):
    exit_code = 2


class InvalidSetting(RiskmapError):
    """A configuration value riskmap cannot use (the message names the setting and what it accepts)."""

    exit_code = 2


class PlanningError(RiskmapError):
    """A plan that cannot be made as asked (no teams, an unknown area, a must-visit site out of reach...); the
    message names what and why."""

    exit_code = 2


class InputError(RiskmapError):
    """A problem with an input file as a whole (unreadable, empty, wrong layer...)."""

    exit_code = 3


class FieldError(InputError):
    """One value that cannot be used (a date before the date it must follow...); ``field`` names it."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass
class RowError:
    """One reason one row of an input file was rejected."""

    row: int | None  # 1-based feature number (for CSV: the data row, header not counted)
    field: str | None
    reason: str

    def describe(self, file: str, row_label: str = "feature", column: str | None = None,
                 line: int | None = None) -> str:
        """'file: row 2, field 'x': reason', and where the file says it differently, '(column 发现日期, line 3)':
        the file's own column name and the line of a table with a header (the row number counts data rows)."""
        where = f"{file}: {row_label} {self.row}" if self.row is not None else f"{file}"
        if self.field:
            where += f", field {self.field!r}"
        said = [f"column {column}"] if column and column != self.field else []
        if line is not None:
            said.append(f"line {line}")
        return f"{where}: {self.reason}" + (f" ({', '.join(said)})" if said else "")

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "reason": self.reason}


@dataclass
class ImportReport:
    """What an import found wrong (or did), for the CLI and, later, the API."""

    file: str
    kind: str
    row_label: str = "feature"
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0  # rows the file changed
    unchanged: int = 0  # rows the file gave again as they were stored (left alone)
    cap: int = 100
    columns: dict[str, str] = field(default_factory=dict)  # field -> the file's column feeding it
    header_lines: int = 0  # lines before the first data row (a CSV's or spreadsheet's header: 1)

    def _column(self, e: RowError) -> str | None:
        return self.columns.get(e.field) if e.field else None

    def _line(self, e: RowError) -> int | None:
        return e.row + self.header_lines if e.row is not None and self.header_lines else None

    def add(self, row: int | None, field_name: str | None, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.cap:
            self.errors.append(RowError(row, field_name, reason))

    def names(self, row: int, field_name: str) -> bool:
        """Whether a reason is already given for this row and field (so that a consequence is not reported
        again: a class of site that is unknown need not also be called missing)."""
        return any(e.row == row and e.field == field_name for e in self.errors)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def lines(self) -> list[str]:
        out = [e.describe(self.file, self.row_label, self._column(e), self._line(e))
               for e in sorted(self.errors, key=_sort_key)]
        if self.error_count > len(self.errors):
            out.append(f"... and {self.error_count - len(self.errors)} more errors (only the first {self.cap} shown)")
        return out

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "kind": self.kind,
            "rows_read": self.rows_read,
            "error_count": self.error_count,
            "errors": [e.as_dict() | ({"column": c} if (c := self._column(e)) and c != e.field else {})
                       | ({"line": ln} if (ln := self._line(e)) is not None else {})
                       for e in sorted(self.errors, key=_sort_key)],
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def _sort_key(e: RowError) -> tuple[int, str]:
    return (e.row if e.row is not None else -1, e.field or "")


class ImportRejected(RiskmapError):
    """The file had bad rows; nothing was written."""

    exit_code = 3

    def __init__(self, report: ImportReport):
        self.report = report
        n = report.error_count
        super().__init__(
            f"import of {report.file} rejected: {n} error{'s' if n != 1 else ''}; nothing was written\n"
            + "\n".join(report.lines())
        )


class DatabaseUnavailable(RiskmapError):
    exit_code = 4


class MissingSystemDependency(RiskmapError):
    """A system package riskmap needs is not installed; the message says which to install."""

    exit_code = 5


class Conflict(RiskmapError):
    """The change clashes with what is stored (e.g. creating a feature whose id exists)."""

    exit_code = 3


class TransitionRefused(Conflict):
    """A hidden danger's status change that the rules do not allow (geo/records/transitions.py); ``allowed``
    lists the changes that are."""

    def __init__(self, current: str, new: str, allowed: tuple[str, ...]):
        self.current, self.new, self.allowed = current, new, list(allowed)
        super().__init__(f"a hidden danger that is {current} cannot become {new}; from {current} it may become: "
                         f"{', '.join(allowed)}")


class PhotoTooLarge(RiskmapError):
    """A photo over the size limit (a setting)."""

    exit_code = 3


class UnsupportedPhoto(RiskmapError):
    """A file that is not a JPEG, PNG or WebP image (judged by its first bytes, not by its name)."""

    exit_code = 3


class TableBusy(Conflict):
    """A bulk import could not swap in its new table: a transaction kept reading the old one for longer than the
    import may wait (geo.shadow_table); nothing was written, and the import can be run again."""


class NotFound(RiskmapError):
    exit_code = 6


class ClusterUnavailable(RiskmapError):
    """The Dask scheduler of `riskmap score --scheduler` cannot be reached (or a local cluster did not start)."""

    exit_code = 4


class PartitionFailed(RiskmapError):
    """A partition of a partitioned scoring run failed on every attempt.  Its rows were never half-written (each
    partition moves into place in one transaction); the next `riskmap score` is a full run."""

    exit_code = 1
