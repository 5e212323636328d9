"""GB 18218-2018 critical quantities Q and correction factors β for stored chemical inventories (domain.md §1).

The tables ship as package data in ``geo/risk/tables/`` (see the README there for sources and the C/R
confidence of each value) and are read once.  An inventory entry ``{chemical, quantity_t, hazard_category?}``
resolves to (Q, β, how it matched), in this order:

1. by name: the chemical's name, an alias or a CAS number from Table 1.  Names are normalised (NFKC, so
   full-width letters, digits and brackets become half-width; case-folded; white space removed).  A name
   that does not match is retried with its bracketed qualifiers removed, so 甲醇(工业级) matches 甲醇.
2. by the entry's ``hazard_category`` (Table 2 Q, Table 4 β).
3. otherwise the chemical is unknown: Q = ``unknown_chemical_q_t`` and β = ``unknown_chemical_beta`` from the
   parameters, and the entry is flagged *assumed*.

β of a named chemical is its Table 3 β.  For a chemical not in Table 3 it is the largest of these: the
Table 4 β of its own category, the Table 4 β of the entry's category, the toxic-gas β for an unlisted toxic
or highly toxic gas, and ``beta_default``.

A missing or negative quantity counts as q/Q = ``missing_quantity_q_ratio`` and is flagged assumed.

Everything is vectorised over all entries of all enterprises.  The inventory lists are exploded into one long
frame, looked up, and summed per enterprise by ``inventory_sums``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

TABLES = "tables"
TABLE1_FILE = "gb18218_table1.csv"
TABLE2_FILE = "gb18218_table2.csv"

MATCH_NAME = "name"
MATCH_CATEGORY = "category"
MATCH_UNKNOWN = "unknown"

_BRACKETED = r"\([^()]*\)|\[[^\[\]]*\]"


@dataclass(frozen=True)
class GB18218Tables:
    """Table 1 (named chemicals, with the Table 3 β) and Table 2 (categories, with the Table 4 β).

    ``named`` is indexed by row number.  ``categories`` is indexed by category code (J1 ... W11).  ``keys``
    maps every normalised name, alias and CAS number to its row in ``named``.
    """

    named: pd.DataFrame
    categories: pd.DataFrame
    keys: pd.Series


def normalise_names(names: pd.Series) -> pd.Series:
    """Names for matching: NFKC (full-width → half-width), case-folded, without white space; missing → NA."""
    s = names.astype("string")
    s = s.str.normalize("NFKC").str.casefold().str.replace(r"\s+", "", regex=True)
    return s.where(s.str.len() > 0)


def _strip_qualifiers(keys: pd.Series) -> pd.Series:
    s = keys.str.replace(_BRACKETED, "", regex=True)
    return s.where(s.str.len() > 0)


def _normalise_categories(categories: pd.Series) -> pd.Series:
    s = categories.astype("string").str.normalize("NFKC").str.replace(r"\s+", "", regex=True).str.upper()
    return s.where(s.str.len() > 0)


def _read_csv(name: str) -> pd.DataFrame:
    with resources.files("geo.risk").joinpath(TABLES, name).open("r", encoding="utf-8") as f:
        return pd.read_csv(f, comment="#", dtype=str, keep_default_na=False)


@cache
def load_tables() -> GB18218Tables:
    """The shipped GB 18218 tables, read once. ValueError names the row of a malformed table."""
    named = _read_csv(TABLE1_FILE)
    categories = _read_csv(TABLE2_FILE).set_index("category")
    for frame, file in ((named, TABLE1_FILE), (categories, TABLE2_FILE)):
        q = pd.to_numeric(frame["q_t"], errors="coerce")
        bad = ~(q > 0)
        if bad.any():
            raise ValueError(f"{file}: critical quantity q_t must be a positive number, not "
                             f"{frame['q_t'][bad].iloc[0]!r} (row {frame.index[bad][0]})")
        frame["q_t"] = q
    named["beta"] = pd.to_numeric(named["beta"].replace("", np.nan), errors="raise")
    categories["beta"] = pd.to_numeric(categories["beta"], errors="raise")
    unknown_cat = (named["hazard_category"] != "") & ~named["hazard_category"].isin(categories.index)
    if unknown_cat.any():
        raise ValueError(f"{TABLE1_FILE}: unknown hazard_category {named['hazard_category'][unknown_cat].iloc[0]!r}")
    if not named["toxic_gas"].isin(["", "toxic", "highly_toxic"]).all():
        raise ValueError(f"{TABLE1_FILE}: toxic_gas must be blank, 'toxic' or 'highly_toxic'")
    # Every spelling of a row: its name, its aliases and its CAS number.
    spellings = (named["name"] + "|" + named["aliases"] + "|" + named["cas"]).str.split("|").explode()
    spellings = spellings[spellings.str.strip() != ""]
    keys = pd.Series(spellings.index, index=normalise_names(spellings).to_numpy()).groupby(level=0).unique()
    clashes = keys[keys.map(len) > 1]
    if len(clashes):
        rows = list(named.loc[clashes.iloc[0], "name"])
        raise ValueError(f"{TABLE1_FILE}: the name {clashes.index[0]!r} matches several rows: {rows}")
    return GB18218Tables(named=named, categories=categories, keys=keys.map(lambda v: int(v[0])))


def _is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def parse_inventory(value) -> list | None:
    """One stored inventory as a list of entries.

    A stored inventory is a list of dicts or a JSON string of one.  The importer's 'name:tonnes;...' text is
    accepted too.  Returns None when nothing is recorded.  ValueError means the value cannot be read.
    """
    if _is_missing(value):
        return None
    if isinstance(value, np.ndarray):  # lists come back as arrays from Parquet/Arrow
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, dict):  # a single entry
        return [value]
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError as e:
                raise ValueError(f"broken JSON ({e.msg})") from None
            if not isinstance(items, list):
                raise ValueError("JSON inventory is not a list")
            return items
        from geo.validate import parse_chemicals  # the importer's 'name:tonnes;name:tonnes' form

        return parse_chemicals(text)
    raise ValueError(f"inventory of type {type(value).__name__}")


def explode_inventories(inventories: pd.Series) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """One long frame of all entries, plus per-enterprise flags showing what was recorded and what was readable.

    Returns ``(entries, recorded, unreadable)``:

    - ``entries`` has the columns ``row`` (position in ``inventories``), ``chemical``, ``quantity_t`` and
      ``hazard_category``.
    - ``recorded`` is True where an inventory (possibly an empty list) was read.
    - ``unreadable`` is True where a value was present but could not be read.
    """
    parsed: list[list | None] = []
    unreadable = np.zeros(len(inventories), dtype=bool)
    for i, value in enumerate(inventories.array):  # parsing JSON is per row; everything after is vectorised
        try:
            parsed.append(parse_inventory(value))
        except ValueError:
            parsed.append(None)
            unreadable[i] = True
    recorded = np.array([p is not None for p in parsed], dtype=bool)
    lengths = np.array([len(p) if p is not None else 0 for p in parsed], dtype=int)
    flat = [e if isinstance(e, dict) else {} for p in parsed if p for e in p]
    entries = pd.DataFrame.from_records(flat, columns=None) if flat else pd.DataFrame()
    if "chemical" not in entries and "name" in entries:
        entries["chemical"] = entries["name"]
    elif "name" in entries:
        entries["chemical"] = entries["chemical"].where(entries["chemical"].notna(), entries["name"])
    if "quantity_t" not in entries and "quantity" in entries:
        entries["quantity_t"] = entries["quantity"]
    for col in ("chemical", "quantity_t", "hazard_category"):
        if col not in entries:
            entries[col] = pd.Series(np.nan, index=entries.index, dtype=object)
    entries = entries[["chemical", "quantity_t", "hazard_category"]].copy()
    entries.insert(0, "row", np.repeat(np.arange(len(inventories)), lengths))
    return (entries.reset_index(drop=True), pd.Series(recorded, index=inventories.index),
            pd.Series(unreadable, index=inventories.index))


def resolve_entries(entries: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Q, β, q/Q and how each entry matched. ``params`` is the ``[enterprise.gb18218]`` section.

    Adds these columns:

    - ``q_crit_t``: the critical quantity Q.
    - ``beta``: the correction factor β.
    - ``ratio``: q/Q, with a missing quantity replaced by ``missing_quantity_q_ratio``.
    - ``match``: one of name, category or unknown.
    - ``ref``: the table row, such as T1-12.
    - ``assumed``: True for an unknown chemical or a missing quantity.
    """
    tables = load_tables()
    named, categories = tables.named, tables.categories
    out = entries.copy()
    key = normalise_names(out["chemical"])
    row = key.map(tables.keys)
    row = row.where(row.notna(), _strip_qualifiers(key).map(tables.keys))
    is_named = row.notna().to_numpy()
    hit = named.iloc[row.fillna(0).to_numpy(dtype=int)].reset_index(drop=True)
    hit.loc[~is_named, :] = np.nan  # no Table 1 row where the name did not match
    entry_cat = _normalise_categories(out["hazard_category"])
    entry_cat = entry_cat.where(entry_cat.isin(categories.index))
    is_cat = ~is_named & entry_cat.notna().to_numpy()

    table3_beta = hit["beta"].to_numpy(dtype=float)
    toxic = hit["toxic_gas"].to_numpy()
    candidates = np.column_stack([
        hit["hazard_category"].map(categories["beta"]).to_numpy(dtype=float),
        entry_cat.map(categories["beta"]).to_numpy(dtype=float),
        np.where(toxic == "toxic", float(params["beta_toxic_gas_unlisted"]), np.nan),
        np.where(toxic == "highly_toxic", float(params["beta_highly_toxic_gas_unlisted"]), np.nan),
        np.full(len(out), float(params["beta_default"])),
    ])
    named_beta = np.where(np.isnan(table3_beta), np.nanmax(candidates, axis=1), table3_beta)

    q_crit = np.select([is_named, is_cat], [hit["q_t"].to_numpy(dtype=float),
                                            entry_cat.map(categories["q_t"]).to_numpy(dtype=float)],
                       default=float(params["unknown_chemical_q_t"]))
    beta = np.select([is_named, is_cat], [named_beta, entry_cat.map(categories["beta"]).to_numpy(dtype=float)],
                     default=float(params["unknown_chemical_beta"]))
    quantity = pd.to_numeric(out["quantity_t"], errors="coerce").to_numpy(dtype=float)
    bad_quantity = ~np.isfinite(quantity) | (quantity < 0)
    ratio = np.where(bad_quantity, float(params["missing_quantity_q_ratio"]), quantity / q_crit)

    out["q_crit_t"] = q_crit
    out["beta"] = beta
    out["ratio"] = ratio
    out["match"] = np.select([is_named, is_cat], [MATCH_NAME, MATCH_CATEGORY], default=MATCH_UNKNOWN)
    out["ref"] = np.where(is_named, hit["ref"].to_numpy(dtype=object),
                          np.where(is_cat, "T2-" + entry_cat.fillna("").to_numpy(dtype=object), None))
    out["assumed"] = bad_quantity | ~(is_named | is_cat)
    return out


