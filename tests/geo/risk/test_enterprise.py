"""The enterprise rule (geo/risk/enterprise.py) and the GB 18218 tables (geo/risk/chemicals.py); domain.md §1, §2."""

from __future__ import annotations

import copy
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.kinds import ENTERPRISE, INDUSTRIES, OPERATING_STATUS
from geo.risk import chemicals
from geo.risk.config import load_model
from geo.risk.enterprise import DIRECT_RED_MAJOR_HIDDEN_DANGER, score_enterprise
from geo.risk.framework import final_level
from geo.validate import HAZARD_CATEGORIES

AS_OF = dt.date(2026, 6, 30)
MODEL = load_model()
PARAMS = MODEL["enterprise"]
GB = PARAMS["gb18218"]


def enterprise(**values) -> dict:
    """A fully recorded, compliant small machinery works; override any attribute by keyword."""
    row = {"industry": "machinery", "chemicals": [], "status": "operating", "employees": 80,
           "flexible_worker_share": 0.0, "violations_12m": 0, "open_hidden_dangers": 0, "major_hidden_danger": False,
           "last_inspection": AS_OF, "people_500m": 0.0}
    row.update(values)
    return row


def score(*rows: dict, params: dict | None = None):
    return score_enterprise(pd.DataFrame(list(rows)), params or PARAMS, AS_OF)


def factor(result, name: str):
    return next(f for f in result.factors if f.definition.name == name)


def resolve(*entries: dict, params: dict | None = None) -> pd.DataFrame:
    frame = pd.DataFrame([{"row": 0, "chemical": None, "quantity_t": None, "hazard_category": None, **e}
                          for e in entries])
    return chemicals.resolve_entries(frame, params or GB)


# --- the GB 18218 tables ----------------------------------------------------------------------------------


def test_tables_load_with_one_row_per_name():
    """The shipped tables load; every name, alias and CAS number maps to one row; every Q is positive."""
    t = chemicals.load_tables()
    assert len(t.named) >= 80
    assert (t.named["q_t"] > 0).all() and (t.categories["q_t"] > 0).all()
    assert t.keys.index.is_unique
    assert set(t.keys) == set(t.named.index)
    assert set(t.named["q_conf"]) <= {"C", "R"} and set(t.named["beta_conf"]) <= {"C", "R"}


def test_categories_are_those_the_importer_accepts():
    """Table 2 has exactly the hazard categories geo/validate.py accepts (J1-J5, W1.1-W11)."""
    assert set(chemicals.load_tables().categories.index) == HAZARD_CATEGORIES


def test_confirmed_values_are_domain_md():
    """The [C] values of domain.md §1 (Q, Table 3 β, Table 4 β) are in the tables and tagged C."""
    named = chemicals.load_tables().named.set_index("name")
    for name, q in {"氨": 10, "氯": 5, "碳酰氯": 0.3, "液化石油气(含丙烷、丁烷及其混合物)": 50,
                    "汽油(乙醇汽油、甲醇汽油)": 200, "甲醇": 500}.items():
        assert named.loc[name, "q_t"] == q and named.loc[name, "q_conf"] == "C", name
    table3 = {"一氧化碳": 2, "二氧化硫": 2, "氨": 2, "环氧乙烷": 2, "氯化氢(无水)": 3, "溴甲烷": 3, "氯": 4,
              "硫化氢": 5, "氟化氢": 5, "二氧化氮": 10, "氰化氢": 10, "碳酰氯": 20, "磷化氢": 20, "异氰酸甲酯": 20}
    for name, beta in table3.items():
        assert named.loc[name, "beta"] == beta and named.loc[name, "beta_conf"] == "C", name
    assert int(named["beta"].notna().sum()) == len(table3)
    cats = chemicals.load_tables().categories["beta"]
    assert cats["J1"] == 4 and cats[["J3", "J4", "W1.1", "W1.2", "W1.3"]].eq(2).all()
    assert cats[["W2", "W5.1", "W6.1", "W7.1"]].eq(1.5).all()
    assert cats.drop(["J1", "J3", "J4", "W1.1", "W1.2", "W1.3", "W2", "W5.1", "W6.1", "W7.1"]).eq(1).all()


