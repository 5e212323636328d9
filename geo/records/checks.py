"""Checks across the fields of imported records (pure, vectorised over a chunk; see RecordKind.check_rows).

Each function takes the chunk's converted values (attribute name → Series; dates as 'YYYY-MM-DD' text, None where
missing or already reported bad), reports every bad row in the ImportReport naming the field and the values,
nulls the bad values, and fills in what is derived (an accident's class, defaults for blank cells of columns
that have one).  Only bad rows are visited one by one, to word their errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.errors import ImportReport
from geo.records import accident_class as classes

# How the messages name a date field.
DATE_WORDS = {"found_on": "the date it was found", "rectified_on": "the rectification date",
              "decided_on": "the decision date", "inspected_on": "the inspection date"}


def _dates(values: dict[str, pd.Series], name: str) -> pd.Series | None:
    return pd.to_datetime(values[name]) if name in values else None


def not_before(values: dict[str, pd.Series], later: str, earlier: str, rows: np.ndarray,
               report: ImportReport) -> None:
    """Report (and null) each ``later`` date that falls before the row's ``earlier`` date."""
    a, b = _dates(values, later), _dates(values, earlier)
    if a is None or b is None:
        return
    bad = (a < b).to_numpy()  # a missing date compares False
    for i in np.flatnonzero(bad):
        report.add(int(rows[i]), later, f"{later} {a.iloc[i].date()} is before "
                                        f"{DATE_WORDS.get(earlier, earlier)} ({earlier} {b.iloc[i].date()})")
    if bad.any():
        values[later] = values[later].where(~bad, None)


def _fill(values: dict[str, pd.Series], name: str, default) -> None:
    """Blank cells of a column that has a default take it (a blank means "not recorded")."""
    if name in values:
        values[name] = values[name].where(values[name].notna(), default)


def inspection(values: dict[str, pd.Series], rows: np.ndarray, report: ImportReport) -> dict[str, pd.Series]:
    _fill(values, "inspection_type", "routine")
    return values


def hidden_danger(values: dict[str, pd.Series], rows: np.ndarray, report: ImportReport) -> dict[str, pd.Series]:
    """Deadline, rectification, reopening and the last change not before the danger was found; verification
    not before the rectification.  (The status and its dates against the stored danger: geo/records/references.)"""
    for later in ("deadline", "rectified_on", "reopened_on", "status_changed_on"):
        not_before(values, later, "found_on", rows, report)
    not_before(values, "verified_on", "rectified_on", rows, report)
    return values


def enforcement_action(values: dict[str, pd.Series], rows: np.ndarray,
                       report: ImportReport) -> dict[str, pd.Series]:
    """Lifted not before decided; a fine with its amount."""
    not_before(values, "lifted_on", "decided_on", rows, report)
    measure = values["measure"]
    amount = values.get("fine_yuan", pd.Series(np.nan, index=measure.index))
    no_amount = (measure.eq("fine") & amount.isna()).to_numpy()
    for i in np.flatnonzero(no_amount):
        report.add(int(rows[i]), "fine_yuan", "a fine needs its amount in yuan (fine_yuan, 罚款金额)")
    return values


def accident(values: dict[str, pd.Series], rows: np.ndarray, report: ImportReport) -> dict[str, pd.Series]:
    """Blank deaths and serious injuries count as none; the class is derived from the numbers (State Council
    Decree No. 493, geo/records/accident_class.py) when not given, and a given class the numbers contradict is a
    bad row naming both.  A given class above the numbers' stands when the loss is not known (the loss may
    reach it); below them it never does."""
    n = len(next(iter(values.values())))
    index = pd.RangeIndex(n)
    for name in ("deaths", "serious_injuries"):
        _fill(values, name, 0)
    deaths = values.get("deaths", pd.Series(0, index=index)).astype("float64").to_numpy()
    injured = values.get("serious_injuries", pd.Series(0, index=index)).astype("float64").to_numpy()
    loss = values.get("direct_loss_10k_yuan", pd.Series(np.nan, index=index)).astype("float64").to_numpy()
    derived = classes.class_ranks(deaths, injured, loss)
    given = values.get("accident_class", pd.Series(None, index=index, dtype=object))
    given_rank = given.map({c: k for k, c in enumerate(classes.CLASSES)}).to_numpy(dtype="float64", na_value=np.nan)
    has = ~np.isnan(given_rank)
    below = has & (given_rank < derived)
    above = has & (given_rank > derived) & ~np.isnan(loss)
    names = np.asarray(classes.CLASSES, dtype=object)
    for i in np.flatnonzero(below | above):
        numbers = (f"deaths {int(deaths[i])}, seriously injured {int(injured[i])}"
                   + (f", direct loss {loss[i]:g} × 10,000 yuan" if not np.isnan(loss[i]) else ""))
        report.add(int(rows[i]), "accident_class",
                   f"the class {classes.describe(given.iloc[i])} contradicts the numbers ({numbers}), which make "
                   f"a {classes.describe(names[derived[i]])} accident (State Council Decree No. 493)")
    out = np.where(has, given.to_numpy(dtype=object), names[derived])
    out[below | above] = None
    values["accident_class"] = pd.Series(out, index=index, dtype=object)
    return values