def inventory_sums(inventories: pd.Series, params: dict) -> pd.DataFrame:
    """GB 18218 sums per enterprise, indexed like ``inventories``. ``params`` is ``[enterprise.gb18218]``.

    Columns:

    - ``s_value``: S = Σ q/Q.
    - ``beta_sum``: Σ β·q/Q, which is R before α is applied.
    - ``entries``: the number of entries.
    - ``assumed``: True where some entry was assumed.
    - ``recorded``: True where an inventory was recorded, even an empty list.
    - ``unreadable``: True where a value was present but could not be read.
    """
    if len(inventories) <= FEW_SITES:
        few = _few_inventory_sums(inventories, params)
        if few is not None:
            return few
    entries, recorded, unreadable = explode_inventories(inventories)
    resolved = resolve_entries(entries, params)
    ratio = resolved["ratio"].to_numpy(dtype=float)
    return _sums_frame(resolved["row"].to_numpy(dtype=np.intp), ratio, resolved["beta"].to_numpy(dtype=float) * ratio,
                       resolved["assumed"].to_numpy(dtype=bool), inventories.index, recorded.to_numpy(dtype=bool),
                       unreadable.to_numpy(dtype=bool))


def _sums_frame(rows: np.ndarray, ratio: np.ndarray, beta_ratio: np.ndarray, assumed: np.ndarray, index: pd.Index,
                recorded: np.ndarray, unreadable: np.ndarray) -> pd.DataFrame:
    """The frame of ``inventory_sums`` from its entries (``rows``: each entry's enterprise, ascending): each
    enterprise's entries summed in order by ``np.add.reduceat`` (what a grouped sum of pandas does over ordered
    groups), so that both of its paths add the same numbers the same way."""
    n = len(index)
    s_value, beta_sum, any_assumed = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    if len(rows):
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        present = rows[starts]
        s_value[present] = np.add.reduceat(ratio, starts)
        beta_sum[present] = np.add.reduceat(beta_ratio, starts)
        any_assumed[present] = np.logical_or.reduceat(assumed, starts)
    out = pd.DataFrame({"s_value": s_value, "beta_sum": beta_sum,
                        "entries": np.bincount(rows, minlength=n).astype(int), "assumed": any_assumed}, index=index)
    out["recorded"] = pd.Series(recorded, index=index)
    out["unreadable"] = pd.Series(unreadable, index=index)
    return out