@pytest.mark.parametrize(("spelling", "q", "beta", "ref"), [
    ("液氨", 10, 2, "T1-1"),
    ("氯气", 5, 4, "T1-12"),
    (" Cl2 ", 5, 4, "T1-12"),
    ("ＬＰＧ", 50, 1.5, "T1-52"),  # full-width letters
    ("丙烷", 50, 1.5, "T1-52"),
    ("光气", 0.3, 20, "T1-6"),
    ("７６６４－４１－７", 10, 2, "T1-1"),  # CAS number in full-width digits
    ("甲醇（工业级）", 500, 1, "T1-65"),  # qualifier in brackets dropped on the second try
    ("天然气", 50, 1.5, "T1-49"),
    ("煤气", 20, 2, "T1-13"),  # toxic gas not in Table 3: β = beta_toxic_gas_unlisted
    ("砷化氢", 1, 4, "T1-14"),  # highly toxic gas not in Table 3
    ("H₂S", 5, 5, "T1-10"),  # subscript digits
    ("gasoline", 200, 1, "T1-66"),
    ("丙烯", 10, 1.5, "T2-W2"),  # not in Table 1: its W2 category
])
def test_names_resolve_by_alias_and_normalisation(spelling, q, beta, ref):
    """Names, aliases, CAS numbers, full-width and bracketed spellings resolve to the right Q and β."""
    r = resolve({"chemical": spelling, "quantity_t": 1.0}).iloc[0]
    assert (r["q_crit_t"], r["beta"], r["ref"], r["match"], r["assumed"]) == (q, beta, ref, "name", False)


def test_unlisted_chemical_resolves_by_its_category():
    """A chemical not in Table 1 with hazard_category W2 takes the Table 2 Q (10 t) and Table 4 β (1.5)."""
    r = resolve({"chemical": "某混合燃气", "quantity_t": 5.0, "hazard_category": " w2 "}).iloc[0]
    assert (r["q_crit_t"], r["beta"], r["ratio"], r["match"], r["assumed"]) == (10, 1.5, 0.5, "category", False)


def test_unknown_chemical_takes_the_assumed_q_and_beta():
    """A chemical neither named nor categorised (or with a bogus category) gets unknown_chemical_q_t/β, assumed."""
    r = resolve({"chemical": "某溶剂", "quantity_t": 5.0}, {"chemical": "某溶剂", "quantity_t": 5.0,
                                                            "hazard_category": "X9"})
    assert list(r["q_crit_t"]) == [GB["unknown_chemical_q_t"]] * 2
    assert list(r["beta"]) == [GB["unknown_chemical_beta"]] * 2
    assert list(r["match"]) == ["unknown"] * 2 and r["assumed"].all()


def test_named_chemical_beta_is_the_larger_of_its_categories():
    """硝酸铵 (unqualified → smallest Q, 5 t) with entry category W1.1 takes β 2; a Table 3 β is never overridden."""
    r = resolve({"chemical": "硝酸铵", "quantity_t": 5.0, "hazard_category": "W1.1"},
                {"chemical": "氨", "quantity_t": 5.0, "hazard_category": "J1"})
    assert list(r["q_crit_t"]) == [5, 10] and list(r["beta"]) == [2, 2]


def test_missing_quantity_is_assumed_to_reach_q():
    """An entry without a usable quantity counts q/Q = missing_quantity_q_ratio and is flagged assumed."""
    r = resolve({"chemical": "氯"}, {"chemical": "氯", "quantity_t": -3}, {"chemical": "氯", "quantity_t": "abc"})
    assert list(r["ratio"]) == [GB["missing_quantity_q_ratio"]] * 3 and r["assumed"].all()


def test_inventory_forms_accepted():
    """Lists, JSON text, 'name:t;name:t' text, arrays and single dicts give the same sums; bad text is unreadable."""
    entries = [{"chemical": "氯", "quantity_t": 10.0}, {"chemical": "液氨", "quantity_t": 100.0}]
    values = pd.Series([entries, json.dumps(entries, ensure_ascii=False), "氯:10；液氨:100", np.array(entries),
                        None, "[not json", [], {"chemical": "氯", "quantity_t": 10.0}])
    sums = chemicals.inventory_sums(values, GB)
    assert list(sums["s_value"]) == [12, 12, 12, 12, 0, 0, 0, 2]
    assert list(sums["beta_sum"]) == [28, 28, 28, 28, 0, 0, 0, 8]
    assert list(sums["recorded"]) == [True] * 4 + [False, False, True, True]
    assert list(sums["unreadable"]) == [False] * 5 + [True, False, False]


