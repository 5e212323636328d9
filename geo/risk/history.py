"""The history of scores (migration 0014): what each feature scored as of each run that changed it, and the
monthly series of an area read from it (issue 14 item 5).

A scoring run keeps a :class:`RunRecorder`: before it writes, the recorder reads which features the run may change
and their score now; it keeps the rows the run writes; after them it appends the rows that changed, as of the
run's date, in the run's transaction: a run that fails leaves no history.  Only changed rows are written, so a
run that changes nothing costs one read and one comparison in memory.

The history is read as of a date: a feature's state on day D is its row with the latest ``as_of`` on or before D
(ties: the latest run); a row with no score means the feature was removed.  Runs are expected to move forward
in time (each scoring as of a date at or after the last one); a run as of an earlier date is recorded as of that
date all the same.
"""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd
import pyarrow as pa
from psycopg2 import sql

from geo.risk.store import copy_rows, query_frame, sql_text

HISTORY_KINDS = ("enterprise", "tailings_pond", "pipeline", "venue")
LEVELS_WORST_FIRST = ("red", "orange", "yellow", "blue")
MAX_MONTHS = 240  # the longest monthly series served at once (20 years)


WRITTEN_COLUMNS = ["kind", "feature_id", "score", "level", "lon", "lat"]
# Up to this many rows before and after, the changed rows are found without a merge (``_changed_few``).
FEW_ROWS = 64


class RunRecorder:
    """One scoring run's part of the history: the scores before its writes (:meth:`read_before`, queued on the
    run's connection before any write), the rows it writes (:meth:`note_written`, kept as they are: no copy, no
    round trip), and at the end the rows that changed, appended with one COPY (:meth:`append`).  ``seconds`` is
    what it cost (bench/score: docs/benchmarks.md)."""

    def __init__(self) -> None:
        self.ids: dict[str, list[int] | None] | None = None
        self.before: pd.DataFrame | None = None
        self.written: list[pa.Table] = []
        self.seconds = 0.0

    def read_before(self, conn, ids: dict[str, list[int] | None]) -> None:
        """The stored score and level of what the run may change: everything but the pipeline segments on a full
        run (``ids`` all None); on an incremental one the features ``ids`` re-scores, the pipelines of its segments
        and the features deleted since the last run."""
        t0 = time.perf_counter()
        self.ids = ids
        self.before = query_frame(conn, sql_text("history_before"), self._params(ids),
                                  column_types={"kind": pa.string(), "feature_id": pa.int64(), "score": pa.float64(),
                                                "level": pa.string()})
        self.seconds += time.perf_counter() - t0

    def note_written(self, table: pa.Table) -> None:
        """The rows the run has written of a class (feature_risk's columns; the rows of one class at a time)."""
        self.written.append(table.select(WRITTEN_COLUMNS))

    def append(self, conn, run: int, finished_at: dt.datetime, as_of: dt.date) -> int:
        """Append the rows that changed as of ``as_of`` for the run ``run`` (in its transaction); returns how
        many.  The pipelines' rows, written by SQL, are read back (a few hundred)."""
        t0 = time.perf_counter()
        pipelines = query_frame(conn, sql_text("history_pipelines"), self._params(self.ids or {}),
                                column_types={"kind": pa.string(), "feature_id": pa.int64(), "score": pa.float64(),
                                              "level": pa.string(), "lon": pa.float64(), "lat": pa.float64()})
        now = pd.concat([t.to_pandas() for t in self.written] + [pipelines], ignore_index=True)
        rows = changed_rows(self.before, now)
        if len(rows):
            rows.insert(0, "run", run)
            rows.insert(3, "as_of", as_of.isoformat())
            rows.insert(4, "scored_at", finished_at.isoformat())
            with conn.cursor() as cur:
                copy_rows(cur, "score_history", ["run", "kind", "feature_id", "as_of", "scored_at", "score", "level",
                                                 "lon", "lat"], pa.Table.from_pandas(rows, preserve_index=False))
        self.seconds += time.perf_counter() - t0
        return len(rows)

    @staticmethod
    def _params(ids: dict) -> dict:
        full = all(v is None for v in ids.values())
        kinds = [k for k in ("enterprise", "tailings_pond", "venue") for _ in (ids.get(k) or [])]
        flat = [int(i) for k in ("enterprise", "tailings_pond", "venue") for i in (ids.get(k) or [])]
        return {"full": full, "kinds": kinds, "ids": flat,
                "segments": [int(i) for i in ids.get("pipeline_segment") or []]}


def changed_rows(before: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """The history rows of a run: the features of ``now`` (kind, feature_id, score, level, lon, lat) that are
    new or whose score (by more than 1e-9) or level differ from ``before`` (kind, feature_id, score, level), and
    the features of ``before`` missing from ``now`` (removed: score, level and point empty)."""
    if before.empty or now.empty:  # (an empty side may come with untyped columns, which a merge cannot key on)
        out = now[WRITTEN_COLUMNS].copy() if before.empty else pd.DataFrame(
            {"kind": before["kind"].astype(object), "feature_id": before["feature_id"].astype("int64"),
             **{c: None for c in WRITTEN_COLUMNS[2:]}}, columns=WRITTEN_COLUMNS)
        return out.sort_values(["kind", "feature_id"], kind="stable").reset_index(drop=True)
    if len(before) + len(now) <= FEW_ROWS:
        few = _changed_few(before, now)
        if few is not None:
            return few
    merged = before[["kind", "feature_id", "score", "level"]].merge(
        now[WRITTEN_COLUMNS], on=["kind", "feature_id"], how="outer", suffixes=("_before", ""), indicator=True)
    both = merged["_merge"] == "both"
    differs = ((merged["score"] - merged["score_before"]).abs() > 1e-9) | (merged["level"] != merged["level_before"])
    keep = (merged["_merge"] != "both") | (both & differs)
    out = merged.loc[keep, WRITTEN_COLUMNS].sort_values(["kind", "feature_id"], kind="stable")
    return out.reset_index(drop=True)


def _changed_few(before: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame | None:
    """``changed_rows`` for a few rows without a merge (its fixed cost is most of a run after one write): the rows
    of ``now`` that are new or changed, sorted as the merge sorts them.  None (the merge decides) when a feature
    of ``before`` is missing from ``now`` (its row is made of empty values, which the merge types), a feature
    repeats, a score or level is missing, or the key columns differ in type."""
    if any(before[c].dtype != now[c].dtype for c in ("kind", "feature_id")):
        return None
    was = {}
    for kind, fid, score, level in zip(before["kind"].tolist(), before["feature_id"].tolist(),
                                       before["score"].tolist(), before["level"].tolist(), strict=True):
        if (kind, fid) in was or score is None or score != score or level is None or level != level:
            return None
        was[(kind, fid)] = (score, level)
    keys = list(zip(now["kind"].tolist(), now["feature_id"].tolist(), strict=True))
    if len(set(keys)) < len(keys) or not was.keys() <= set(keys):
        return None
    keep = []
    for i, (key, score, level) in enumerate(zip(keys, now["score"].tolist(), now["level"].tolist(), strict=True)):
        if score is None or score != score or level is None or level != level:
            return None
        old = was.get(key)
        if old is None or abs(score - old[0]) > 1e-9 or level != old[1]:
            keep.append(i)
    keep.sort(key=lambda i: keys[i])
    return now.iloc[keep][WRITTEN_COLUMNS].reset_index(drop=True)


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
