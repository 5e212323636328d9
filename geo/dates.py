"""Dates of what has happened are never after today: the one check for every such date riskmap takes in.

A record says what has happened: an inspection made, a hidden danger found, rectified, verified or reopened, an
enforcement measure decided or lifted, an accident.  None of those dates can be later than the day it is
entered, and a later one is a typing slip (2027 for 2026) that would otherwise count as "not yet" in every list,
score and report until that day comes.  The same holds for a hidden danger's status change, for the month of a
monthly report and for the date a change in level is measured from.  A rectification deadline is the one date
of a record that lies ahead by nature (``MAY_BE_AHEAD``).

``today`` is always passed in (the callers take the clock's date once, at their edge), so that the rule is the
same in a test with a fixed date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from geo.errors import FieldError, ImportReport

MAY_BE_AHEAD = frozenset({"deadline"})  # the record dates that may lie after today


def ahead_message(day: dt.date | str, today: dt.date, what: str = "the date") -> str:
    day = day.isoformat() if isinstance(day, dt.date) else day
    return f"{what} {day} is after today ({today.isoformat()}): it must be a day that has already come"


def not_ahead(day: dt.date, field: str, today: dt.date, what: str = "the date") -> None:
    """FieldError naming ``field`` when ``day`` is after ``today``."""
    if day > today:
        raise FieldError(field, ahead_message(day, today, what))


def refuse_ahead(values: dict[str, pd.Series], date_fields: list[str], rows: np.ndarray, report: ImportReport,
                 today: dt.date) -> None:
    """The import's form of the rule: report (and null) each date of ``date_fields`` after ``today`` in the
    chunk's values (dates as 'YYYY-MM-DD' text, None where missing), naming the row and the field."""
    limit = today.isoformat()
    for name in date_fields:
        if name in MAY_BE_AHEAD or name not in values:
            continue
        text = values[name]
        ahead = (text.notna() & (text.astype(object).where(text.notna(), "") > limit)).to_numpy(dtype=bool)
        for i in np.flatnonzero(ahead):
            report.add(int(rows[i]), name, ahead_message(text.iloc[i], today))
        if ahead.any():
            values[name] = text.where(~ahead, None)
