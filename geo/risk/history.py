"""The history of scores (migration 0014): what each feature scored as of each run that changed it, and the
monthly series of an area read from it (issue 14 item 5).

A scoring run calls :func:`mark_before` before it writes (which features it may change, and their score now) and
:func:`append` after (the rows that changed, as of the run's date), in its own transaction: a run that fails
leaves no history.  Only changed rows are written, so a run that changes nothing costs one comparison.

The history is read as of a date: a feature's state on day D is its row with the latest ``as_of`` on or before D
(ties: the latest run); a row with no score means the feature was removed.  Runs are expected to move forward
in time (each scoring as of a date at or after the last one); a run as of an earlier date is recorded as of that
date all the same.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
from psycopg2 import sql

from geo.risk.store import execute, query_frame, sql_text

HISTORY_KINDS = ("enterprise", "tailings_pond", "pipeline", "venue")
LEVELS_WORST_FIRST = ("red", "orange", "yellow", "blue")
MAX_MONTHS = 240  # the longest monthly series served at once (20 years)


def mark_before(conn, ids: dict[str, list[int] | None]) -> None:
    """Before the run's writes: the features whose history it may change (``ids`` per class, None for all: a
    full run) and their stored score and level (temporary tables of the run's transaction)."""
    full = all(v is None for v in ids.values())
    kinds = [k for k in ("enterprise", "tailings_pond", "venue") for _ in (ids.get(k) or [])]
    flat = [int(i) for k in ("enterprise", "tailings_pond", "venue") for i in (ids.get(k) or [])]
    segments = [int(i) for i in ids.get("pipeline_segment") or []]
    execute(conn, sql_text("history_before"), {"full": full, "kinds": kinds, "ids": flat, "segments": segments})


def append(conn, run: int, as_of: dt.date, full: bool) -> int:
    """After the run's writes (and its score_run row ``run``): append the changed rows; returns how many."""
    with conn.cursor() as cur:
        cur.execute(sql_text("history_append"), {"run": run, "as_of": as_of, "full": full})
        return cur.rowcount


def feature_history(conn, kind: str, feature_id: int) -> pd.DataFrame:
    """One feature's history, oldest first: run, as_of, scored_at, score, level (score and level empty: the
    feature was removed by that run)."""
    return query_frame(conn, sql_text("feature_history"), {"kind": kind, "id": feature_id},
                       column_types={"run": pa.int64(), "as_of": pa.string(), "scored_at": pa.string(),
                                     "score": pa.float64(), "level": pa.string()})


def history_extent(conn) -> tuple[dt.date, dt.date] | None:
    """The first and last dates the history has scores as of (None: no history yet)."""
    with conn.cursor() as cur:
        cur.execute("SELECT min(as_of), max(as_of) FROM score_history")
        first, last = cur.fetchone()
    return None if first is None else (first, last)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    k = month.year * 12 + month.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> int:
    """How many months from the month of ``first`` to that of ``last``, both counted."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def area_series(conn, admin_code: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    """The monthly series of one admin area: for each month from ``first`` to ``last`` (first days of months),
    the features inside at the month's end with a score then (by their history; a feature counts where the
    areas counted it then), how many there were at each level, and their mean score.  Columns: month (text
    YYYY-MM), features, red, orange, yellow, blue, mean_score (empty when no feature)."""
    return query_frame(conn, sql_text("area_series"), {"code": admin_code, "first": first, "last": last},
                       column_types={"month": pa.string(), "features": pa.int64(), "red": pa.int64(),
                                     "orange": pa.int64(), "yellow": pa.int64(), "blue": pa.int64(),
                                     "mean_score": pa.float64()})


def feature_exists(conn, kind: str, feature_id: int) -> bool:
    """Whether ``kind`` (one of HISTORY_KINDS) has a feature with this id."""
    if kind not in HISTORY_KINDS:
        raise ValueError(f"no history is kept for {kind!r}")
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE id = %s)").format(sql.Identifier(kind)),
                    (feature_id,))
        return bool(cur.fetchone()[0])


def admin_area_name(conn, admin_code: str) -> str | None:
    """The name of the admin area with this code (None: there is none)."""
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM area WHERE admin_code = %s", (admin_code,))
        row = cur.fetchone()
    return None if row is None else row[0]
