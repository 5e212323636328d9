"""The demo's two synthetic years of records (data/demo/history.py) and the true hazard they are drawn from
(data/demo/hazard.py): deterministic for a seed, importable without a bad row, and with the documented
properties (docs/demo.md)."""

from __future__ import annotations

import datetime as dt
import zlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from data.demo import generate_demo
from data.demo import hazard as hz
from data.demo.history import HISTORY_END, HISTORY_START, RECORD_KINDS, generate_history
from data.demo.simulation import PRIOR_NOTE
from data.loader import counties_path, load_demo, load_demo_history
from geo.records.kinds import RECORD_KINDS as RECORD_KIND_DEFS
from geo.risk.config import load_model

LEVELS = ("red", "orange", "yellow", "blue")
SCORE_HISTORY = ("SELECT count(*), md5(string_agg(kind || feature_id || as_of || round(score::numeric, 6) || level, "
                 "',' ORDER BY kind, feature_id, as_of, run)) FROM score_history WHERE as_of BETWEEN %s AND %s")
LEVEL_SHARES = (0.03, 0.05, 0.25, 0.67)  # about the demo's start levels


def fixed_levels(features) -> dict[str, dict[str, str]]:
    """Start levels without a database: each site's level from a hash of its id, in about the demo's shares."""
    cut = np.cumsum(LEVEL_SHARES)
    out = {}
    for kind in ("enterprise", "tailings_pond", "pipeline", "venue"):
        ids = features[kind]["source_id"]
        u = np.array([zlib.crc32(s.encode()) / 2**32 for s in ids])
        out[kind] = dict(zip(ids, np.array(LEVELS)[np.searchsorted(cut, u)], strict=True))
    return out


@pytest.fixture(scope="module")
def counties():
    return gpd.read_file(counties_path())


@pytest.fixture(scope="module")
def features(counties):
    return generate_demo(counties)


@pytest.fixture(scope="module")
def levels(features):
    return fixed_levels(features)


@pytest.fixture(scope="module")
def history(features, counties, levels):
    return generate_history(features, counties, levels)


# --- the generator -------------------------------------------------------------------------------------------------

def test_same_seed_same_records_other_seed_other_records(features, counties, levels, history):
    """generate_history is deterministic for a seed (every record and the truth alike); another seed draws
    other records."""
    again = generate_history(features, counties, levels)
    for kind in RECORD_KINDS:
        pd.testing.assert_frame_equal(history.records[kind], again.records[kind])
    pd.testing.assert_frame_equal(history.sites, again.sites)
    pd.testing.assert_frame_equal(history.accidents, again.accidents)
    assert history.variance == again.variance
    other = generate_history(features, counties, levels, seed=7, last=HISTORY_START + dt.timedelta(days=90))
    first_quarter = history.records["inspection"]["inspected_on"] <= other.records["inspection"]["inspected_on"].max()
    assert not history.records["inspection"][first_quarter].reset_index(drop=True)["site_source_id"].equals(
        other.records["inspection"]["site_source_id"])


def test_records_cover_two_years_with_riskmap_columns_and_are_synthetic(history):
    """Every record falls within the two years (but each site's last inspection before them, recorded once, at
    most a year earlier), names a demo site, has only columns the importer takes, and is flagged synthetic; ids
    are unique."""
    dates = {"inspection": "inspected_on", "hidden_danger": "found_on", "enforcement_action": "decided_on",
             "accident": "occurred_on"}
    ins = history.records["inspection"]
    prior = ins["notes"] == PRIOR_NOTE
    assert ins.loc[prior, "site_source_id"].is_unique
    assert prior.sum() == np.isfinite(history.sites["base"]).sum()  # every site but the closed ones
    day = pd.to_datetime(ins.loc[prior, "inspected_on"]).dt.date
    assert day.max() < HISTORY_START and day.min() >= HISTORY_START - dt.timedelta(days=366)
    for kind in RECORD_KINDS:
        frame = history.records[kind]
        if kind == "inspection":
            frame = frame[~prior]
        assert len(frame) > 0, kind
        assert frame["synthetic"].all()
        assert frame["source_id"].is_unique and frame["source_id"].str.startswith("demo-").all()
        day = pd.to_datetime(frame[dates[kind]]).dt.date
        assert day.min() >= HISTORY_START and day.max() <= HISTORY_END, kind
        known = {a.name for a in RECORD_KIND_DEFS[kind].attributes} | {"source_id", "synthetic", "lon", "lat"}
        assert set(frame.columns) <= known, kind
        named = frame["site_source_id"].dropna()
        assert named.str.fullmatch(r"demo-(ent|pond|pipe|venue)-\d{5}").all(), kind


