"""The attribute checks of an imported chunk (part of validating an import, see geo/validate.py): numbers and
their ranges, enum values (Chinese words too), booleans, dates, chemical inventories and text, each column
converted at once and each bad value recorded in the ImportReport."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd

from geo.errors import ImportReport
from geo.kinds import Attribute

TRUE_WORDS = {"true", "t", "yes", "y", "1", "是", "有", "真"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "否", "无", "假"}
# GB 18218-2018 Table 2 hazard categories (domain.md §1)
HAZARD_CATEGORIES = {"J1", "J2", "J3", "J4", "J5", "W1.1", "W1.2", "W1.3", "W2", "W3", "W4", "W5.1", "W5.2",
                     "W5.3", "W5.4", "W6.1", "W6.2", "W7.1", "W7.2", "W8", "W9.1", "W9.2", "W10", "W11"}
MAX_TEXT = 1000  # longest id, name or text attribute accepted


def _blank(s: pd.Series) -> np.ndarray:
    """Missing values: nulls, NaN and blank strings."""
    b = np.array(s.isna().to_numpy(), dtype=bool)
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        b |= s.astype("string").str.strip().fillna("").eq("").to_numpy()
    return b


def _number(s: pd.Series, attr: Attribute, rows: np.ndarray, report: ImportReport) -> pd.Series:
    blank = _blank(s)
    if pd.api.types.is_bool_dtype(s):
        s = s.astype("float64")
    num = pd.to_numeric(s.where(~blank), errors="coerce").astype("float64")
    values = num.to_numpy()
    bad = np.isnan(values) & ~blank
    for i in np.flatnonzero(bad):
        report.add(int(rows[i]), attr.name, f"{s.iloc[i]!r} is not a number")
    bad |= np.isinf(values)
    for i in np.flatnonzero(np.isinf(values)):
        report.add(int(rows[i]), attr.name, "value is infinite")
    if attr.type == "integer":
        frac = ~np.isnan(values) & ~np.isinf(values) & (np.mod(values, 1) != 0)
        for i in np.flatnonzero(frac):
            report.add(int(rows[i]), attr.name, f"{values[i]:g} is not a whole number")
        bad |= frac
    finite = np.isfinite(values)
    lo = finite & (values < attr.minimum) if attr.minimum is not None else np.zeros(len(values), bool)
    hi = finite & (values > attr.maximum) if attr.maximum is not None else np.zeros(len(values), bool)
    for i in np.flatnonzero(lo | hi):
        word = "negative" if values[i] < 0 <= (attr.minimum or 0) and attr.minimum == 0 else "out of range"
        report.add(int(rows[i]), attr.name,
                   f"{_fmt(values[i])} is {word}: {attr.name} must be between {_fmt(attr.minimum)} and "
                   f"{_fmt(attr.maximum)}")
    bad |= lo | hi
    values = values.copy()
    values[bad] = np.nan
    if attr.type == "integer":
        return pd.Series(values).astype("Int64")
    return pd.Series(values)


def _fmt(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:g}"


def _enum_lookup(attr: Attribute) -> dict[str, str]:
    table = {}
    for canonical, spellings in attr.values.items():
        table[canonical.lower()] = canonical
        for sp in spellings:
            table[sp.lower()] = canonical
    return table


def _enum(s: pd.Series, attr: Attribute, rows: np.ndarray, report: ImportReport) -> pd.Series:
    blank = _blank(s)
    key = s.astype("string").str.strip().str.lower()
    out = key.map(_enum_lookup(attr))
    bad = out.isna().to_numpy() & ~blank
    for i in np.flatnonzero(bad):
        report.add(int(rows[i]), attr.name,
                   f"unknown value {s.iloc[i]!r}; allowed: {', '.join(attr.values)} (or their Chinese names)")
    return out.astype(object).where(~(bad | blank), None)


def _boolean(s: pd.Series, attr: Attribute, rows: np.ndarray, report: ImportReport) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.astype(object).where(s.notna(), None)
    blank = _blank(s)
    key = s.astype("string").str.strip().str.lower()
    key = key.str.replace(r"\.0$", "", regex=True)
    out = pd.Series(np.where(key.isin(TRUE_WORDS), True, np.where(key.isin(FALSE_WORDS), False, None)),
                    index=s.index, dtype=object)
    bad = out.isna().to_numpy() & ~blank
    for i in np.flatnonzero(bad):
        report.add(int(rows[i]), attr.name, f"{s.iloc[i]!r} is not a yes/no value (true/false, 1/0, 是/否)")
    return out.where(~(bad | blank), None)


_DATE_SPELLINGS = r"^(\d{4})(?:/|\.|年)(\d{1,2})(?:/|\.|月)(\d{1,2})日?(?=$|[ T])"


def _date(s: pd.Series, attr: Attribute, rows: np.ndarray, report: ImportReport) -> pd.Series:
    blank = _blank(s)
    if pd.api.types.is_datetime64_any_dtype(s):
        d = s
    else:
        text = s.astype("string").str.strip().where(~blank)
        d = pd.to_datetime(text, errors="coerce", format="ISO8601")
        # beside YYYY-MM-DD, the spellings of spreadsheets and Chinese registers: 2026/3/10 (how GDAL writes a
        # date cell of a spreadsheet column that also holds text), 2026.3.10, 2026年3月10日; rewritten only
        # where ISO 8601 failed (a regular expression over every value would cost 3 s per million rows)
        other = d.isna().to_numpy() & ~blank
        if other.any():
            respelt = text[other].str.replace(_DATE_SPELLINGS, r"\1-\2-\3", regex=True)
            d = pd.Series(d)
            d[other] = pd.to_datetime(respelt, errors="coerce", format="ISO8601")
    d = pd.Series(d)
    bad = d.isna().to_numpy() & ~blank
    for i in np.flatnonzero(bad):
        report.add(int(rows[i]), attr.name, f"{s.iloc[i]!r} is not a date (use YYYY-MM-DD)")
    years = d.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    odd = (years < 1900) | (years > 2100)
    for i in np.flatnonzero(odd):
        report.add(int(rows[i]), attr.name, f"date {d.iloc[i].date()} is implausible")
    d = d.where(~odd)
    return d.dt.strftime("%Y-%m-%d").astype(object).where(d.notna(), None)


_PAIR = re.compile(r"^\s*([^:：]+?)\s*[:：]\s*([^:：]+?)\s*$")


def parse_chemicals(value) -> list[dict]:
    """A chemical inventory from JSON (list of objects) or 'name:tonnes;name:tonnes'; ValueError if malformed."""
    if isinstance(value, list):
        items = value
    else:
        text = str(value).strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f"broken JSON ({e.msg} at character {e.pos})") from None
            if not isinstance(items, list):
                raise ValueError("JSON must be a list of {chemical, quantity_t} objects")
        else:
            items = []
            for part in re.split(r"[;；]", text):
                if not part.strip():
                    continue
                m = _PAIR.match(part)
                if not m:
                    raise ValueError(f"{part.strip()!r} is not 'name:tonnes'")
                items.append({"chemical": m.group(1), "quantity_t": m.group(2)})
    out = []
    for k, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ValueError(f"entry {k} is not an object")
        chem = item.get("chemical") or item.get("name")
        if not isinstance(chem, str) or not chem.strip():
            raise ValueError(f"entry {k} has no chemical name")
        try:
            q = float(item.get("quantity_t", item.get("quantity")))
        except (TypeError, ValueError):
            raise ValueError(f"entry {k} ({chem}): quantity {item.get('quantity_t')!r} is not a number") from None
        if not math.isfinite(q) or q < 0:
            raise ValueError(f"entry {k} ({chem}): quantity {q:g} t must be zero or positive")
        entry = {"chemical": chem.strip(), "quantity_t": q}
        cat = item.get("hazard_category")
        if cat is not None:
            if str(cat).upper() not in HAZARD_CATEGORIES:
                raise ValueError(f"entry {k} ({chem}): unknown GB 18218 hazard category {cat!r}")
            entry["hazard_category"] = str(cat).upper()
        out.append(entry)
    return out


def _chemicals(s: pd.Series, attr: Attribute, rows: np.ndarray, report: ImportReport) -> pd.Series:
    blank = _blank(s)
    out = np.full(len(s), None, dtype=object)
    for i in np.flatnonzero(~blank):
        try:
            out[i] = json.dumps(parse_chemicals(s.iloc[i]), ensure_ascii=False)
        except ValueError as e:
            report.add(int(rows[i]), attr.name, f"chemical inventory: {e}")
    return pd.Series(out, index=s.index, dtype=object)


def _text(s: pd.Series, attr_name: str, rows: np.ndarray, report: ImportReport, required: bool) -> pd.Series:
    blank = _blank(s)
    text = s.astype("string").str.strip()
    text = text.str.replace(r"\.0$", "", regex=True) if pd.api.types.is_float_dtype(s) else text
    if required:
        for i in np.flatnonzero(blank):
            report.add(int(rows[i]), attr_name, "required value is missing")
    long = text.str.len().fillna(0).to_numpy() > MAX_TEXT
    for i in np.flatnonzero(long):
        report.add(int(rows[i]), attr_name, f"value is longer than {MAX_TEXT} characters")
    return text.astype(object).where(~(blank | long), None)


_CONVERTERS = {"integer": _number, "real": _number, "enum": _enum, "boolean": _boolean, "date": _date,
               "chemicals": _chemicals}
