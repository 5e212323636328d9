"""Loading the Tangshan demo region into the feature store, through the ordinary import path.

The real county boundaries come from ``tangshan_counties.geojson``; the synthetic features from
``demo.generate_demo``.  Each kind is written to a temporary GeoPackage and imported with ``geo.importer``, so
the demo exercises exactly what a user's import does.  Loading again with the same seed updates the same ids.

``load_history`` adds the two synthetic years of records (``demo.history.generate_history``): each record kind
is written to a CSV file, as a bureau's export would be, and imported with the same ``import_file`` (all or
nothing), inspections first (the hidden dangers name them), all in one transaction that replaces the demo
records of an earlier load.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path

import geopandas as gpd

from data.demo import generate_demo
from data.demo.history import RECORD_KINDS, History, generate_history
from geo.importer import import_file

DEMO_KINDS = ("enterprise", "tailings_pond", "pipeline", "venue", "settlement")


def counties_path() -> Path:
    return Path(str(resources.files("data").joinpath("tangshan_counties.geojson")))


def load_demo(conn, seed: int = 20261129, progress: Callable[[int, int | None], None] | None = None) -> dict[str, int]:
    """Import the demo region; returns the number of features per kind."""
    counts: dict[str, int] = {}
    report = import_file(conn, counties_path(), "area")
    counts["area"] = report.rows_read
    counties = gpd.read_file(counties_path(), engine="pyogrio")
    frames = generate_demo(counties, seed=seed)
    total = sum(len(f) for f in frames.values())
    done = 0
    with tempfile.TemporaryDirectory(prefix="riskmap-demo-") as tmp:
        for kind in DEMO_KINDS:
            frame = frames[kind]
            path = Path(tmp) / f"{kind}.gpkg"
            frame.to_file(path, driver="GPKG", layer=kind, engine="pyogrio")
            report = import_file(conn, path, kind, display_name=f"demo {kind} (synthetic)")
            counts[kind] = report.rows_read
            done += len(frame)
            if progress:
                progress(done, total)
    return counts


def start_levels(conn) -> dict[str, dict[str, str]]:
    """Each scored site's level now ({kind: {source_id: level}}): what the bureau plans its inspections by when
    the history starts (data/demo/history.py)."""
    levels: dict[str, dict[str, str]] = {}
    with conn.cursor() as cur:
        for kind in ("enterprise", "tailings_pond", "pipeline", "venue"):
            cur.execute(f"SELECT f.source_id, r.level FROM {kind} f "  # noqa: S608 (a fixed table name)
                        "JOIN feature_risk r ON r.kind = %s AND r.feature_id = f.id", (kind,))
            levels[kind] = dict(cur.fetchall())
    conn.rollback()
    return levels


def clear_demo_records(conn) -> None:
    """Delete the demo's synthetic records of an earlier load (data/sql/clear_demo_records.sql), in the caller's
    transaction."""
    with conn.cursor() as cur:
        cur.execute(resources.files("data").joinpath("sql/clear_demo_records.sql").read_text(encoding="utf-8"))


def write_history(history: History, folder: Path) -> dict[str, Path]:
    """The records as one CSV file per kind in ``folder`` (UTF-8, riskmap's column names; accidents with lon and
    lat); returns {kind: path}."""
    paths = {}
    for kind in RECORD_KINDS:
        path = folder / f"{kind}.csv"
        history.records[kind].to_csv(path, index=False, encoding="utf-8")
        paths[kind] = path
    return paths


def load_history(conn, levels: Mapping[str, Mapping[str, str]], seed: int = 20261129,
                 frequency_months: Mapping[str, int] | None = None) -> tuple[History, dict[str, int]]:
    """Generate the demo's two synthetic years for the features of ``seed`` (the loaded demo) and the sites'
    start ``levels``, write them to files and import them in one transaction, which first removes the demo's
    synthetic records of an earlier load (data/sql/clear_demo_records.sql); returns the history (with its truth)
    and the rows imported per record kind."""
    counties = gpd.read_file(counties_path(), engine="pyogrio")
    history = generate_history(generate_demo(counties, seed=seed), counties, levels, seed,
                               frequency_months=frequency_months)
    counts: dict[str, int] = {}
    autocommit = conn.autocommit
    conn.autocommit = False
    try:
        clear_demo_records(conn)
        with tempfile.TemporaryDirectory(prefix="riskmap-history-") as tmp:
            for kind, path in write_history(history, Path(tmp)).items():
                report = import_file(conn, path, kind, display_name=f"demo {kind} (synthetic)", actor="demo",
                                     commit=False)
                counts[kind] = report.rows_read
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = autocommit
    return history, counts


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    """The last day of every month from ``first``'s to ``last``'s."""
    out, day = [], first.replace(day=1)
    while day <= last:
        nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        out.append(nxt - dt.timedelta(days=1))
        day = nxt
    return out


def load_demo_history(conn, model: dict, seed: int = 20261129, frequency_months: Mapping[str, int] | None = None,
                      progress: Callable[[str], None] | None = None) -> tuple[History, dict[str, int]]:
    """The demo's two synthetic years on top of the loaded demo region: the demo records of an earlier load are
    removed, the sites are scored as of the day before the history starts (in full, so that their levels, and so
    the records drawn from them, are the same on every load), the history is generated from those levels and
    imported (``load_history``), and the score history is filled in as of every month's end of the two years
    (geo/risk/backfill.py, which ends with a full run as of the last).  The caller scores the sites again as of
    today."""
    from data.demo.history import HISTORY_END, HISTORY_START
    from geo.risk.backfill import backfill
    from geo.risk.scoring import score

    say = progress or (lambda message: None)
    # the records of an earlier load go first, and the score history of the two years made from them: the levels
    # the history starts from are those of the sites without them (its last inspections before the history are
    # dated before that day), as on a first load
    autocommit = conn.autocommit
    conn.autocommit = False
    try:
        clear_demo_records(conn)
        with conn.cursor() as cur:
            cur.execute(resources.files("data").joinpath("sql/clear_demo_score_history.sql").read_text(
                encoding="utf-8"), {"first": HISTORY_START - dt.timedelta(days=1), "last": HISTORY_END})
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = autocommit
    say(f"scoring the sites as of {HISTORY_START - dt.timedelta(days=1)} (the levels the history starts from)")
    score(conn, model, HISTORY_START - dt.timedelta(days=1), full=True)
    say("generating and importing two synthetic years of records")
    loaded = load_history(conn, start_levels(conn), seed, frequency_months)
    say("the score history as of each month's end")
    backfill(conn, model, month_ends(HISTORY_START, HISTORY_END))
    return loaded