def test_hidden_dangers_move_through_every_status_with_consistent_dates(history):
    """Dangers are found, rectified, verified, some stay open past their deadline, some are reopened (and
    rectified again); every status has its date, dates never run backwards, and the last change is the status's
    date."""
    d = history.records["hidden_danger"]
    assert set(d["status"]) == {"open", "rectified", "verified", "reopened"}
    assert set(d["grade"]) == {"general", "major"}
    day = {c: pd.to_datetime(d[c]) for c in ("found_on", "deadline", "rectified_on", "verified_on", "reopened_on",
                                             "status_changed_on")}
    assert (day["deadline"] >= day["found_on"]).all()
    assert not (day["rectified_on"] < day["found_on"]).any()
    assert not (day["verified_on"] < day["rectified_on"]).any() and not (
        day["verified_on"].notna() & day["rectified_on"].isna()).any()
    # reopened when the verification found the rectification not done, then rectified (and verified) again:
    # the table keeps the last rectification
    reopened = d["status"] == "reopened"
    assert (day["reopened_on"][reopened] >= day["rectified_on"][reopened]).all()
    again = d["reopened_on"].notna() & ~reopened
    assert again.sum() > 20 and (day["rectified_on"][again] > day["reopened_on"][again]).all()
    for status, column in (("rectified", "rectified_on"), ("verified", "verified_on"), ("reopened", "reopened_on"),
                           ("open", "found_on")):
        rows = d["status"] == status
        assert (day["status_changed_on"][rows] == day[column][rows]).all(), status
    overdue = (d["status"].isin(["open", "reopened"])) & (day["deadline"] < pd.Timestamp(HISTORY_END))
    assert overdue.sum() > 50
    assert (d["grade"] == "major").mean() < 0.1


def test_enforcement_actions_are_lifted_after_they_are_decided(history):
    """Rectification orders, fines (with amounts), suspensions (most lifted: 复产复工) and closures; a lifting
    never comes before the decision."""
    a = history.records["enforcement_action"]
    assert {"rectify_order", "fine", "suspension"} <= set(a["measure"])
    assert a.loc[a["measure"] == "fine", "fine_yuan"].gt(0).all()
    lifted = pd.to_datetime(a["lifted_on"])
    assert not (lifted < pd.to_datetime(a["decided_on"])).any()
    suspensions = a[a["measure"] == "suspension"]
    assert suspensions["lifted_on"].notna().mean() > 0.5
    assert a.loc[a["measure"] == "closure", "lifted_on"].isna().all()


def test_inspections_follow_the_levels_within_limited_capacity(history, levels):
    """Sites are inspected more often the higher their level (red about monthly), but the teams' capacity
    leaves some sites of every level without the inspections their frequency calls for."""
    ins = history.records["inspection"]
    done = ins[(ins["outcome"] != "not_inspected") & (ins["notes"] != PRIOR_NOTE)]
    sites = history.sites.set_index(["kind", "source_id"])
    per_site = done.groupby(["site_kind", "site_source_id"]).size().reindex(sites.index, fill_value=0)
    per_year = per_site.groupby(sites["level"]).mean() / 2
    assert per_year["red"] > per_year["orange"] > per_year["yellow"] > per_year["blue"]
    assert 6 <= per_year["red"] <= 14
    wanted = {"red": 12, "orange": 4, "yellow": 2, "blue": 1}
    assert all(per_year[lv] < wanted[lv] * 1.1 for lv in LEVELS)
    assert {"routine", "special", "comprehensive", "look_back"} == set(ins["inspection_type"])