# --- the rule -------------------------------------------------------------------------------------------------


def test_worked_example_chlorine_and_ammonia():
    """Worked example: 10 t Cl₂ + 100 t NH₃, 120 residents → S 12, R 56 (二级), score 65.5 (orange).

    GB 18218 (domain.md §1):
        S = 10/5 + 100/10 = 2 + 10 = 12 >= 1 → major hazard
        α = 2.0 (120 >= 100 people within 500 m)
        R = 2.0 × (4·10/5 + 2·100/10) = 2.0 × (8 + 20) = 2.0 × 28 = 56 → 50 <= R < 100 → 二级 (level 2)
    Points (enterprise.toml):
        gb18218_hazard      level_2_points                          = 33
        industry            hazardous_chemicals                     = 12
        violations_12m      2 × 3                                   =  6
        open_hidden_dangers 3 × 2.5                                 =  7.5
        inspection_age      365 days = 1 year × 5 per year          =  5
        flexible_workers    0.25 × 8                                =  2
        subtotal                                                    = 65.5
        operating_status    × 1.0 (operating)                       → 65.5
    65.5 >= 50 (orange) and < 70 (red) → orange; no 重大事故隐患 → no direct red.
    """
    row = enterprise(industry="hazardous_chemicals", people_500m=120, violations_12m=2, open_hidden_dangers=3,
                     last_inspection=dt.date(2025, 6, 30), flexible_worker_share=0.25,
                     chemicals=[{"chemical": "氯", "quantity_t": 10}, {"chemical": "氨", "quantity_t": 100}])
    r = score(row)
    assert r.extra["s_value"].iloc[0] == pytest.approx(12.0)
    assert r.extra["alpha"].iloc[0] == 2.0
    assert r.extra["r_value"].iloc[0] == pytest.approx(56.0)
    assert bool(r.extra["major_hazard"].iloc[0]) and r.extra["major_hazard_level"].iloc[0] == 2
    points = {f.definition.name: f.points.iloc[0] for f in r.factors}
    assert points == pytest.approx({"gb18218_hazard": 33, "industry": 12, "violations_12m": 6,
                                    "open_hidden_dangers": 7.5, "overdue_hidden_dangers": 0, "inspection_age": 5,
                                    "flexible_workers": 2,
                                    "operating_status": 0})
    assert r.score.iloc[0] == pytest.approx(65.5)
    assert not any(f.assumed.iloc[0] for f in r.factors)
    assert list(final_level(r.score, r.direct_red, MODEL["levels"])) == ["orange"]


def test_compliant_small_site_is_blue_and_worst_case_is_red():
    """A compliant machinery works without chemicals scores 3 (blue); a worst-case chemical site reaches 100 (red)."""
    worst = enterprise(industry="hazardous_chemicals", chemicals=[{"chemical": "光气", "quantity_t": 30}],
                       people_500m=5000, violations_12m=20, open_hidden_dangers=20, last_inspection=None,
                       flexible_worker_share=1.0)
    r = score(enterprise(), worst)
    assert list(r.score) == pytest.approx([3.0, 100.0])
    assert list(final_level(r.score, r.direct_red, MODEL["levels"])) == ["blue", "red"]
    assert r.extra["major_hazard_level"].iloc[1] == 1


@pytest.mark.parametrize(("people", "alpha"), [(0, 0.5), (0.3, 1.0), (1, 1.0), (29, 1.0), (30, 1.2), (49, 1.2),
                                               (50, 1.5), (99, 1.5), (100, 2.0), (1e6, 2.0)])
def test_alpha_bands(people, alpha):
    """α follows domain.md §1 (≥100 2.0, 50-99 1.5, 30-49 1.2, 1-29 1.0, 0 0.5); fractions round up."""
    assert score(enterprise(people_500m=people)).extra["alpha"].iloc[0] == alpha


