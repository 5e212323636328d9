"""Moving frames between PostGIS and the risk rules: context queries in, scores and factors out (both via COPY)."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterable, Iterator
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg2 import sql

from geo.risk.framework import Factor, RuleResult

_SQL_CACHE: dict[str, str] = {}
# Rows of a big COPY turned into CSV text at a time (``copy_rows``): a full national run writes millions of
# feature, area and exposure rows, whose whole CSV text beside their rows was the run's largest holding.
COPY_CHUNK_ROWS = 65_536


def sql_text(name: str) -> str:
    """A query shipped in geo/risk/sql/, loaded once."""
    if name not in _SQL_CACHE:
        _SQL_CACHE[name] = resources.files("geo.risk").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")
    return _SQL_CACHE[name]


def query_frame(conn, query: str, params: dict | None = None, column_types: dict | None = None) -> pd.DataFrame:
    """Run a SELECT and return it as a DataFrame, streamed with COPY (much faster than fetchall for big results).

    ``column_types`` (name: pyarrow type) fixes the types of columns whose first rows may all be empty."""
    with conn.cursor() as cur:
        bound = cur.mogrify(query.strip().rstrip(";"), params or {}).decode()
        buf = io.BytesIO()
        cur.copy_expert(f"COPY ({bound}) TO STDOUT WITH (FORMAT csv, HEADER true)", buf, size=1 << 20)
    buf.seek(0)
    table = pacsv.read_csv(buf, convert_options=pacsv.ConvertOptions(
        true_values=["t"], false_values=["f"], strings_can_be_null=True, quoted_strings_can_be_null=True,
        column_types=column_types or {}))
    del buf  # (the text, let go before the frame is made: a whole layer's is hundreds of MB at national size)
    return table.to_pandas()


def execute(conn, query: str, params: dict | None = None) -> None:
    with conn.cursor() as cur:
        cur.execute(query, params or {})


def _json_values(values: pd.Series) -> pa.Array:
    """Per-row JSON text of a Series of numbers, booleans or strings (null for missing), column-wise: other
    values are JSON-encoded once per distinct value."""
    s = pd.Series(values).reset_index(drop=True)
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if pd.api.types.is_bool_dtype(s) or kind == "boolean":
        text = pc.if_else(pa.array(s.astype("boolean"), pa.bool_()), "true", "false")
    elif pd.api.types.is_numeric_dtype(s):
        f = s.astype("float64").to_numpy()
        f = np.where(np.isfinite(f), np.round(f, 6), np.nan)
        text = pc.cast(pa.array(f, pa.float64(), from_pandas=True), pa.string())
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        encoded = [json.dumps(v if isinstance(v, (str, int, float, bool)) else str(v), ensure_ascii=False)
                   for v in uniques]
        text = pa.array(np.array([*encoded, None], dtype=object)[codes], pa.string())
    return pc.fill_null(text, "null")


def factors_json(result: RuleResult) -> pa.Array:
    """The factors of every row as JSON text, built column-wise (no per-row Python): an array of
    ``[factor, value, points, assumed]`` arrays, compact because PostgreSQL parses hundreds of thousands of them
    on every full scoring (the names are explained by risk_factor_def).

    Each row's factors are ordered by the points they gave, highest first (ties and missing points by factor
    name), so "the top three reasons" are simply the first three: the API reads them without sorting."""
    n = len(result.score)
    factors = sorted(result.factors, key=lambda f: f.definition.name)
    if not factors:
        return _repeat("[]", n)
    texts, points = [], []
    for f in factors:
        assumed = f.assumed if f.assumed is not None else pd.Series(False, index=f.value.index)
        texts.append(pc.binary_join_element_wise(
            _repeat("[" + json.dumps(f.definition.name), n), _json_values(f.value), _json_values(f.points),
            pc.if_else(pa.array(assumed.fillna(False).astype(bool).to_numpy()), "true]", "false]"), ","))
        pts = pd.to_numeric(f.points, errors="coerce").to_numpy(dtype="float64")
        points.append(np.where(np.isfinite(pts), pts, -np.inf))
    # per row, the factor columns by points descending; a stable sort keeps name order among equals
    order = np.argsort(-np.column_stack(points), axis=1, kind="stable").astype(np.int16)
    ranked = [pc.choose(pa.array(order[:, j]), *texts) for j in range(len(factors))]
    return pc.binary_join_element_wise(_repeat("[", n), pc.binary_join_element_wise(*ranked, ","),
                                       _repeat("]", n), "")


def _repeat(text: str, n: int) -> pa.Array:
    return pa.array(np.full(n, text, dtype=object), pa.string())


def details_json(extra: dict[str, pd.Series], n: int) -> pa.Array:
    if not extra:
        return pa.array(["{}"] * n)
    parts: list = []
    for k, (name, values) in enumerate(extra.items()):
        parts += [pa.array([("{" if k == 0 else ",") + json.dumps(name) + ":"] * n), _json_values(values)]
    parts.append(pa.array(["}"] * n))
    return pc.binary_join_element_wise(*parts, "")


def results_table(kind: str, feature_ids: pd.Series, result: RuleResult, level: np.ndarray,
                  model_version: str, lon: np.ndarray | None = None, lat: np.ndarray | None = None) -> pa.Table:
    """The rows of feature_risk for these features (the factors and details as JSON text), with the point
    where the areas count each (lon, lat) when given."""
    n = len(feature_ids)
    direct = result.direct_red.reset_index(drop=True)
    points = {} if lon is None else {"lon": pa.array(np.asarray(lon, dtype="float64")),
                                     "lat": pa.array(np.asarray(lat, dtype="float64"))}
    return pa.table({
        "kind": _repeat(kind, n),
        "feature_id": pa.array(feature_ids.to_numpy(dtype="int64")),
        "score": pa.array(np.clip(result.score.to_numpy(dtype="float64"), 0, 100)),
        "level": pa.array(np.asarray(level).astype(str)),
        "direct_red": pa.array(direct.where(direct.notna(), None).tolist(), pa.string()),
        "factors": factors_json(result),
        "details": details_json(result.extra, n),
        "model_version": _repeat(model_version, n),
        **points,
    })


class CsvChunks(io.RawIOBase):
    """The rows of a sequence of tables (or record batches) of the same columns as one CSV text, made a table at
    a time as it is read: what ``cursor.copy_expert`` reads (``read(size)`` until empty), so that one COPY
    statement takes every row without the whole text, or every table, being in memory at once."""

    def __init__(self, tables: Iterable[pa.Table | pa.RecordBatch]):
        super().__init__()
        self._tables = iter(tables)
        self._text = memoryview(b"")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._text:
            table = next(self._tables, None)
            if table is None:
                return b""
            buf = io.BytesIO()
            pacsv.write_csv(table, buf, write_options=pacsv.WriteOptions(include_header=False))
            self._text = memoryview(buf.getvalue())
        n = len(self._text) if size is None or size < 0 else size
        out, self._text = self._text[:n], self._text[n:]
        return out.tobytes()

    def readinto(self, b) -> int:
        out = self.read(len(b))
        b[:len(out)] = out
        return len(out)


def table_chunks(table: pa.Table, rows: int = COPY_CHUNK_ROWS) -> Iterator[pa.Table]:
    """Slices of ``table`` of ``rows`` rows (no copy)."""
    for start in range(0, table.num_rows, rows):
        yield table.slice(start, rows)


def copy_rows(cur, name: str, columns: list[str], tables: pa.Table | Iterable[pa.Table]) -> None:
    """COPY into the table ``name`` (``columns``) the rows of ``tables``: one table (written a slice of
    COPY_CHUNK_ROWS at a time), or tables made one at a time by a generator (each released once written).
    One COPY statement either way, whatever the number of chunks (statement triggers fire once)."""
    chunks = table_chunks(tables) if isinstance(tables, pa.Table) else tables
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    cur.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(sql.Identifier(name), cols)
                    .as_string(cur), CsvChunks(chunks), size=1 << 20)


def result_chunks(kind: str, feature_ids: pd.Series, result: RuleResult, level: np.ndarray, model_version: str,
                  lon: np.ndarray | None = None, lat: np.ndarray | None = None,
                  rows: int = COPY_CHUNK_ROWS) -> Iterator[pa.Table]:
    """``results_table`` made ``rows`` rows at a time (the same rows: every value is made row by row), so that a
    class of a million features never holds all its factors' JSON text at once: each chunk is let go once
    written."""
    for i in range(0, len(feature_ids), rows):
        part = slice(i, i + rows)
        sliced = RuleResult(
            score=result.score.iloc[part],
            factors=[Factor(f.definition, f.value.iloc[part], f.points.iloc[part],
                            None if f.assumed is None else f.assumed.iloc[part]) for f in result.factors],
            direct_red=result.direct_red.iloc[part],
            extra={k: v.iloc[part] for k, v in result.extra.items()})
        yield results_table(kind, feature_ids.iloc[part], sliced, np.asarray(level)[part], model_version,
                            None if lon is None else lon[part], None if lat is None else lat[part])


def store_results(conn, kind: str, table: pa.Table | Iterable[pa.Table], factor_defs: list, model_version: str,
                  replace_all: bool) -> None:
    """Replace the stored scores of ``kind`` (all of them when ``replace_all``, else those in ``table``) and
    record the factor definitions.  ``table``: the rows, or their chunks as they are made (``result_chunks``:
    a full run's, which replaces all)."""
    if not replace_all and not isinstance(table, pa.Table):
        raise ValueError("an incremental store takes one table (its ids are read first)")
    with conn.cursor() as cur:
        ids = None if replace_all else table.column("feature_id").to_pylist()
        if replace_all:
            cur.execute("DELETE FROM feature_risk WHERE kind = %s", (kind,))
            was = (None, None, None)
        else:
            # the rows replaced, with their levels and scores: the low-zoom tile counts take them out (below)
            cur.execute("WITH gone AS (DELETE FROM feature_risk WHERE kind = %s AND feature_id = ANY(%s) "
                        "RETURNING feature_id, level, score) "
                        "SELECT array_agg(feature_id), array_agg(level), array_agg(score) FROM gone", (kind, ids))
            was = cur.fetchone()
        if isinstance(table, pa.Table):
            copy_rows(cur, "feature_risk", table.column_names, table)
        else:
            chunks = iter(table)
            first = next(chunks, None)
            if first is not None:
                copy_rows(cur, "feature_risk", first.column_names, itertools.chain([first], chunks))
            del first
        # the counts of low-zoom site tiles follow the new scores in this transaction (migrations 0026, 0029): a
        # full run counts the class again, an incremental one moves each site from its old level to its new one
        cur.execute("SELECT riskmap_site_cells_rescored(%s, %s::bigint[], %s::bigint[], %s::text[], "
                    "%s::double precision[])", (kind, ids, *was))
        for d in factor_defs:
            cur.execute(
                "INSERT INTO risk_factor_def (model_version, kind, factor, title, source, unit) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (model_version, kind, factor) DO UPDATE "
                "SET title = EXCLUDED.title, source = EXCLUDED.source, unit = EXCLUDED.unit",
                (model_version, kind, d.name, d.title, d.source, d.unit))