def test_dangers_are_found_more_at_riskier_and_worse_managed_sites(history):
    """Hidden dangers found per inspection grow with the site's static hazard and its (latent) management
    deficit: their rank correlations are clearly positive."""
    ins = history.records["inspection"]
    done = ins[(ins["outcome"] != "not_inspected") & (ins["notes"] != PRIOR_NOTE)] \
        .groupby(["site_kind", "site_source_id"]).size()
    found = history.records["hidden_danger"].groupby(["site_kind", "site_source_id"]).size()
    sites = history.sites.set_index(["kind", "source_id"])
    rate = (found.reindex(done.index, fill_value=0) / done).rename("rate")
    rate.index.names = ["kind", "source_id"]
    joined = sites.join(rate, how="inner")
    assert joined["rate"].corr(joined["management"], method="spearman") > 0.2
    enterprises = joined.loc["enterprise"]
    assert enterprises["rate"].corr(enterprises["static"], method="spearman") > 0.05


def test_accidents_concentrate_where_the_true_hazard_is_high(history):
    """Ranking the sites by their true hazard on each accident's day, the top 20 % hold well over half the
    accidents at registered sites (a random order: 20 %); the observable part alone does less well than the
    whole; and the sites' accident counts grow with their base rate and latent terms."""
    acc = history.accidents.dropna(subset=["kind"])
    n = len(history.sites)
    k = 0.2 * n

    def top20(name):
        a, b = acc[f"{name}_a"].to_numpy(float), acc[f"{name}_b"].to_numpy(float)
        return float(np.clip((k - (a - 1)) / (b - a + 1), 0, 1).mean())

    assert top20("true") > 0.6
    assert top20("true") > top20("observable") > 0.4
    sites = history.sites[np.isfinite(history.sites["base"])]
    log_rate = sites["base"] + sites["management"] + sites["frailty"]
    high = log_rate > log_rate.quantile(0.8)
    assert sites.loc[high, "accidents"].sum() > 0.5 * sites["accidents"].sum()
    assert history.sites.loc[~np.isfinite(history.sites["base"]), "accidents"].sum() == 0  # closed: none
    assert 200 <= len(history.accidents) <= 500  # about 150 a year (hazard.BASE_PER_YEAR)


def test_the_latent_terms_carry_a_documented_share_of_the_hazard(history):
    """The log-hazard's variance splits into shares that add up to one; the latent terms (management and
    frailty) carry between a third and a half of it, frailty alone about a quarter (docs/demo.md)."""
    v = history.variance
    parts = [v[f"{name}_share"] for name in ("observed", "management", "frailty", "records")]
    assert sum(parts) == pytest.approx(1.0)
    assert 0.33 < v["latent_share"] < 0.5
    assert 0.15 < v["frailty_share"] < 0.35
    assert v["latent_share"] == pytest.approx(v["management_share"] + v["frailty_share"])


# --- the true hazard's formula --------------------------------------------------------------------------------------

def test_enterprise_hazard_terms_follow_the_documented_formula():
    """A 1,000-person mine with a major hazard installation and 20 % dispatched workers: industry 0.9,
    workforce 0.6·ln 10, major hazard 0.4, flexible 0.2; a missing workforce counts at the industry's median;
    a closed enterprise has no hazard, a suspended one a tenth."""
    frame = pd.DataFrame({
        "industry": ["mining", "machinery", "machinery", "machinery"],
        "employees": [1000, None, 100, 100],
        "chemicals": ['[{"chemical": "氨", "quantity_t": 12.0}]', None, None, None],
        "flexible_worker_share": [0.2, None, 0.0, 0.0],
        "status": ["operating", "operating", "closed", "suspended"]})
    h = hz.site_hazard("enterprise", frame)
    assert h.static[0] == pytest.approx(0.9 + 0.6 * np.log(10) + 0.4 + 0.2)
    assert h.static[1] == pytest.approx(0.6 * np.log(110 / 100))  # machinery's median workforce is 110
    assert h.base[0] == pytest.approx(np.log(hz.BASE_PER_YEAR["enterprise"]) + h.static[0])
    assert h.base[2] == -np.inf
    assert h.base[3] == pytest.approx(np.log(hz.BASE_PER_YEAR["enterprise"] * 0.1))