@pytest.mark.parametrize(("tonnes_cl2", "level"), [(6.25, 4), (24.9, 4), (25, 3), (125, 2), (249.9, 2), (250, 1)])
def test_major_hazard_levels_from_r(tonnes_cl2, level):
    """Chlorine with 0 residents (α 0.5, β 4): R = 0.5·4·q/5 = 0.4q; bounds R 10, 50, 100 give levels 3, 2, 1."""
    r = score(enterprise(chemicals=[{"chemical": "氯", "quantity_t": tonnes_cl2}]))
    assert r.extra["r_value"].iloc[0] == pytest.approx(0.4 * tonnes_cl2)
    assert r.extra["major_hazard_level"].iloc[0] == level


def test_below_the_major_hazard_line_points_grow_with_r():
    """5 t ammonia, 120 residents: S = 0.5 (no major hazard), R = 2·2·0.5 = 2 → 15 × 2/4 = 7.5 points."""
    r = score(enterprise(chemicals=[{"chemical": "氨", "quantity_t": 5}], people_500m=120))
    assert not r.extra["major_hazard"].iloc[0] and pd.isna(r.extra["major_hazard_level"].iloc[0])
    assert factor(r, "gb18218_hazard").points.iloc[0] == pytest.approx(7.5)


def test_missing_values_are_conservative_and_flagged():
    """All optional attributes missing at a chemicals site: every factor assumed, values as configured.

    inventory assumed S = 0.5, Σβq/Q = 0.5 × 2 = 1; α unknown → 2.0; R = 2 → 15 × 2/4 = 7.5 points
    industry 12 + violations 3 × 3 = 9 + dangers 3 × 2.5 = 7.5 + never inspected 10 + share 0.5 × 8 = 4
    → 7.5 + 12 + 9 + 7.5 + 10 + 4 = 50, status assumed operating (× 1).
    """
    row = {"industry": "hazardous_chemicals", "chemicals": None, "status": None, "employees": None,
           "flexible_worker_share": np.nan, "violations_12m": None, "open_hidden_dangers": pd.NA,
           "major_hidden_danger": None, "last_inspection": None, "people_500m": np.nan}
    r = score(row)
    # (overdue dangers come from the records only: without records they score 0, which is not an assumption)
    assert all(bool(f.assumed.iloc[0]) for f in r.factors
               if f.definition.name not in ("industry", "overdue_hidden_dangers"))
    assert r.extra["inventory_assumed"].iloc[0] and r.extra["alpha"].iloc[0] == 2.0
    assert r.extra["s_value"].iloc[0] == 0.5 and r.extra["r_value"].iloc[0] == 2.0
    assert r.score.iloc[0] == pytest.approx(50.0)
    assert r.direct_red.iloc[0] is None


def test_missing_industry_scores_the_maximum():
    """A missing or unrecognised industry scores the `unknown` points and is flagged assumed."""
    r = score(enterprise(industry=None), enterprise(industry="spaceport"))
    f = factor(r, "industry")
    assert list(f.points) == [PARAMS["industry"]["unknown"]] * 2 and f.assumed.all()


def test_missing_inventory_assumed_only_where_chemicals_are_expected():
    """No inventory at a chemicals site is assumed (S 0.5); at a machinery works it means none, not assumed."""
    r = score(enterprise(industry="hazardous_chemicals", chemicals=None), enterprise(chemicals=None),
              enterprise(chemicals="[broken"))
    assert list(r.extra["inventory_assumed"]) == [True, False, True]
    assert list(r.extra["s_value"]) == [0.5, 0.0, 0.5]


def test_unknown_people_use_the_highest_alpha_only_where_there_is_an_inventory():
    """people_500m NaN → α 2.0; the hazard factor is flagged assumed only when chemicals are held."""
    r = score(enterprise(people_500m=np.nan, chemicals=[{"chemical": "氯", "quantity_t": 5}]),
              enterprise(people_500m=np.nan))
    assert list(r.extra["alpha"]) == [2.0, 2.0]
    assert list(factor(r, "gb18218_hazard").assumed) == [True, False]
    assert r.extra["r_value"].iloc[0] == pytest.approx(8.0)  # 2.0 × 4 × 5/5


