"""The small-input paths of an incremental run (a run after one inspector's write compares a row or two): each
gives exactly what the general path gives, on the rows a run really reads and on edge cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from geo import store
from geo.risk import history, row_sets, scoring
from geo.risk.config import load_model
from tests.conftest import DEMO_AS_OF, demo_template, throwaway_database
from tests.geo.risk.record_rows import add_accident, add_danger, add_inspection, set_danger_status
from tests.geo.risk.test_scoring import _areas, _exposure, _features

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
    """row_sets.differences on a few rows (what scoring._changed and the exposed settlements use) returns exactly
    what the outer merge returns: the same rows, in the same order, with the same types, over 500 random
    before/after pairs (scores, levels, points changed, features removed and added), and as the settlements'
    columns (feature_id, people, lon, lat)."""
    rng = np.random.default_rng(15)
    took_few = 0
    for _ in range(500):
        old, new = _random_pair(rng)
        if old.empty or new.empty:
            continue
        for columns in (KEY, ["feature_id", "score", "lon", "lat"]):
            few = row_sets.differences(old[columns], new[columns])
            assert few is not None
            took_few += 1
            merged = old[columns].merge(new[columns], how="outer", on=columns, indicator=True)
            pd.testing.assert_frame_equal(few[0], merged[merged["_merge"] == "left_only"][columns]
                                          .reset_index(drop=True))
            pd.testing.assert_frame_equal(few[1], merged[merged["_merge"] == "right_only"][columns]
                                          .reset_index(drop=True))
        pd.testing.assert_frame_equal(scoring._changed(old, new)[0], scoring._changed_merged(old, new)[0])
        pd.testing.assert_frame_equal(scoring._changed(old, new)[1], scoring._changed_merged(old, new)[1])
    assert took_few > 800


def test_changed_rows_leave_repeated_or_missing_values_to_the_merge():
    """A repeated row, a missing value or more than FEW_ROWS rows are left to the merge (None), whose semantics
    for them sets lack."""
    row = ("enterprise", 1, 10.0, "blue", 118.0, 39.0)
    assert row_sets.differences(_rows([row, row]), _rows([row])) is None
    assert row_sets.differences(_rows([row]), _rows([("enterprise", 1, None, "blue", 118.0, 39.0)])) is None
    assert row_sets.differences(_rows([row] * 70), _rows([row])) is None
    assert row_sets.differences(_rows([row]), _rows([row])) is not None


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
            assert not set(zip(before["kind"], before["feature_id"], strict=True)) <= \
                set(zip(new["kind"], new["feature_id"], strict=True))
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


def _inventories(rng: np.random.Generator, n: int) -> list:
    """Random stored inventories as the enterprise layer gives them (JSON text, the importer's text form, lists,
    nothing): named chemicals by name, alias or CAS number, with bracketed qualifiers, in full-width letters or
    upper case, hazard categories alone, unknown names, missing or negative quantities, awkward magnitudes."""
    import json

    from geo.risk.chemicals import load_tables

    tables = load_tables()
    names = [*tables.named["name"], *[a for v in tables.named["aliases"] for a in v.split("|") if a],
             *[c for c in tables.named["cas"] if c]]
    categories = list(tables.categories.index)
    out = []
    for _ in range(n):
        form = rng.random()
        if form < 0.08:
            out.append(None)
            continue
        if form < 0.12:
            out.append(rng.choice(["[]", "", "[broken", "{}", "[1, 2]"]))
            continue
        entries = []
        for _ in range(int(rng.integers(1, 9))):
            name = str(rng.choice(names))
            r = rng.random()
            if r < 0.1:
                name = name + "(工业级)"
            elif r < 0.2:
                name = name.upper()
            elif r < 0.25:
                name = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)  # full-width
            elif r < 0.35:
                name = f"未知物{int(rng.integers(0, 5))}"
            quantity = float(rng.choice([rng.uniform(0, 500), rng.uniform(0, 1e-3), rng.uniform(1e4, 1e6), -1.0,
                                         0.1, 1 / 3]))
            entry = {"chemical": name, "quantity_t": quantity}
            if rng.random() < 0.15:
                entry = {"hazard_category": str(rng.choice(categories)), "quantity_t": quantity}
            if rng.random() < 0.1:
                del entry["quantity_t"]
            if rng.random() < 0.1:
                entry["hazard_category"] = str(rng.choice([*categories, "j 1", "x9"]))
            if rng.random() < 0.05:
                entry["quantity_t"] = int(rng.integers(1, 100))
            entries.append(entry)
        r = rng.random()
        if r < 0.6:
            out.append(json.dumps(entries, ensure_ascii=False))
        elif r < 0.8:
            out.append(entries)
        else:
            out.append(";".join(f"{e.get('chemical', '甲醇')}:{e.get('quantity_t', 1)}" for e in entries
                                if e.get("quantity_t", 1) >= 0))
    return out


def test_a_few_inventories_sum_as_the_vectorised_path_sums_them():
    """inventory_sums over a few enterprises (plain Python, table matches kept per chemical) gives exactly the
    vectorised path's S, Σβq/Q, entry counts and flags, over 400 random batches of 1 to 8 inventories (every
    spelling of every Table 1 chemical among them); the vectorised path decides what the small one declines."""
    from geo.risk import chemicals

    params = load_model()["enterprise"]["gb18218"]
    rng = np.random.default_rng(17)
    took_few = 0
    for _ in range(400):
        batch = _inventories(rng, int(rng.integers(1, chemicals.FEW_SITES + 1)))
        series = pd.Series(batch, index=rng.permutation(len(batch)) + 100, dtype=object)
        few = chemicals._few_inventory_sums(series, params)
        saved = chemicals.FEW_SITES
        chemicals.FEW_SITES = -1
        try:
            general = chemicals.inventory_sums(series, params)
        finally:
            chemicals.FEW_SITES = saved
        if few is not None:
            took_few += 1
            pd.testing.assert_frame_equal(few, general, check_exact=True)
        pd.testing.assert_frame_equal(chemicals.inventory_sums(series, params), general, check_exact=True)
    assert took_few > 350


def test_inventory_sums_equal_a_grouped_sum_of_the_entries():
    """The per-enterprise sums of inventory_sums (np.add.reduceat over each enterprise's entries, in order) are
    exactly pandas' grouped sums of the resolved entries, the way they were made before, over 3,000 random
    inventories at once (the path of a full run)."""
    from geo.risk import chemicals

    params = load_model()["enterprise"]["gb18218"]
    series = pd.Series(_inventories(np.random.default_rng(18), 3000), dtype=object)
    entries, recorded, unreadable = chemicals.explode_inventories(series)
    resolved = chemicals.resolve_entries(entries, params)
    resolved["beta_ratio"] = resolved["beta"] * resolved["ratio"]
    grouped = resolved.groupby("row").agg(s_value=("ratio", "sum"), beta_sum=("beta_ratio", "sum"),
                                          entries=("ratio", "size"), assumed=("assumed", "any"))
    grouped = grouped.reindex(np.arange(len(series)))
    sums = chemicals.inventory_sums(series, params)
    assert np.array_equal(sums["s_value"].to_numpy(), grouped["s_value"].fillna(0.0).to_numpy(dtype=float))
    assert np.array_equal(sums["beta_sum"].to_numpy(), grouped["beta_sum"].fillna(0.0).to_numpy(dtype=float))
    assert np.array_equal(sums["entries"].to_numpy(), grouped["entries"].fillna(0).to_numpy(dtype=int))
    assert np.array_equal(sums["assumed"].to_numpy(), grouped["assumed"].fillna(False).to_numpy(dtype=bool))
    assert (sums["entries"] > 1).sum() > 1000 and np.array_equal(sums["recorded"], recorded)


# ----- whole runs on the demo: a few changes, the small paths against the general ones and against a full run -----

# Every table a run writes, as text, row by row (PostgreSQL prints a double exactly): what two runs must leave
# alike.  The clock readings (when a row was computed, the run's seconds and end) are left out.
CLOCKS = "ARRAY['computed_at', 'updated_at', 'scored_at', 'finished_at', 'seconds']"
STORED = {
    "feature_risk": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM feature_risk t ORDER BY 1",
    "area_risk": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM area_risk t ORDER BY 1",
    "exposure_cell": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM exposure_cell t ORDER BY 1",
    "exposure_grid": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM exposure_grid t ORDER BY 1",
    "settlement_exposed": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM settlement_exposed t ORDER BY 1",
    "site_tile_cell": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM site_tile_cell t ORDER BY 1",
    "site_tile_span": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM site_tile_span t ORDER BY 1",
    "scope_site": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM scope_site t ORDER BY 1",
    "scope_cell": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM scope_cell t ORDER BY 1",
    "risk_factor_def": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM risk_factor_def t ORDER BY 1",
    "pipeline_segment": f"SELECT (to_jsonb(t) - {CLOCKS})::text FROM pipeline_segment t ORDER BY 1",
    "score_history": "SELECT run, kind, feature_id, as_of, score, level, lon, lat FROM score_history ORDER BY 1, 2, 3",
    "score_run": "SELECT id, full_run, changes, scored::text, areas, model_version, as_of FROM score_run ORDER BY 1",
    "change records left": "SELECT (SELECT count(*) FROM risk_dirty), (SELECT count(*) FROM risk_removed), "
                           "(SELECT count(*) FROM risk_record_changed)",
}


def _stored(db) -> dict[str, list]:
    out = {}
    with db.cursor() as cur:
        for name, query in STORED.items():
            cur.execute(query)
            out[name] = cur.fetchall()
    db.rollback()
    return out


def _danger_added(db):
    with db.cursor() as cur:
        cur.execute("SELECT min(id) FROM enterprise WHERE chemicals IS NOT NULL AND chemicals::text <> '[]'")
        site = cur.fetchone()[0]
    db.rollback()
    add_danger(db, "enterprise", site, DEMO_AS_OF, grade="general")
    add_inspection(db, "venue", 5, DEMO_AS_OF)


def _accident_and_danger_recorded(db):
    """An accident at a site (it records no change of a feature: placed for scoped users by the run) and a hidden
    danger found there."""
    with db.cursor() as cur:
        cur.execute("SELECT ST_X(geom), ST_Y(geom) FROM enterprise WHERE id = 55")
        lon, lat = cur.fetchone()
    db.rollback()
    add_accident(db, lon, lat, DEMO_AS_OF, site=("enterprise", 55))
    add_danger(db, "enterprise", 55, DEMO_AS_OF, grade="major")


def _danger_rectified(db):
    danger = add_danger(db, "tailings_pond", 3, DEMO_AS_OF - dt.timedelta(days=40), grade="major")
    scoring.score(db, load_model(), DEMO_AS_OF)  # (found and scored before: the run compared takes the rectifying)
    set_danger_status(db, danger, "rectified", DEMO_AS_OF)


def _site_moved(db):
    with db.cursor() as cur:
        cur.execute("UPDATE enterprise SET geom = ST_Translate(geom, 0.0003, -0.0002) WHERE id = 42")
    db.commit()


def _attributes_changed(db):
    with db.cursor() as cur:
        cur.execute("UPDATE enterprise SET employees = coalesce(employees, 0) + 300, violations_12m = 4 WHERE id = 77")
        cur.execute("UPDATE venue SET occupancy = coalesce(occupancy, 0) + 2000 WHERE id = 9")
    db.commit()


def _site_deleted(db):
    with db.cursor() as cur:  # the county's highest-scoring enterprise and a venue
        cur.execute("DELETE FROM enterprise WHERE id = (SELECT feature_id FROM feature_risk WHERE kind = 'enterprise' "
                    "ORDER BY score DESC, feature_id LIMIT 1)")
        cur.execute("DELETE FROM venue WHERE id = 11")
    db.commit()


def _pipeline_deleted(db):
    with db.cursor() as cur:
        cur.execute("DELETE FROM pipeline WHERE id = (SELECT max(id) FROM pipeline)")
    db.commit()


CHANGES = {"hidden danger and inspection added": _danger_added, "hidden danger rectified": _danger_rectified,
           "an accident and a danger recorded": _accident_and_danger_recorded,
           "one site moved": _site_moved, "one site's attributes changed": _attributes_changed,
           "sites deleted": _site_deleted, "a pipeline deleted": _pipeline_deleted}


def _general_paths_only(monkeypatch):
    """Switch every small-input path off, and search for gone segments in every run, as before them."""
    from geo.risk import aggregate, chemicals

    for module, name in ((row_sets, "FEW_ROWS"), (history, "FEW_ROWS"), (aggregate, "FEW_ROWS"),
                         (chemicals, "FEW_SITES")):
        monkeypatch.setattr(module, name, -1)
    stored_rows, drop_stale = scoring._stored_rows, scoring._drop_stale
    monkeypatch.setattr(scoring, "_stored_rows", lambda conn, ids, removed, _=True: stored_rows(conn, ids, removed))
    monkeypatch.setattr(scoring, "_drop_stale", lambda conn, _=True: drop_stale(conn))
    place_sites = scoring._place_sites
    monkeypatch.setattr(scoring, "_place_sites", lambda cur, _: place_sites(cur, True))


@pytest.fixture
def two_demos(cluster):
    """Two databases of their own holding the scored demo (clones of the session's demo template)."""
    template = demo_template(cluster[1])
    with throwaway_database(cluster[1], template=template) as a, throwaway_database(cluster[1], template=template) as b:
        conns = store.connect(a), store.connect(b)
        yield conns
        for c in conns:
            c.close()


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_few_changes_store_what_the_general_paths_and_a_full_run_store(two_demos, monkeypatch, change):
    """After a small change (records added, a danger rectified, a site moved, edited or deleted, a pipeline
    deleted), the incremental run with its small-input paths stores exactly, byte for byte, what the same run with
    every general path stores in a copy of the database: feature results, areas, exposure, exposed settlements,
    tile counts, places, segments, history, the run's record and the change records it took; and its feature
    results, areas and exposure equal a full run's."""
    small, general = two_demos
    model = load_model()
    for db in (small, general):
        CHANGES[change](db)
    summary = scoring.score(small, model, DEMO_AS_OF)
    assert not summary.full and summary.changes >= 1
    with monkeypatch.context() as m:
        _general_paths_only(m)
        assert _done(scoring.score(general, model, DEMO_AS_OF)) == _done(summary)
    ours, theirs = _stored(small), _stored(general)
    for name in STORED:
        assert ours[name] == theirs[name], name
    assert ours["change records left"] == [(0, 0, 0)]
    with small.cursor() as cur:  # (every site and accident has its place, as after riskmap_scope_refresh())
        cur.execute("SELECT count(*) FROM accident f WHERE NOT EXISTS (SELECT 1 FROM scope_site s "
                    "WHERE s.kind = 'accident' AND s.id = f.id)")
        assert cur.fetchone()[0] == 0
    small.rollback()

    features, areas, exposure = _features(small), _areas(small), _exposure(small)
    assert scoring.score(small, model, DEMO_AS_OF, full=True).full
    pd.testing.assert_frame_equal(features, _features(small))
    pd.testing.assert_frame_equal(areas, _areas(small))
    pd.testing.assert_frame_equal(exposure, _exposure(small))


def _done(summary) -> dict:
    """What a run reports having done (its times left out)."""
    return {k: v for k, v in vars(summary).items() if not k.endswith("seconds")}