# ----- a few enterprises (an incremental run after one write) -----------------------------------------------------
#
# ``inventory_sums`` over one enterprise cost about 30 ms, nearly all of it pandas' fixed costs on frames of a few
# rows.  Up to FEW_SITES enterprises, the sums are made in plain Python instead, with the same arithmetic:
# each entry's table match (Q, β, matched or not) comes from ``resolve_entries`` itself, asked once per distinct
# (chemical, hazard category) and kept; q/Q and β·q/Q are the same IEEE operations, and both paths sum them per
# enterprise with the same function (``_sums_frame``).  Anything unusual (a quantity that is
# not a number, a chemical named by something other than text) goes the vectorised way.  The results are those of
# the vectorised path (tests/geo/risk/test_few_rows.py compares them on every demo inventory and random ones).

FEW_SITES = 8
_MATCHES: dict[tuple, tuple[float, float, bool]] = {}  # (params, chemical, category) -> (Q, β, matched)
_MATCHES_MAX = 100_000


def _few_inventory_sums(inventories: pd.Series, params: dict) -> pd.DataFrame | None:
    parsed: list[list | None] = []
    unreadable = []
    for value in inventories.array:
        try:
            parsed.append(parse_inventory(value))
            unreadable.append(False)
        except ValueError:
            parsed.append(None)
            unreadable.append(True)
    flat = [e if isinstance(e, dict) else {} for p in parsed if p for e in p]
    # (explode_inventories takes quantity_t from "quantity" only when no entry of the batch has "quantity_t")
    quantity_key = "quantity_t" if any("quantity_t" in e for e in flat) or not any("quantity" in e for e in flat) \
        else "quantity"
    looked_up = []
    for e in flat:
        chemical = e.get("chemical")
        if _is_missing(chemical):
            chemical = e.get("name")
        category, quantity = e.get("hazard_category"), e.get(quantity_key)
        if not (_is_missing(chemical) or isinstance(chemical, str)) or \
                not (_is_missing(category) or isinstance(category, str)) or \
                not (_is_missing(quantity) or (isinstance(quantity, (int, float)) and not isinstance(quantity, bool))):
            return None
        looked_up.append((None if _is_missing(chemical) else chemical, None if _is_missing(category) else category,
                          None if _is_missing(quantity) else float(quantity)))
    key = json.dumps(params, sort_keys=True, default=str)
    missing = sorted({(c, h) for c, h, _ in looked_up if (key, c, h) not in _MATCHES},
                     key=lambda ch: (ch[0] is None, ch[0] or "", ch[1] is None, ch[1] or ""))
    if missing:
        frame = pd.DataFrame({"chemical": pd.Series([c for c, _ in missing], dtype=object),
                              "quantity_t": pd.Series([1.0] * len(missing), dtype="float64"),
                              "hazard_category": pd.Series([h for _, h in missing], dtype=object)})
        resolved = resolve_entries(frame, params)
        if len(_MATCHES) > _MATCHES_MAX:
            _MATCHES.clear()
        for (c, h), q, b, m in zip(missing, resolved["q_crit_t"].tolist(), resolved["beta"].tolist(),
                                   resolved["match"].tolist(), strict=True):
            _MATCHES[(key, c, h)] = (q, b, m != MATCH_UNKNOWN)
    missing_ratio = float(params["missing_quantity_q_ratio"])
    rows, ratios, beta_ratios, assumed = [], [], [], []
    entries = iter(looked_up)
    for row, p in enumerate(parsed):
        for _ in range(len(p) if p else 0):
            chemical, category, quantity = next(entries)
            q_crit, beta, matched = _MATCHES[(key, chemical, category)]
            bad = quantity is None or not math.isfinite(quantity) or quantity < 0
            ratio = missing_ratio if bad else quantity / q_crit
            rows.append(row)
            ratios.append(ratio)
            beta_ratios.append(beta * ratio)
            assumed.append(bad or not matched)
    return _sums_frame(np.array(rows, dtype=np.intp), np.array(ratios, dtype=float),
                       np.array(beta_ratios, dtype=float), np.array(assumed, dtype=bool), inventories.index,
                       np.array([p is not None for p in parsed], dtype=bool), np.array(unreadable, dtype=bool))
