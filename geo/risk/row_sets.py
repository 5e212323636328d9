"""Which rows two small frames do not share, without a merge: after one write an incremental run compares a row or
two at a time (scores before and after, exposed settlements stored and found), where a merge's fixed cost (about
10-20 ms) was most of the work."""

from __future__ import annotations

import pandas as pd

# Up to this many rows on both sides together, plain Python sets decide; above, the caller's merge.
FEW_ROWS = 64


def differences(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The rows of ``old`` missing from ``new`` and those of ``new`` missing from ``old`` (every column
    compared), each sorted by its columns in order, with fresh indexes: what an outer merge on every column with
    an indicator gives, for frames of the same columns.  None (the caller merges) above ``FEW_ROWS`` rows, when a
    row repeats, a value is missing or the two sides' columns differ in type, where set semantics and a merge's
    could part."""
    if len(old) + len(new) > FEW_ROWS or list(old.columns) != list(new.columns) or \
            not all(old[c].dtype == new[c].dtype for c in old.columns):
        return None
    a = list(zip(*(old[c].tolist() for c in old.columns), strict=True))
    b = list(zip(*(new[c].tolist() for c in new.columns), strict=True))
    sa, sb = set(a), set(b)
    if len(sa) < len(a) or len(sb) < len(b) or any(v is None or v != v for row in (*a, *b) for v in row):
        return None
    gone = sorted((i for i, row in enumerate(a) if row not in sb), key=lambda i: a[i])
    came = sorted((i for i, row in enumerate(b) if row not in sa), key=lambda i: b[i])
    return old.iloc[gone].reset_index(drop=True), new.iloc[came].reset_index(drop=True)
