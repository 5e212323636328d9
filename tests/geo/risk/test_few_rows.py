"""The small-input paths of an incremental run (a run after one inspector's write compares a row or two): each
gives exactly what the general path gives, on the rows a run really reads and on edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from geo.risk import history, scoring

KEY = ["kind", "feature_id", "score", "level", "lon", "lat"]


def _rows(records: list[tuple]) -> pd.DataFrame:
    """Rows typed as query_frame types feature_risk's (kind, feature_id, score, level, lon, lat)."""
    table = pa.table({c: pa.array([r[i] for r in records], t) for i, (c, t) in enumerate(
        (("kind", pa.string()), ("feature_id", pa.int64()), ("score", pa.float64()), ("level", pa.string()),
         ("lon", pa.float64()), ("lat", pa.float64())))})
    return table.to_pandas()


def _random_pair(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    kinds = ["enterprise", "venue", "tailings_pond", "pipeline_segment"]
    old = {}
    for _ in range(int(rng.integers(0, 12))):
        key = (kinds[rng.integers(0, 4)], int(rng.integers(1, 40)))
        old[key] = (float(np.round(rng.uniform(0, 100), int(rng.integers(0, 12)))),
                    ["blue", "yellow", "orange", "red"][rng.integers(0, 4)],
                    float(rng.uniform(117, 119)), float(rng.uniform(39, 40)))
    new = {}
    for key, v in old.items():
        r = rng.random()
        if r < 0.2:
            continue  # removed
        if r < 0.4:
            v = (v[0] + float(rng.choice([1e-12, 1e-8, 3.5])), v[1], v[2], v[3])  # score moved (or not, 1e-12)
        elif r < 0.5:
            v = (v[0], "red" if v[1] != "red" else "blue", v[2], v[3])
        elif r < 0.6:
            v = (v[0], v[1], v[2] + 1e-4, v[3])  # moved
        new[key] = v
    for _ in range(int(rng.integers(0, 4))):  # added
        new[(kinds[rng.integers(0, 4)], int(rng.integers(40, 60)))] = (
            float(rng.uniform(0, 100)), "yellow", float(rng.uniform(117, 119)), float(rng.uniform(39, 40)))
    order = list(new)
    rng.shuffle(order)
    return (_rows([(*k, *v) for k, v in old.items()]), _rows([(*k, *new[k]) for k in order]))


def test_changed_rows_of_a_few_features_equal_the_merge():
    """scoring._changed on a few rows (its set path) returns exactly what the merge returns: the same rows, in
    the same order, with the same types, over 500 random before/after pairs (scores, levels, points changed,
    features removed and added)."""
    rng = np.random.default_rng(15)
    took_few = 0
    for _ in range(500):
        old, new = _random_pair(rng)
        if old.empty or new.empty:
            continue
        few = scoring._changed_few(old[KEY], new[KEY])
        assert few is not None
        took_few += 1
        merged = scoring._changed_merged(old, new)
        pd.testing.assert_frame_equal(few[0], merged[0])
        pd.testing.assert_frame_equal(few[1], merged[1])
    assert took_few > 400


def test_changed_rows_leave_repeated_or_missing_values_to_the_merge():
    """A repeated row or a missing value is left to the merge (None), whose semantics for them sets lack."""
    row = ("enterprise", 1, 10.0, "blue", 118.0, 39.0)
    assert scoring._changed_few(_rows([row, row]), _rows([row])) is None
    assert scoring._changed_few(_rows([row]), _rows([("enterprise", 1, None, "blue", 118.0, 39.0)])) is None
    assert scoring._changed_few(_rows([row]), _rows([row])) is not None


def test_history_rows_of_a_few_features_equal_the_merge():
    """history.changed_rows on a few rows (without its merge) returns exactly what the merge gives: the features
    new or changed by more than 1e-9 or in level, sorted, with the same types; a removed feature goes to the merge
    (its empty row), which the comparison covers too."""
    rng = np.random.default_rng(14)
    took_few = 0
    for _ in range(500):
        old, new = _random_pair(rng)
        before = old[["kind", "feature_id", "score", "level"]]
        if before.empty or new.empty:
            continue
        few = history._changed_few(before, new)
        merged = _history_merged(before, new)
        if few is None:
            assert not set(zip(before["kind"], before["feature_id"])) <= set(zip(new["kind"], new["feature_id"]))
            few = history.changed_rows(before, new)
        else:
            took_few += 1
        pd.testing.assert_frame_equal(few, merged)
    assert took_few > 100


def _history_merged(before: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """changed_rows with its small-input path switched off."""
    saved = history.FEW_ROWS
    history.FEW_ROWS = -1
    try:
        return history.changed_rows(before, now)
    finally:
        history.FEW_ROWS = saved


def test_a_few_features_aggregate_into_the_same_area_rows():
    """aggregate_partition on a few features (plain-Python factorising and counts) gives exactly the rows of its
    general path: scores to the last bit, levels, counts JSON, features and exposed people, over 300 random
    partitions (empty ones, settlements outside the areas, ties of scores included)."""
    from geo.risk import aggregate
    from geo.risk.config import load_model

    model = load_model()
    rng = np.random.default_rng(16)
    areas = ["130203", "130204", "873032c8cffffff", "883032c8c1fffff", "130225"]
    kinds = ["enterprise", "venue", "tailings_pond", "pipeline_segment"]
    for _ in range(300):
        n, m = int(rng.integers(0, 20)), int(rng.integers(0, 6))
        args = ("h3", 7, np.array(rng.choice(areas, n), dtype=object), np.array(rng.choice(kinds, n), dtype=object),
                np.array(rng.choice(["blue", "yellow", "orange", "red"], n), dtype=object),
                np.round(rng.uniform(0, 100, n), int(rng.integers(0, 3))),
                np.array(rng.choice([*areas, "elsewhere"], m), dtype=object), rng.uniform(0, 500, m), model)
        assert n + m == 0 or aggregate._few_partition(*args[2:5], args[6])  # (the path under test)
        few = aggregate.aggregate_partition(*args)
        saved = aggregate.FEW_ROWS
        aggregate.FEW_ROWS = -1
        try:
            general = aggregate.aggregate_partition(*args)
        finally:
            aggregate.FEW_ROWS = saved
        pd.testing.assert_frame_equal(few, general, check_exact=True)
