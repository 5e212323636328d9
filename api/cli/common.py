"""What every command of the `riskmap` command line shares: the root Typer app, the consoles, the settings, the
error reporting and the progress bar."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from geo.errors import RiskmapError

if TYPE_CHECKING:
    from api.settings import Settings


app = typer.Typer(help="riskmap: geospatial risk mapping for production-safety supervision.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    from pydantic import ValidationError

    from api.settings import Settings  # pydantic-settings takes a quarter of a second to import
    from geo.errors import InvalidSetting

    try:
        return Settings()
    except ValidationError as e:  # e.g. a short API key: refused before anything starts
        problems = "; ".join(f"RISKMAP_{'_'.join(map(str, x['loc'])).upper()}: {x['msg']}" for x in e.errors())
        raise InvalidSetting(problems) from None


def cli_actor() -> str:
    """Who writes from the command line, as the records' history keeps it: cli:<the operating-system user>."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this user id (a container's)
        import os

        return f"cli:uid {os.getuid()}"


def open_for_writing(settings: Settings, command: str):
    """A connection (api/database.py's ``open_database``) whose writes the audit trail records as cli:<user>,
    from this host, for ``command`` (what was asked: ``riskmap import --kind area a.gpkg``): what every command
    that writes opens."""
    from api.database import open_database

    return open_database(settings, writer=cli_actor(), request=command)


@contextmanager
def _reported():
    """Turn riskmap errors into a message on stderr and their exit code."""
    try:
        yield
    except RiskmapError as e:
        err.print(f"[bold red]error:[/] {e}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted; nothing was written")
        raise typer.Exit(130) from None


@contextmanager
def _progress(description: str, total: int | None = None):
    """A progress bar on a terminal; quiet elsewhere (CI, pipes)."""
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, disable=not err.is_terminal, transient=False)
    with progress:
        task = progress.add_task(description, total=total)

        def update(done: int, total_now: int | None = None) -> None:
            progress.update(task, completed=done, total=total_now if total_now is not None else total)

        yield update


def parse_date(value: str | None, option: str) -> dt.date | None:
    """A YYYY-MM-DD date given to ``option``; bad usage (exit 2) naming the option otherwise."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"expected a date as YYYY-MM-DD, got {value!r}", param_hint=option) from None