def test_time_varying_term_and_variance_shares():
    """x(t): 0.12 per open danger (at most five), 0.8 for an open major one, ln 0.1 while suspended, 0.7 in
    the weeks after resuming; the variance shares of independent terms are their variances over the total."""
    x = hz.time_varying(np.array([0, 2, 9, 0]), np.array([0, 1, 0, 0]), np.array([False, False, True, False]),
                        np.array([False, False, False, True]))
    assert x == pytest.approx([0.0, 0.24 + 0.8, 0.6 + np.log(0.1), 0.7])
    rng = np.random.default_rng(1)
    acc = hz.VarianceAccumulator()
    a, b, c, d = rng.normal(0, 1, 200_000), rng.normal(0, 2, 200_000), rng.normal(0, 1, 200_000), np.zeros(200_000)
    acc.add(a[:100_000], b[:100_000], c[:100_000], d[:100_000])
    acc.add(a[100_000:], b[100_000:], c[100_000:], d[100_000:])
    shares = acc.shares()
    assert shares["management_share"] == pytest.approx(4 / 6, abs=0.01)
    assert shares["latent_share"] == pytest.approx(5 / 6, abs=0.01)
    assert shares["log_hazard_variance"] == pytest.approx(6.0, rel=0.02)


# --- loading -------------------------------------------------------------------------------------------------------

def test_demo_history_imports_without_a_bad_row_and_twice_gives_the_same_records(db):
    """load_demo_history scores the loaded demo as of the day before the history, generates the records from
    those levels, imports every one of them (no row rejected) and fills the score history at every month's end;
    loading again replaces them with the same records and the same score history, and every record is flagged
    synthetic."""
    load_demo(db)
    history, counts = load_demo_history(db, load_model())
    assert counts == {kind: len(history.records[kind]) for kind in RECORD_KINDS}
    first = {}
    with db.cursor() as cur:
        for kind in RECORD_KINDS:
            cur.execute(f"SELECT count(*), count(*) FILTER (WHERE synthetic) FROM {kind}")
            assert cur.fetchone() == (counts[kind], counts[kind]), kind
            cur.execute(f"SELECT md5(string_agg(source_id || coalesce(site_id::text, ''), ',' ORDER BY source_id)) "
                        f"FROM {kind}")
            first[kind] = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM hidden_danger h JOIN inspection i ON i.id = h.inspection_id "
                    "WHERE i.site_kind = h.site_kind AND i.site_id = h.site_id")
        assert cur.fetchone()[0] == counts["hidden_danger"]
        cur.execute(SCORE_HISTORY, (HISTORY_START, HISTORY_END))
        scores = cur.fetchone()
        assert scores[0] > 24 * 1000  # a month's end rarely leaves a site's score as it was
    db.rollback()
    again, counts_again = load_demo_history(db, load_model())
    assert counts_again == counts
    with db.cursor() as cur:
        for kind in RECORD_KINDS:
            cur.execute(f"SELECT md5(string_agg(source_id || coalesce(site_id::text, ''), ',' ORDER BY source_id)) "
                        f"FROM {kind}")
            assert cur.fetchone()[0] == first[kind], kind
        cur.execute(SCORE_HISTORY, (HISTORY_START, HISTORY_END))
        assert cur.fetchone() == scores  # the earlier load's score history of the two years replaced, not added to
    db.rollback()