def test_major_hidden_danger_is_direct_red():
    """major_hidden_danger true → direct red whatever the score (domain.md §2); false or missing → none."""
    r = score(enterprise(major_hidden_danger=True), enterprise(major_hidden_danger=np.True_),
              enterprise(major_hidden_danger=False), enterprise(major_hidden_danger=None),
              enterprise(major_hidden_danger=True, status="closed"))
    assert list(r.direct_red) == [DIRECT_RED_MAJOR_HIDDEN_DANGER] * 2 + [None, None, DIRECT_RED_MAJOR_HIDDEN_DANGER]
    assert list(final_level(r.score, r.direct_red, MODEL["levels"])) == ["red", "red", "blue", "blue", "red"]


def test_status_multiplier():
    """Suspended × 0.7, closed × 0.3, under construction × 0.8; the status factor shows the change as points."""
    base = dict(industry="hazardous_chemicals", violations_12m=5, open_hidden_dangers=6)  # 12 + 15 + 15 = 42
    r = score(*(enterprise(status=s, **base) for s in ("operating", "suspended", "closed", "under_construction")))
    assert list(r.score) == pytest.approx([42.0, 29.4, 12.6, 33.6])
    assert list(factor(r, "operating_status").points) == pytest.approx([0.0, -12.6, -29.4, -8.4])


def test_inspection_age():
    """Two years or more → 10 points (cap); a future date → 0; never inspected → 10, assumed."""
    r = score(enterprise(last_inspection=dt.date(2024, 6, 30)), enterprise(last_inspection=dt.date(2027, 1, 1)),
              enterprise(last_inspection=None), enterprise(last_inspection=pd.Timestamp("2026-03-31")))
    f = factor(r, "inspection_age")
    assert list(f.points) == pytest.approx([10.0, 0.0, 10.0, 5 * 91 / 365])
    assert list(f.assumed) == [False, False, True, False]


def test_input_dtypes():
    """datetime64 dates, Int64 counts with NA, object booleans with None and missing columns are all accepted."""
    frame = pd.DataFrame({"industry": ["machinery", "machinery"],
                          "violations_12m": pd.array([2, None], dtype="Int64"),
                          "last_inspection": pd.to_datetime(["2026-06-30", None]),
                          "major_hidden_danger": np.array([None, True], dtype=object)}, index=["a", "b"])
    r = score_enterprise(frame, PARAMS, AS_OF)
    assert list(r.score.index) == ["a", "b"]
    assert list(factor(r, "violations_12m").value) == [2.0, PARAMS["violations"]["assumed_count"]]
    assert list(r.direct_red.notna()) == [False, True]


def test_empty_frame():
    """An empty frame gives empty results."""
    r = score_enterprise(pd.DataFrame(columns=ENTERPRISE.attribute_names + ["people_500m"]), PARAMS, AS_OF)
    assert len(r.score) == 0 and all(len(s) == 0 for s in r.extra.values())


def test_changing_parameters_changes_the_result():
    """Raising industry points, α or the unknown-chemical Q in params changes the score as configured."""
    row = enterprise(industry="hazardous_chemicals", people_500m=10,
                     chemicals=[{"chemical": "某溶剂", "quantity_t": 5}])  # S = 5/10 = 0.5
    base = score(row)
    params = copy.deepcopy(PARAMS)
    params["industry"]["points"]["hazardous_chemicals"] += 5
    assert score(row, params=params).score.iloc[0] == pytest.approx(base.score.iloc[0] + 5)
    params = copy.deepcopy(PARAMS)
    params["gb18218"]["unknown_chemical_q_t"] = 2.5  # S = 5/2.5 = 2 → major hazard
    r = score(row, params=params)
    assert r.extra["s_value"].iloc[0] == 2.0 and r.extra["major_hazard"].iloc[0]
    params = copy.deepcopy(PARAMS)
    params["gb18218"]["alpha_bands"][3] = [1.0, 1.1]  # 1-29 people → α 1.1
    assert score(row, params=params).extra["r_value"].iloc[0] == pytest.approx(1.1 * 2 * 5 / 10)


