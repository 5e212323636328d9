"""The records a scoring run reads (set-based SQL, ``geo/risk/sql/record_*.sql``): which sites' records changed
since the last run, and what the records say about each site as of the scoring date (issue 14 item 5).

The rules read the summaries as columns of their frame (``geo/risk/records.py``); nothing here scores.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa

from geo.risk.store import query_frame, sql_text

# The classes whose rules read records.  Pipelines have records too (site_kind 'pipeline'), but a pipeline is
# scored per segment from its line and surroundings; its records do not reach the segments' scores (yet).
RECORD_KINDS = ("enterprise", "tailings_pond", "venue")
SUMMARY_TYPES = {"record_last_inspection": pa.string(), "record_open_major": pa.bool_(),
                 "feature_id": pa.int64()}


def window_days(model: dict) -> int:
    return int(model["records"]["violation_window_days"])


def changed_sites(conn, previous_as_of: dt.date | None, as_of: dt.date, window: int) -> dict[str, list[int]]:
    """The sites to re-score for their records, per class: those whose records changed since the last run (the
    run's ``riskmap_run_records``, taken by take_changes.sql), and, when the scoring date moved, those with a
    record date between the two dates (``record_date_events.sql``: a deadline passed, an enforcement action left
    the window...)."""
    frames = [query_frame(conn, "SELECT kind, feature_id FROM riskmap_run_records",
                          column_types={"kind": pa.string(), "feature_id": pa.int64()})]
    if previous_as_of is not None and previous_as_of != as_of:
        low, high = sorted((previous_as_of, as_of))
        frames.append(query_frame(conn, sql_text("record_date_events"),
                                  {"low": low, "high": high, "window_days": window},
                                  column_types={"kind": pa.string(), "feature_id": pa.int64()}))
    both = pd.concat(frames, ignore_index=True)
    return {kind: sorted({int(i) for i in both.loc[both["kind"] == kind, "feature_id"]}) for kind in RECORD_KINDS}


def record_summary(conn, kind: str, ids: list[int] | None, as_of: dt.date, window: int) -> pd.DataFrame:
    """One row per site of ``kind`` (those ``ids``; all: None) that has records as of ``as_of``: the columns
    the rules read (geo/risk/records.py), keyed by ``feature_id``."""
    return query_frame(conn, sql_text("record_summary"),
                       {"kind": kind, "ids": ids, "as_of": as_of, "window_days": window},
                       column_types=SUMMARY_TYPES)


def with_records(frame: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """The rule frame with the record columns joined by ``feature_id`` (rows and their order kept); ``records``
    says which sites have any."""
    joined = frame.merge(summary.assign(records=True), on="feature_id", how="left", validate="one_to_one")
    joined["records"] = joined["records"].fillna(False).astype(bool)
    joined.index = frame.index
    return joined
