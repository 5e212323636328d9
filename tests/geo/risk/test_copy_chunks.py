"""Big COPYs made a chunk at a time (geo/risk/store.py: CsvChunks, copy_rows): the same text as the whole table's
CSV, whatever the chunks and the sizes read."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from geo.risk.store import CsvChunks, table_chunks


def _table(n: int) -> pa.Table:
    rng = np.random.default_rng(7)
    text = np.array(['plain', 'with "quotes"', 'a, comma', '中文', 'line\nbreak', ''], dtype=object)
    return pa.table({
        "id": pa.array(np.arange(n, dtype="int64")),
        "value": pa.array(rng.normal(size=n) * 1e6),
        "text": pa.array([text[i % len(text)] if i % 7 else None for i in range(n)], pa.string()),
        "flag": pa.array([bool(i % 3) for i in range(n)]),
    })


def _whole(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, write_options=pacsv.WriteOptions(include_header=False))
    return buf.getvalue()


def _read_all(stream: CsvChunks, size: int) -> bytes:
    out = []
    while True:
        part = stream.read(size)
        if not part:
            return b"".join(out)
        assert len(part) <= size
        out.append(part)


def test_chunks_give_the_whole_tables_text():
    table = _table(10_001)
    whole = _whole(table)
    for rows in (1, 997, 4096, 10_001, 50_000):
        for size in (1, 333, 1 << 20):
            if rows == 1 and size == 1:
                continue  # (ten thousand tables read a byte at a time: slow, and no different)
            assert _read_all(CsvChunks(table_chunks(table, rows)), size) == whole, (rows, size)


def test_tables_made_by_a_generator_and_empty_ones():
    table = _table(2_000)

    def tables():  # (made one at a time, an empty one among them)
        for start, n in ((0, 500), (500, 0), (500, 1_200), (1_700, 300)):
            yield table.slice(start, n)

    assert _read_all(CsvChunks(tables()), 1 << 16) == _whole(table)
    assert CsvChunks(iter([])).read(10) == b""
    assert CsvChunks(iter([table.slice(0, 0)])).read(10) == b""


def test_a_classes_results_made_a_chunk_at_a_time_equal_the_whole_table():
    """result_chunks (a full run's feature_risk rows, chunk by chunk) gives exactly results_table's rows: 40
    enterprises' results (factors with assumed values, details, points) cut into chunks of 7 rows."""
    import datetime as dt

    import pandas as pd

    from geo.risk.config import load_model
    from geo.risk.enterprise import score_enterprise
    from geo.risk.framework import final_level
    from geo.risk.store import result_chunks, results_table

    model = load_model()
    rng = np.random.default_rng(3)
    n = 40
    frame = pd.DataFrame({
        "feature_id": np.arange(1, n + 1), "industry": rng.choice(["chemical", "mining", "metallurgy"], n),
        "employees": rng.integers(1, 900, n).astype(float), "lon": rng.uniform(118, 119, n),
        "lat": rng.uniform(39, 40, n)})
    result = score_enterprise(frame, model["enterprise"], dt.date(2026, 11, 29))
    assert any(f.assumed is not None and f.assumed.any() for f in result.factors)
    level = final_level(result.score, result.direct_red, model["levels"])
    lon, lat = frame["lon"].to_numpy(), frame["lat"].to_numpy()
    whole = results_table("enterprise", frame["feature_id"], result, level, "v", lon, lat)
    parts = list(result_chunks("enterprise", frame["feature_id"], result, level, "v", lon, lat, rows=7))
    assert [p.num_rows for p in parts] == [7, 7, 7, 7, 7, 5]
    assert pa.concat_tables(parts).equals(whole)