def test_parameters_that_break_monotonicity_are_rejected():
    """below_major_points_max above level_4_points (crossing S = 1 would lower the score) raises ValueError."""
    params = copy.deepcopy(PARAMS)
    params["hazard"]["below_major_points_max"] = 25.0
    with pytest.raises(ValueError, match="below_major_points_max"):
        score(enterprise(), params=params)


def test_configuration_covers_every_industry_and_status():
    """[enterprise] of the model file gives points to every industry and a multiplier to every status."""
    assert set(PARAMS["industry"]["points"]) == set(INDUSTRIES)
    assert set(PARAMS["status"]["multipliers"]) == set(OPERATING_STATUS)


# --- monotonicity (hypothesis) ----------------------------------------------------------------------------

NAMES = ["氯", "液氨", "光气", "液化石油气", "汽油", "甲醇", "煤气", "硫化氢", "某溶剂", "苯"]
entries_st = st.lists(st.fixed_dictionaries(
    {"chemical": st.sampled_from(NAMES), "quantity_t": st.floats(0, 500)},
    optional={"hazard_category": st.sampled_from(["W2", "J1", "W5.4"])}), max_size=4)
maybe = st.none()
row_st = st.fixed_dictionaries({
    "industry": st.sampled_from(list(INDUSTRIES)) | maybe,
    "chemicals": entries_st | maybe,
    "status": st.sampled_from(list(OPERATING_STATUS)) | maybe,
    "flexible_worker_share": st.floats(0, 1) | st.just(np.nan),
    "violations_12m": st.integers(0, 30) | maybe,
    "open_hidden_dangers": st.integers(0, 30) | maybe,
    "major_hidden_danger": st.booleans() | maybe,
    "last_inspection": st.dates(dt.date(2020, 1, 1), dt.date(2027, 1, 1)) | maybe,
    "people_500m": st.floats(0, 10_000) | st.just(np.nan),
})


def assert_not_lower(before: dict, after: dict) -> None:
    r = score(before, after)
    assert r.score.iloc[1] >= r.score.iloc[0] - 1e-9, (before, after, list(r.score))


@settings(max_examples=200, deadline=None)
@given(row_st, st.floats(0, 10_000))
def test_more_people_never_lowers_the_score(row, extra_people):
    """More residents within 500 m never lowers the score."""
    people = 0.0 if np.isnan(row["people_500m"]) else row["people_500m"]
    assert_not_lower({**row, "people_500m": people}, {**row, "people_500m": people + extra_people})


@settings(max_examples=200, deadline=None)
@given(row_st, entries_st.filter(bool), st.integers(0, 3), st.floats(0, 1000), entries_st)
def test_more_of_any_chemical_never_lowers_the_score(row, inventory, which, extra_t, added):
    """More of any chemical on an inventory, or more entries on it, never lowers the score."""
    more = copy.deepcopy(inventory)
    k = which % len(more)
    more[k]["quantity_t"] = more[k]["quantity_t"] + extra_t
    assert_not_lower({**row, "chemicals": inventory}, {**row, "chemicals": more + added})


@settings(max_examples=200, deadline=None)
@given(row_st, st.integers(0, 30), st.integers(0, 30))
def test_more_violations_or_open_dangers_never_lower_the_score(row, more_violations, more_dangers):
    """More violations in 12 months or more open hidden dangers never lower the score."""
    v = row["violations_12m"] or 0
    d = row["open_hidden_dangers"] or 0
    before = {**row, "violations_12m": v, "open_hidden_dangers": d}
    assert_not_lower(before, {**before, "violations_12m": v + more_violations})
    assert_not_lower(before, {**before, "open_hidden_dangers": d + more_dangers})


@settings(max_examples=200, deadline=None)
@given(row_st, st.dates(dt.date(2015, 1, 1), dt.date(2027, 1, 1)), st.integers(0, 4000))
def test_older_inspection_never_lowers_the_score(row, last, days_older):
    """An older last inspection, or none on record, never lowers the score."""
    before = {**row, "last_inspection": last}
    assert_not_lower(before, {**row, "last_inspection": last - dt.timedelta(days=days_older)})
    assert_not_lower(before, {**row, "last_inspection": None})
