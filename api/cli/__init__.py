"""The `riskmap` command line.

Exit codes: 0 done; 1 unexpected error; 2 bad usage (unknown kind, CRS or option); 3 input rejected (bad file or
rows; nothing written); 4 database unavailable; 5 a system package is missing (the message says which).
"""

from __future__ import annotations

import sys
import traceback

# The command modules register their commands on the app as they are imported, in the order `riskmap --help`
# lists them.
from api.cli import (  # noqa: F401
    audit,
    backtest,
    campaign,
    features,
    lists,
    map_page,
    plans,
    qgis,
    report,
    scoring,
    serve,
    siting,
    supervision,
)
from api.cli.areas import areas_app
from api.cli.common import _progress, _reported, _settings, app, err, out
from api.cli.db import db_app
from api.cli.records import records_app
from api.cli.roads import roads_app
from api.cli.users import users_app

app.add_typer(db_app, name="db")
app.add_typer(areas_app, name="areas")
app.add_typer(roads_app, name="roads")
app.add_typer(records_app, name="records")
app.add_typer(users_app, name="users")

__all__ = ["_progress", "_reported", "_settings", "app", "areas_app", "db_app", "err", "main", "out", "records_app",
           "roads_app", "users_app"]


def main() -> None:
    try:
        app()
    except SystemExit as e:
        raise e
    except Exception:  # unexpected: the traceback for the log, then a plain line for the user
        traceback.print_exc()
        print("riskmap: unexpected error (details above); please report it", file=sys.stderr)
        sys.exit(1)
