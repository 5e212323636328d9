"""What imported records name in the database: their sites, a hidden danger's inspection, and the stored status
of the dangers an import updates (RecordKind.resolve, called by the importer for each validated chunk).

Set-based: one query per chunk and class of site (sites.sql), one for the inspections a chunk of dangers names
(inspections.sql) and one for their stored status (danger_state.sql), each through the unique indexes; the
answers are matched to the rows with pandas.  A row naming something that does not exist is a bad row of the
report ("row 7, field 'site_source_id': site enterprise 'E99' does not exist"); the others get riskmap's ids.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from psycopg2 import sql

from geo.errors import ImportReport
from geo.records import transitions

SITE_TABLES = ("enterprise", "tailings_pond", "pipeline", "venue")  # the site_kind enum's values


@cache
def _sql(name: str) -> str:
    return resources.files("geo.records").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def _text(rows: pa.Table, name: str) -> pd.Series:
    """A text column as an object Series (None where missing, or where the file has no such column)."""
    if name not in rows.column_names:
        return pd.Series([None] * rows.num_rows, dtype=object)
    return rows.column(name).to_pandas().astype(object).where(lambda s: s.notna(), None)


def _ids(rows: pa.Table, name: str) -> np.ndarray:
    """An id column as int64, 0 where missing (riskmap ids start at 1)."""
    if name not in rows.column_names:
        return np.zeros(rows.num_rows, dtype=np.int64)
    return pc.fill_null(rows.column(name).cast(pa.int64()), 0).to_numpy()


def _put(rows: pa.Table, name: str, array: pa.Array) -> pa.Table:
    if name in rows.column_names:
        return rows.set_column(rows.column_names.index(name), name, array)
    return rows.append_column(name, array)


def _id_array(ids: np.ndarray) -> pa.Array:
    return pa.array(ids, pa.int64(), mask=ids == 0)


def _lookup(cur, query: sql.Composable | str, ids: np.ndarray, source_ids: pd.Series) -> list[tuple]:
    cur.execute(query, {"ids": [int(i) for i in np.unique(ids[ids > 0])],
                        "source_ids": sorted(set(source_ids.dropna()))})
    return cur.fetchall()


def _match(kind_word: str, row_no: np.ndarray, mask: np.ndarray, ids: np.ndarray, source_ids: pd.Series,
           found: list[tuple], report: ImportReport, id_field: str, sid_field: str) -> np.ndarray:
    """The riskmap id of each row of ``mask`` from ``found`` ((id, source_id, ...) rows); 0 where the row names
    nothing or what it names does not exist (reported)."""
    by_source = {r[1]: r[0] for r in found}
    by_id = {r[0]: r[1] for r in found}
    out = np.zeros(len(ids), dtype=np.int64)
    named = mask & source_ids.notna().to_numpy()
    from_source = source_ids[named].map(by_source)
    missing = from_source.isna().to_numpy()
    for i in np.flatnonzero(named)[missing]:
        report.add(int(row_no[i]), sid_field, f"{kind_word} {source_ids.iloc[i]!r} does not exist")
    resolved = np.flatnonzero(named)[~missing]
    out[resolved] = from_source[~missing].astype(np.int64).to_numpy()
    clash = resolved[(ids[resolved] > 0) & (ids[resolved] != out[resolved])]
    for i in clash:
        report.add(int(row_no[i]), id_field, f"{id_field} {ids[i]} is not {kind_word} {source_ids.iloc[i]!r} "
                                             f"(that one has id {out[i]})")
    out[clash] = 0
    by_number = mask & ~named & (ids > 0)
    known = np.isin(ids, np.fromiter(by_id, dtype=np.int64, count=len(by_id)))
    for i in np.flatnonzero(by_number & ~known):
        report.add(int(row_no[i]), id_field, f"{kind_word} with id {ids[i]} does not exist")
    out[by_number & known] = ids[by_number & known]
    return out


def _sites(conn, rows: pa.Table, report: ImportReport, required: bool,
           inherited: tuple[pd.Series, np.ndarray] | None = None) -> pa.Table:
    """site_kind and site_id of every row, from site_id or site_source_id (resolved per class of site).  Rows
    that name no site take ``inherited`` (a danger's inspection's site) where given; a row left without a site
    is bad when ``required``."""
    row_no = rows.column("row_no").to_numpy()
    kinds = _text(rows, "site_kind")
    ids, source_ids = _ids(rows, "site_id"), _text(rows, "site_source_id")
    names_one = (ids > 0) | source_ids.notna().to_numpy()
    has_kind = kinds.notna().to_numpy()
    for i in np.flatnonzero(names_one & ~has_kind):
        if not report.names(int(row_no[i]), "site_kind"):  # (an unknown class is reported already)
            report.add(int(row_no[i]), "site_kind", "the site's class is missing (enterprise, tailings_pond, "
                                                    "pipeline or venue)")
    for i in np.flatnonzero(has_kind & ~names_one):
        report.add(int(row_no[i]), "site_id", f"the site {kinds.iloc[i]} is not named: give site_id (riskmap's id) "
                                              "or site_source_id (the site's register id)")
    site_id = np.zeros(len(ids), dtype=np.int64)
    with conn.cursor() as cur:
        for table in SITE_TABLES:
            mask = (kinds == table).to_numpy() & names_one
            if not mask.any():
                continue
            query = sql.SQL(_sql("sites")).format(table=sql.Identifier(table))
            found = _lookup(cur, query, np.where(mask, ids, 0), source_ids.where(mask, None))
            site_id += _match(f"site {table}", row_no, mask, ids, source_ids, found, report, "site_id",
                              "site_source_id")
    site_kind = kinds.where(site_id > 0, None)
    if inherited is not None:
        from_inspection = ~names_one & ~has_kind & (inherited[1] > 0)
        site_kind = site_kind.where(~from_inspection, inherited[0])
        site_id = np.where(from_inspection, inherited[1], site_id)
    if required:
        unnamed = ~names_one & ~has_kind & (site_id == 0)
        what = ("names neither its site (site_kind with site_id or site_source_id) nor the inspection that found "
                "it" if inherited is not None else "does not name its site (site_kind with site_id or site_source_id)")
        for i in np.flatnonzero(unnamed):
            if not report.names(int(row_no[i]), "site_kind"):
                report.add(int(row_no[i]), "site_kind", f"the record {what}")
    rows = _put(rows, "site_kind", pa.array(site_kind.where(site_id > 0, None), pa.string(), from_pandas=True))
    return _put(rows, "site_id", _id_array(site_id))


def sites_required(conn, rows: pa.Table, report: ImportReport) -> pa.Table:
    """Inspections and enforcement actions: each names an existing site."""
    return _sites(conn, rows, report, required=True)


def sites_optional(conn, rows: pa.Table, report: ImportReport) -> pa.Table:
    """Accidents: the site they are attributed to, if known, exists; columns the file lacks stay unwritten."""
    if not {"site_kind", "site_id", "site_source_id"} & set(rows.column_names):
        return rows
    return _sites(conn, rows, report, required=False)


def hidden_danger(conn, rows: pa.Table, report: ImportReport) -> pa.Table:
    """A danger's inspection (by id or source id; its site is the danger's unless the danger names one, and
    must be the same when it does), its site, and its status against the stored one (``_status``)."""
    row_no = rows.column("row_no").to_numpy()
    inherited = None
    if {"inspection_id", "inspection_source_id"} & set(rows.column_names):
        ids, source_ids = _ids(rows, "inspection_id"), _text(rows, "inspection_source_id")
        mask = (ids > 0) | source_ids.notna().to_numpy()
        with conn.cursor() as cur:
            found = _lookup(cur, _sql("inspections"), ids, source_ids) if mask.any() else []
        inspection_id = _match("inspection", row_no, mask, ids, source_ids, found, report, "inspection_id",
                               "inspection_source_id")
        sites = pd.DataFrame(found, columns=["id", "source_id", "site_kind", "site_id"]).set_index("id")
        sites = sites.reindex(inspection_id)
        inherited = (sites["site_kind"].astype(object).where(sites["site_kind"].notna(), None).reset_index(drop=True),
                     sites["site_id"].fillna(0).to_numpy(dtype=np.int64))
        rows = _put(rows, "inspection_id", _id_array(inspection_id))
    rows = _sites(conn, rows, report, required=True,
                  inherited=inherited or (pd.Series([None] * rows.num_rows, dtype=object),
                                          np.zeros(rows.num_rows, dtype=np.int64)))
    if inherited is not None:
        kinds, ids = _text(rows, "site_kind"), _ids(rows, "site_id")
        other = (inherited[1] > 0) & (ids > 0) & ((ids != inherited[1]) | (kinds != inherited[0]).to_numpy())
        for i in np.flatnonzero(other):
            report.add(int(row_no[i]), "site_id", f"the danger's site ({kinds.iloc[i]} {ids[i]}) is not the site of "
                                                  f"its inspection ({inherited[0].iloc[i]} {inherited[1][i]})")
    return _status(conn, rows, report)


def _status(conn, rows: pa.Table, report: ImportReport) -> pa.Table:
    """Each danger's status and status_changed_on, checked against the stored danger it updates, if any.

    Not given, the status is the stored one (open for a new danger).  A stored danger's status moves only along
    the allowed changes (geo/records/transitions.py: open → verified passes through rectified; nothing leads back
    to open).  Each status needs its date (rectified_on for rectified ...), from the file or else the stored
    danger, and an open danger has none of them.  status_changed_on, when not given, is the stored one while
    the status stays, else the date of the new status."""
    row_no = rows.column("row_no").to_numpy()
    source_ids = _text(rows, "source_id")
    with conn.cursor() as cur:
        stored = pd.DataFrame(_lookup(cur, _sql("danger_state"), np.zeros(0, np.int64), source_ids),
                              columns=["source_id", "status", "status_changed_on", "rectified_on", "verified_on",
                                       "reopened_on"])
    stored = stored.set_index("source_id").reindex(source_ids.tolist())
    stored.index = pd.RangeIndex(rows.num_rows)
    known = stored["status"].notna().to_numpy()
    given = _text(rows, "status")
    status = given.where(given.notna(), stored["status"].where(known, "open"))
    refused = np.zeros(rows.num_rows, dtype=bool)
    for i in np.flatnonzero(known & given.notna().to_numpy() & (given != stored["status"]).to_numpy()):
        old, new = stored["status"].iloc[i], given.iloc[i]
        if transitions.path(old, new) is None:
            refused[i] = True
            report.add(int(row_no[i]), "status", f"the stored danger is {old} and cannot become {new}; from {old} it "
                                                 f"may become: {', '.join(transitions.allowed(old))}")
    dates = {}
    for column in ("rectified_on", "verified_on", "reopened_on", "status_changed_on"):
        in_file = pd.to_datetime(_text(rows, column))
        dates[column] = in_file if column in rows.column_names else pd.to_datetime(stored[column])
    found_on = pd.to_datetime(_text(rows, "found_on"))
    for name, column in (("rectified", "rectified_on"), ("verified", "verified_on"), ("reopened", "reopened_on")):
        needs = (status.eq(name) | (status.eq("verified") & (name == "rectified"))).to_numpy()
        for i in np.flatnonzero(needs & dates[column].isna().to_numpy()):
            report.add(int(row_no[i]), column, f"a {status.iloc[i]} danger needs the date it was {name} ({column})")
    later = pd.concat([dates[c].notna() for c in ("rectified_on", "verified_on", "reopened_on")], axis=1).any(axis=1)
    for i in np.flatnonzero(status.eq("open").to_numpy() & later.to_numpy() & ~refused):
        report.add(int(row_no[i]), "status", "the danger has a rectification, verification or reopening date but "
                                             "its status is open: give its status (rectified, verified, reopened)")
    of_status = pd.Series(pd.NaT, index=status.index, dtype="datetime64[ns]")
    for name, column in transitions.DATE_OF.items():
        source = found_on if column == "found_on" else dates[column]
        of_status = of_status.where(~status.eq(name), source)
    unchanged = known & status.eq(stored["status"]).to_numpy()
    changed_on = dates["status_changed_on"] if "status_changed_on" in rows.column_names else \
        pd.Series(pd.NaT, index=status.index, dtype="datetime64[ns]")
    default = of_status.where(~unchanged, pd.to_datetime(stored["status_changed_on"]))
    changed_on = changed_on.where(changed_on.notna(), default)
    early = (changed_on < found_on).to_numpy()  # a stored date, when the file moves the found date past it
    for i in np.flatnonzero(early):
        report.add(int(row_no[i]), "status_changed_on", f"the last status change ({changed_on.iloc[i].date()}) would "
                                                        f"be before the date it was found ({found_on.iloc[i].date()})")
    rows = _put(rows, "status", pa.array(status, pa.string(), from_pandas=True))
    text = changed_on.dt.strftime("%Y-%m-%d").astype(object).where(changed_on.notna(), None)
    return _put(rows, "status_changed_on", pa.array(text, pa.string(), from_pandas=True))
