"""Reading rule inputs from a feature frame, vectorised: columns that may be missing, numbers, nullable
booleans, enum spellings (those of geo/kinds.py) and ages of dates.  Shared by the rules of every class."""

from __future__ import annotations

import datetime as dt

import pandas as pd

TRUE_WORDS = {"true", "t", "yes", "y", "1", "是", "有"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "否", "无"}


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name``, or an all-missing one when the frame lacks it (= not recorded / not computed)."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype="object")


def numbers(frame: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column as float64 (missing and unreadable values become NaN)."""
    return pd.to_numeric(column(frame, name), errors="coerce").astype("float64")


def booleans(frame: pd.DataFrame, name: str) -> pd.Series:
    """A boolean column as pandas nullable 'boolean' (True/False/NA); text spellings are recognised."""
    s = column(frame, name)
    try:
        return s.astype("boolean")
    except (TypeError, ValueError):
        text = s.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[text.isin(TRUE_WORDS).fillna(False).to_numpy(bool)] = True
        out[text.isin(FALSE_WORDS).fillna(False).to_numpy(bool)] = False
        return out


def enum(frame: pd.DataFrame, name: str, canonical: dict[str, tuple[str, ...]]) -> pd.Series:
    """An enum column as canonical text (object), None where missing or not recognised."""
    spellings = {k.lower(): k for k in canonical}
    for k, alts in canonical.items():
        spellings.update({a.lower(): k for a in alts})
    text = column(frame, name).astype("string").str.strip().str.lower()
    return text.map(spellings).astype("object").where(lambda v: pd.notna(v), None)


def days_since(frame: pd.DataFrame, name: str, as_of: dt.date) -> pd.Series:
    """Days from the date in ``name`` to ``as_of`` (float; NaN where missing; dates after as_of count 0)."""
    dates = pd.to_datetime(column(frame, name), errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    days = (pd.Timestamp(as_of) - dates).dt.days.astype("float64")
    return days.clip(lower=0.0)


def age_points(days: pd.Series, p: dict) -> pd.Series:
    """Points for an inspection age: 0 up to grace_days, max_points from full_days, linear between; a missing
    date (never inspected, as far as the register shows) scores the maximum."""
    grace, full, top = float(p["grace_days"]), float(p["full_days"]), float(p["max_points"])
    share = ((days - grace) / max(full - grace, 1e-9)).clip(0.0, 1.0)
    return (share * top).fillna(top)
