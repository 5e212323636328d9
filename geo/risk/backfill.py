"""The score history of past dates: what the sites would have scored as of each of a series of dates, from the
records as they stood on each (issue 14 items 5 and 7).  For records imported after the fact, such as a bureau's
archive of past years or the demo's two synthetic years, so that the score history, the monthly series of the
areas and the backtest reach back over them.

``backfill(conn, model, dates)``: for each date in order, the enterprises, tailings ponds, venues and pipeline
segments are scored as of that date (each pipeline taking its worst segment's score and level, as a run rolls it
up), with exactly the rules, contexts and record summaries a scoring run uses (geo/risk/scoring.py),
and the features whose score or level differ from the date before (from the stored scores for the first date)
are appended to the score history, as of that date, under a run of their own; then one full scoring run as of the
last date stores the scores themselves, the areas and the exposure surface, all in one transaction.  The spatial
context does not change from date to date (the features are those stored now), so it is computed once: a date
costs its record summaries and the rules, a small share of a full run.

The dates must move forward from the last run's date, as runs do (geo/risk/history.py).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from geo.errors import InvalidSetting
from geo.risk import history
from geo.risk.context import Neighbours, context_frame
from geo.risk.framework import final_level
from geo.risk.pipeline_summary import summarise_pipelines
from geo.risk.record_store import rule_frame_with_records, window_days
from geo.risk.scoring import ScoreSummary, _max_impact, _params, _rules, score
from geo.risk.store import query_frame, sql_text
from geo.risk.worker import DatabaseWorker

# (enterprises first: the venues' context reads their results; a pipeline is scored by its segments)
KINDS = ("enterprise", "tailings_pond", "venue", "pipeline")
RULE_KIND = {"pipeline": "pipeline_segment"}


@dataclass
class BackfillSummary:
    dates: int = 0
    rows: int = 0  # history rows appended for the dates (the last date's run adds its own)
    per_date: list[tuple[str, int]] = field(default_factory=list)
    seconds: float = 0.0
    run: ScoreSummary | None = None  # the full run as of the last date


def backfill(conn, model: dict, dates: Sequence[dt.date],
             progress: Callable[[dt.date, int, int], None] | None = None) -> BackfillSummary:
    """Append to the score history the scores of the enterprises, ponds, venues and pipelines as of each of ``dates``
    (ascending, none before the last run's date), then score everything in full as of the last one; one
    transaction (module docstring).  ``progress(date, done, total)`` after each date."""
    dates = list(dates)
    if not dates:
        raise InvalidSetting("backfill: no dates given")
    if any(b <= a for a, b in zip(dates, dates[1:], strict=False)):
        raise InvalidSetting("backfill: the dates must be given in ascending order, each once")
    t0 = time.perf_counter()
    autocommit = conn.autocommit
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("LOCK TABLE feature_risk IN EXCLUSIVE MODE")  # one scorer at a time
            cur.execute("SELECT as_of FROM score_run WHERE as_of IS NOT NULL ORDER BY id DESC LIMIT 1")
            last = cur.fetchone()
        if last is not None and dates[0] < last[0]:
            raise InvalidSetting(f"backfill: the first date {dates[0]} is before the last scoring run's "
                                 f"({last[0]}); runs move forward in time")
        summary = BackfillSummary(dates=len(dates))
        _append_dates(conn, model, dates, summary, progress)
        summary.run = score(conn, model, dates[-1], full=True)  # commits the dates' rows with its own
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = autocommit
    summary.seconds = time.perf_counter() - t0
    return summary


def _append_dates(conn, model: dict, dates: list[dt.date], summary: BackfillSummary, progress) -> None:
    rules, version, window = _rules(), model["version"], window_days(model)
    worker = DatabaseWorker(conn, background=False)
    nb = Neighbours(conn, model, worker)
    try:
        previous = query_frame(conn, "SELECT kind, feature_id, score, level FROM feature_risk "
                                     "WHERE kind = ANY(%(kinds)s)", {"kinds": list(KINDS)},
                               column_types={"kind": pa.string(), "feature_id": pa.int64(), "score": pa.float64(),
                                             "level": pa.string()})
        frames: dict[str, pd.DataFrame] = {}
        lines = query_frame(conn, sql_text("pipeline_points"))
        for n, day in enumerate(dates, start=1):
            now = []
            for kind in KINDS:
                rule_kind = RULE_KIND.get(kind, kind)
                if kind not in frames:  # the context, once (the venues' after the enterprises' first results)
                    frame = context_frame(nb, rule_kind, None, _max_impact(conn) if kind == "venue" else 0.0)
                    frame.index = pd.RangeIndex(len(frame))
                    frames[kind] = frame
                frame = rule_frame_with_records(conn, rule_kind, frames[kind], True, day, window)
                if frame.empty:
                    continue
                result = rules[rule_kind](frame, _params(model, rule_kind), day)
                if kind == "enterprise" and nb.major_hazard is None:
                    nb.major_hazard = pd.Series(
                        result.extra["major_hazard"].astype("boolean").fillna(False).to_numpy(bool),
                        index=frame["feature_id"].to_numpy())
                level = final_level(result.score, result.direct_red, model["levels"])
                if kind == "pipeline":
                    now.append(_worst_segments(frame, result, level, lines))
                    continue
                now.append(pd.DataFrame({  # the columns of feature_risk the history keeps (store.results_table)
                    "kind": kind, "feature_id": frame["feature_id"].to_numpy(dtype="int64"),
                    "score": np.clip(result.score.to_numpy(dtype="float64"), 0, 100),
                    "level": np.asarray(level).astype(str), "lon": frame["lon"].to_numpy(dtype="float64"),
                    "lat": frame["lat"].to_numpy(dtype="float64")}))
            current = pd.concat(now, ignore_index=True)
            rows = history.changed_rows(previous, current)
            summary.rows += _append(conn, rows, day, version, {k: int((current["kind"] == k).sum()) for k in KINDS})
            summary.per_date.append((day.isoformat(), len(rows)))
            previous = current[["kind", "feature_id", "score", "level"]]
            if progress:
                progress(day, n, len(dates))
    finally:
        nb.close()
        worker.close()


def _worst_segments(frame: pd.DataFrame, result, level, lines: pd.DataFrame) -> pd.DataFrame:
    """The pipelines' rows of the history from their scored segments: each line's worst segment's score and level
    (geo/risk/pipeline_summary.py chooses it, as for a run's roll-up), at the point on the line (``lines``)."""
    segments = pd.DataFrame({
        "pipeline_id": frame["pipeline_id"].to_numpy(dtype="int64"), "seq": frame["seq"].to_numpy(dtype="int64"),
        "length_m": frame["segment_length_m"].to_numpy(dtype="float64"),
        "score": np.clip(result.score.to_numpy(dtype="float64"), 0, 100), "level": np.asarray(level).astype(str),
        "hca_grade": result.extra["hca_grade"].to_numpy(), "hca_conditions": None, "hca_assumed": False})
    worst = summarise_pipelines(segments)["worst_seq"].rename("seq").reset_index()
    rows = segments.merge(worst, on=["pipeline_id", "seq"]).rename(columns={"pipeline_id": "feature_id"})
    rows = rows.merge(lines, on="feature_id", how="left")
    return rows.assign(kind="pipeline")[["kind", "feature_id", "score", "level", "lon", "lat"]]


def _append(conn, rows: pd.DataFrame, day: dt.date, version: str, scored: dict[str, int]) -> int:
    """One run row for the date (marked by ``scored``: the classes scored for the history) and its history rows."""
    with conn.cursor() as cur:
        cur.execute("INSERT INTO score_run (full_run, changes, scored, areas, seconds, model_version, as_of) "
                    "VALUES (false, 0, %s, 0, 0, %s, %s) RETURNING id, finished_at",
                    (json.dumps(scored), version, day))
        run, finished_at = cur.fetchone()
        if len(rows):
            values = [(run, r.kind, int(r.feature_id), day, finished_at,
                       None if pd.isna(r.score) else float(r.score), None if pd.isna(r.level) else r.level,
                       None if pd.isna(r.lon) else float(r.lon), None if pd.isna(r.lat) else float(r.lat))
                      for r in rows.itertuples(index=False)]
            from psycopg2.extras import execute_values

            execute_values(cur, "INSERT INTO score_history (run, kind, feature_id, as_of, scored_at, score, level, "
                                "lon, lat) VALUES %s", values, page_size=5000)
    return len(rows)

