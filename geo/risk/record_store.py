"""The records a scoring run reads (set-based SQL, ``geo/risk/sql/record_*.sql``): which sites' records changed
since the last run, and what the records say about each site as of the scoring date (issue 14 item 5).

The rules read the summaries as columns of their frame (``geo/risk/records.py``); nothing here scores.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa

from geo.risk.store import query_frame, sql_text

# The classes whose records reach the scores (a record's site_kind).
RECORD_KINDS = ("enterprise", "tailings_pond", "venue", "pipeline")
# Per scored class, the class of the sites whose records it reads and the column of its frame naming the site: a
# pipeline's records apply to every segment of it (they carry no location: docs/risk-model.md, "Pipelines").
RULE_SITES = {"enterprise": ("enterprise", "feature_id"), "tailings_pond": ("tailings_pond", "feature_id"),
              "venue": ("venue", "feature_id"), "pipeline_segment": ("pipeline", "pipeline_id")}
SUMMARY_TYPES = {"record_last_inspection": pa.string(), "record_open_major": pa.bool_(),
                 "record_measure_in_force": pa.string(), "feature_id": pa.int64()}


def window_days(model: dict) -> int:
    return int(model["records"]["violation_window_days"])


def patrol_days(model: dict) -> list[int]:
    """The ages of a pipeline's last inspection (days) after which its patrol points change ([pipeline.patrol])."""
    return [int(d) for d in model["pipeline"]["patrol"]["within_days"]]


def changed_sites(conn, previous_as_of: dt.date | None, as_of: dt.date, window: int,
                  patrol: list[int] | None = None) -> dict[str, list[int]]:
    """The sites to re-score for their records, per class: those whose records changed since the last run (the
    run's ``riskmap_run_records``, taken by take_changes.sql), and, when the scoring date moved, those with a
    record date between the two dates (``record_date_events.sql``: a deadline passed, an enforcement action left
    the window or was lifted, a pipeline's last inspection moved to another patrol band (ages ``patrol``)...)."""
    frames = [query_frame(conn, "SELECT kind, feature_id FROM riskmap_run_records",
                          column_types={"kind": pa.string(), "feature_id": pa.int64()})]
    if previous_as_of is not None and previous_as_of != as_of:
        low, high = sorted((previous_as_of, as_of))
        frames.append(query_frame(conn, sql_text("record_date_events"),
                                  {"low": low, "high": high, "window_days": window,
                                   "patrol_days": list(patrol or [])},
                                  column_types={"kind": pa.string(), "feature_id": pa.int64()}))
    both = pd.concat(frames, ignore_index=True)
    return {kind: sorted({int(i) for i in both.loc[both["kind"] == kind, "feature_id"]}) for kind in RECORD_KINDS}


def record_summary(conn, kind: str, ids: list[int] | None, as_of: dt.date, window: int) -> pd.DataFrame:
    """One row per site of ``kind`` (those ``ids``; all: None) that has records as of ``as_of``: the columns
    the rules read (geo/risk/records.py), keyed by ``feature_id``."""
    return query_frame(conn, sql_text("record_summary"),
                       {"kind": kind, "ids": ids, "as_of": as_of, "window_days": window},
                       column_types=SUMMARY_TYPES)


def with_records(frame: pd.DataFrame, summary: pd.DataFrame, key: str = "feature_id") -> pd.DataFrame:
    """The rule frame with the record columns joined by the site its column ``key`` names (rows and their order
    kept; a pipeline's summary joins each of its segments by ``pipeline_id``); ``records`` says which sites have
    any."""
    summary = summary.assign(records=True)
    if key != "feature_id":
        summary = summary.rename(columns={"feature_id": key})
    joined = frame.merge(summary, on=key, how="left", validate="many_to_one")
    joined["records"] = joined["records"].fillna(False).astype(bool)
    joined.index = frame.index
    return joined


def rule_frame_with_records(conn, kind: str, frame: pd.DataFrame, every_site: bool, as_of: dt.date,
                            window: int) -> pd.DataFrame:
    """The rule frame of the scored class ``kind`` (a class of ``RULE_SITES``) with what the records of its
    sites say as of ``as_of``: those of every site with ``every_site``, else of the sites the frame names."""
    site_kind, key = RULE_SITES[kind]
    sites = None if every_site else sorted({int(i) for i in frame[key]})
    return with_records(frame, record_summary(conn, site_kind, sites, as_of, window), key)
