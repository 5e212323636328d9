"""The siting red-line rules of a proposed hazardous-chemicals project: its GB 18218 result, the Pipeline
Protection Law zones, the GB 36894 screening and the findings.  Pure: the targets around the site come in as
rows (``geo.siting.targets`` finds them in PostGIS), the report goes out (``geo.siting.report``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from geo.risk.chemicals import MATCH_NAME, load_tables, normalise_names
from geo.risk.enterprise import alpha_from_people, major_hazard_level
from geo.siting.report import (
    GB18218,
    GB36894,
    ChemicalOut,
    ClassFound,
    ClassTarget,
    Finding,
    MajorHazardTarget,
    PipelineTarget,
    Project,
    ScreeningClass,
    SettlementTarget,
    SitingReport,
    Targets,
    VenueTarget,
    Why,
    Zone,
)
from geo.siting.targets import Surroundings

MAX_FINDINGS_EACH = 5  # sentences per kind of target; the rest are counted in one


GB36894_NOTE_ZH = ("GB 36894-2018《危险化学品生产装置和储存设施风险基准》规定的是个人风险和社会风险基准，不是固定的外部"
                   "安全防护距离；外部安全防护距离须按GB/T 37243-2019用定量风险评价（涉及爆炸物时用事故后果法）确定。"
                   "下列各类防护目标的筛查半径是riskmap的假设（可在风险模型[siting]中配置），不是标准规定。")
GB36894_NOTE_EN = ("GB 36894-2018 sets individual- and societal-risk criteria, not fixed external safety distances: "
                   "the distance follows from a quantitative risk assessment (the consequence method for explosives) "
                   "under GB/T 37243-2019. The screening radius per target class below is riskmap's assumption "
                   "(configurable in the risk model's [siting] section), not a distance from the standard.")
GB36894_SOURCE = ("GB 36894-2018 §3.1.1 classes (domain.md §7 addendum); individual-risk limits confirmed for the "
                  "2014 trial criteria, their mapping onto the 2018 sub-classes inferred (domain.md §7)")

# GB 36894 protected-target classes: label, members, individual-risk limits per year for new / in-service plants
# (domain.md §7).
GB36894_CLASSES: dict[str, dict[str, Any]] = {
    "high_sensitivity": {"label": "高敏感防护目标", "members": "schools, hospitals, kindergartens, nursing homes, "
                         "prisons", "new": 3e-7, "existing": 3e-6},
    "important": {"label": "重要防护目标", "members": "military, cultural relics, government; religious and "
                  "exhibition venues [R]", "new": 3e-7, "existing": 3e-6},
    "general_1": {"label": "一般防护目标（一类）", "members": ">= 100 people: large residential areas, stadiums, hubs",
                  "new": 3e-7, "existing": 3e-6},
    "general_2": {"label": "一般防护目标（二类）", "members": "30-100 people: housing, hotels, offices, shops",
                  "new": 3e-6, "existing": 1e-5},
    "general_3": {"label": "一般防护目标（三类）", "members": "< 30 people", "new": 1e-5, "existing": 3e-5},
}

LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
VENUE_NAMES = {"hospital": ("医院", "hospital"), "school": ("学校", "school"),
               "kindergarten": ("幼儿园", "kindergarten"), "nursing_home": ("养老院", "nursing home"),
               "mall": ("商场", "mall"), "market": ("市场", "market"), "hotel": ("旅馆", "hotel"),
               "entertainment": ("娱乐场所", "entertainment venue"), "cinema": ("影剧院", "cinema"),
               "stadium": ("体育场馆", "stadium"), "exhibition": ("展览场馆", "exhibition hall"),
               "transport_hub": ("交通枢纽", "transport hub"), "religious": ("宗教场所", "religious site"),
               "square": ("广场", "square"), "other": ("人员密集场所", "crowded venue")}
MEDIUM_NAMES = {"natural_gas": ("天然气", "gas"), "crude_oil": ("原油", "crude-oil"),
                "refined_oil": ("成品油", "refined-oil"), "hazardous_chemical": ("危险化学品", "chemical")}

GB18218_SOURCE = "GB 18218-2018 (domain.md §1)"
PIPELINE_LAW = "Oil and Gas Pipeline Protection Law (2010), domain.md §4"


def siting_params(model: dict) -> dict[str, Any]:
    """The [siting] section of the risk model (geo/risk/model.toml documents each value)."""
    from geo.risk.config import ModelConfigError

    own = model.get("siting")
    keys = ("max_area_km2", "important_venue_types", "general_1_min_people", "general_2_min_people", "screening_m")
    missing = [k for k in keys if own is None or k not in own]
    if missing:
        raise ModelConfigError(f"the risk model has no [siting] {', '.join(missing)}: copy the [siting] section of "
                               "the shipped geo/risk/model.toml into it")
    params = dict(own)
    params["screening_m"] = {k: float(v) for k, v in own["screening_m"].items()}
    return params



def _table1_row(chemical: str, ref: str) -> pd.Series | None:
    """The Table 1 row a chemical matched by name (for its name and CAS number): the row its exact spelling
    keys, else the only row with its reference; None when that is ambiguous."""
    tables = load_tables()
    key = normalise_names(pd.Series([chemical])).iloc[0]
    row = tables.keys.get(key) if isinstance(key, str) else None
    if row is not None and tables.named.at[row, "ref"] == ref:
        return tables.named.loc[row]
    same_ref = tables.named[tables.named["ref"] == ref]
    return same_ref.iloc[0] if len(same_ref) == 1 else None


def gb18218_result(resolved: pd.DataFrame, sums: pd.Series, people: float, model: dict) -> GB18218:
    g = model["enterprise"]["gb18218"]
    alpha = float(alpha_from_people(np.array([people], dtype=float), g)[0][0])
    s_value, beta_sum = float(sums["s_value"]), float(sums["beta_sum"])
    r_value = alpha * beta_sum
    major = s_value >= float(g["major_hazard_min_s"])
    level = int(major_hazard_level(np.array([r_value]), g)[0]) if major else None
    chemicals = []
    for row in resolved.itertuples(index=False):
        table_row = _table1_row(row.chemical, row.ref) if row.match == MATCH_NAME else None
        chemicals.append(ChemicalOut(
            name=row.chemical, tonnes=float(row.quantity_t),
            hazard_category=None if pd.isna(row.hazard_category) else row.hazard_category,
            match=row.match, ref=row.ref,
            table_name=None if table_row is None else table_row["name"],
            cas=None if table_row is None else (table_row["cas"] or None),
            q_t=float(row.q_crit_t), beta=float(row.beta), q_ratio=round(float(row.ratio), 6),
            beta_q_ratio=round(float(row.beta * row.ratio), 6)))
    return GB18218(people_500m=round(people, 2), alpha_radius_m=float(model["context"]["alpha_radius_m"]),
                   alpha=alpha, s_value=round(s_value, 6), beta_sum=round(beta_sum, 6), r_value=round(r_value, 6),
                   major_hazard=bool(major), major_hazard_level=level,
                   level_name=LEVEL_NAMES.get(level) if level else None, chemicals=chemicals,
                   source=GB18218_SOURCE + "; Q and β from geo/risk/tables, α and levels from the risk model "
                                           "[enterprise.gb18218]")



def _general_class(people: float | None, p: dict) -> str:
    if people is None or people >= float(p["general_1_min_people"]):
        return "general_1"
    return "general_2" if people >= float(p["general_2_min_people"]) else "general_3"


def pipeline_zone(distance_m: float, ctx: dict) -> Zone:
    """The Pipeline Protection Law zone a distance from the centreline falls in (domain.md §4)."""
    z5, z50, z200 = float(ctx["zone_5_m"]), float(ctx["zone_50_m"]), float(ctx["corridor_m"])
    if distance_m <= z5:
        return Zone(code="5m", limit_m=z5, article="Art. 30", article_zh="第三十条",
                    rule_zh=f"管道中心线两侧各{z5:g}米内禁止修建任何建筑物、构筑物，禁止取土、用火、堆放重物、机械挖掘等",
                    rule_en=f"within {z5:g} m of the centreline no building or structure may be erected, and "
                            "digging, fire, heavy stacking and mechanical excavation are forbidden")
    if distance_m <= z50:
        return Zone(code="50m", limit_m=z50, article="Art. 35(2)", article_zh="第三十五条第二项",
                    rule_zh=f"{z5:g}至{z50:g}米内新建、改建、扩建道路、铁路、河渠，架设电力线路，埋设电缆光缆，设置接地体须经许可",
                    rule_en=f"within {z5:g}-{z50:g} m new roads, railways, canals, power lines, buried cables and "
                            "earthing need a permit from the county pipeline-protection department")
    return Zone(code="200m", limit_m=z200, article="Art. 35(3)", article_zh="第三十五条第三项",
                rule_zh=f"{z200:g}米内爆破、地震法勘探、工程挖掘、工程钻探、采矿须经许可",
                rule_en=f"within {z200:g} m blasting, seismic survey, excavation, drilling and mining need a permit")


def _m(d: float) -> str:
    return f"{d:.0f} m"


def siting_report(name: str | None, geometry: dict[str, Any], area_m2: float | None, resolved: pd.DataFrame,
                  sums: pd.Series, found: Surroundings, model: dict) -> SitingReport:
    """The report of a project (``geometry`` as given, ``area_m2`` of a polygon, its chemicals ``resolved`` with their
    ``sums`` by ``geo.siting.inputs.resolve_chemicals``) among the targets ``found`` around it."""
    ctx = model["context"]
    g = model["enterprise"]["gb18218"]
    p = siting_params(model)
    alpha_r = float(ctx["alpha_radius_m"])
    screening = p["screening_m"]
    vulnerable_types = set(model["venue"]["vulnerability"]["points"])
    important_types = set(p["important_venue_types"])
    settlements, venues = found.settlements, found.venues
    pipelines, hazards = found.pipelines, found.major_hazards

    people = float(sum(s["people"] or 0.0 for s in settlements if s["counted"]))
    gb = gb18218_result(resolved, sums, people, model)

    ring = Why(rule="GB 18218 500 m ring (α: resident people within 500 m outside the site)", limit_m=alpha_r,
               source=GB18218_SOURCE)
    for s in settlements:
        s["gb36894_class"] = _general_class(s["people"], p)
    for v in venues:
        v["vulnerable"] = v["venue_type"] in vulnerable_types
        v["gb36894_class"] = ("high_sensitivity" if v["vulnerable"] else "important" if v["venue_type"]
                              in important_types else _general_class(v["occupancy"], p))

    def base_item(kind: str, r: dict, why: Why) -> dict:
        return {"kind": kind, "id": r["id"], "source_id": r["source_id"], "name": r["name"],
                "distance_m": round(float(r["distance_m"]), 2), "why": why}

    targets = Targets(
        settlements=[SettlementTarget(**base_item("settlement", s, ring), people=round(float(s["people"]), 2),
                                      population=s["population"], households=s["households"],
                                      counted_in_alpha=bool(s["counted"]), inside_site=bool(s["inside_site"]),
                                      gb36894_class=s["gb36894_class"])
                     for s in settlements if s["in_ring"]],
        venues=[VenueTarget(**base_item("venue", v, Why(
                    rule="GB 18218 500 m ring; crowded venue" + (" with vulnerable occupants (GB 32167 特定场所Ⅰ, "
                                                                 "GB 36894 高敏感)" if v["vulnerable"] else ""),
                    limit_m=alpha_r, source=GB18218_SOURCE + "; domain.md §5, §7")),
                    venue_type=v["venue_type"], vulnerable=v["vulnerable"], occupancy=v["occupancy"],
                    status=v["status"], inside_site=bool(v["inside_site"]), gb36894_class=v["gb36894_class"])
                for v in venues if v["in_ring"]],
        pipelines=[],
        major_hazards=[MajorHazardTarget(**base_item("enterprise", e, Why(
                           rule="existing GB 18218 major hazard within the 500 m ring (domino and cumulative risk)",
                           limit_m=alpha_r, source=GB18218_SOURCE)),
                           industry=e["industry"], s_value=e["s_value"], r_value=e["r_value"],
                           major_hazard_level=e["major_hazard_level"], level=e["level"])
                       for e in hazards],
    )
    for r in pipelines:
        zone = pipeline_zone(float(r["distance_m"]), ctx)
        targets.pipelines.append(PipelineTarget(
            **base_item("pipeline", r, Why(rule=f"Pipeline Protection Law {zone.article}: {zone.code} zone",
                                           limit_m=zone.limit_m, source=PIPELINE_LAW)),
            medium=r["medium"], diameter_mm=r["diameter_mm"], pressure_mpa=r["pressure_mpa"], operator=r["operator"],
            status=r["status"], crosses_site=bool(r["crosses_site"]), zone=zone))

    gb36894 = gb36894_section(settlements, venues, screening)
    project = Project(name=name, geometry=geometry, geometry_type=geometry["type"],
                      area_m2=round(area_m2, 1) if area_m2 is not None else None,
                      area_km2=round(area_m2 / 1e6, 4) if area_m2 is not None else None)
    findings = make_findings(project, gb, targets, gb36894, g)
    return SitingReport(project=project, gb18218=gb, targets=targets, gb36894=gb36894, findings=findings,
                        model_version=str(model["version"]))



def gb36894_section(settlements: list[dict], venues: list[dict], screening: dict[str, float]) -> GB36894:
    classes = [ScreeningClass(target_class=c, label=d["label"], members=d["members"], screening_m=screening[c],
                              individual_risk_new=d["new"], individual_risk_existing=d["existing"],
                              assumption="screening radius: riskmap's assumption, not a distance of GB 36894")
               for c, d in GB36894_CLASSES.items()]
    found = []
    candidates = [("settlement", s) for s in settlements] + [("venue", v) for v in venues]
    for c, d in GB36894_CLASSES.items():
        inside = sorted(((float(r["distance_m"]), kind, r) for kind, r in candidates
                         if r["gb36894_class"] == c and r["distance_m"] <= screening[c]),
                        key=lambda t: (t[0], t[1], t[2]["id"]))
        if inside:
            found.append(ClassFound(target_class=c, label=d["label"], screening_m=screening[c], count=len(inside),
                                    nearest_m=round(inside[0][0], 2),
                                    targets=[ClassTarget(kind=kind, id=r["id"], source_id=r["source_id"],
                                                         name=r["name"], distance_m=round(dist, 2))
                                             for dist, kind, r in inside]))
    return GB36894(standard="GB 36894-2018 危险化学品生产装置和储存设施风险基准", fixed_distances=False,
                   note_zh=GB36894_NOTE_ZH, note_en=GB36894_NOTE_EN, source=GB36894_SOURCE, classes=classes,
                   found=found)


def _capped(findings: list[Finding], code: str, zh_tail: str, en_tail: str) -> list[Finding]:
    """The first MAX_FINDINGS_EACH findings of a kind (nearest first), then one sentence counting the rest."""
    if len(findings) <= MAX_FINDINGS_EACH:
        return findings
    rest = len(findings) - MAX_FINDINGS_EACH
    return findings[:MAX_FINDINGS_EACH] + [Finding(code=f"{code}_more", zh=f"另有{rest}{zh_tail}（见targets）。",
                                                   en=f"{rest} more {en_tail} (see targets).")]


def make_findings(project: Project, gb: GB18218, targets: Targets, gb36894: GB36894, g: dict) -> list[Finding]:
    """Plain sentences, the most important first."""
    out: list[Finding] = []
    s_min = float(g["major_hazard_min_s"])
    if gb.major_hazard:
        out.append(Finding(
            code="major_hazard",
            zh=f"按GB 18218-2018，S = {gb.s_value:.2f} ≥ {s_min:g}，项目将构成危险化学品重大危险源；"
               f"R = {gb.r_value:.2f}（α = {gb.alpha:g}），为{gb.level_name}重大危险源。",
            en=f"Under GB 18218-2018 S = {gb.s_value:.2f} ≥ {s_min:g}: the project would be a major hazard "
               f"installation; R = {gb.r_value:.2f} (α = {gb.alpha:g}) makes it a level-{gb.major_hazard_level} "
               f"({gb.level_name}) major hazard."))
    else:
        out.append(Finding(
            code="not_major_hazard",
            zh=f"按GB 18218-2018，S = {gb.s_value:.2f} < {s_min:g}，项目不构成重大危险源（R = {gb.r_value:.2f}）。",
            en=f"Under GB 18218-2018 S = {gb.s_value:.2f} < {s_min:g}: the project would not be a major hazard "
               f"installation (R = {gb.r_value:.2f})."))
    out.append(Finding(
        code="people_500m",
        zh=f"项目边界外{gb.alpha_radius_m:g}米范围内常住人口约{gb.people_500m:.0f}人，α = {gb.alpha:g}。",
        en=f"About {gb.people_500m:.0f} residents live within {gb.alpha_radius_m:g} m outside the site: "
           f"α = {gb.alpha:g}."))
    if project.geometry_type == "Point":
        out.append(Finding(
            code="point_site",
            zh="项目以点位给出：各距离自该点量起，而非自厂区边界；请提交用地范围（面）以得到更准确的结果。",
            en="The project is given as a point: distances are measured from that point, not from the site "
               "boundary; submit the site polygon for a more accurate check."))
    inside = [s for s in targets.settlements if s.inside_site]
    out += _capped([Finding(code="settlement_inside_site",
                            zh=f"居民点“{s.name}”（约{s.people:.0f}人）位于项目用地范围内。",
                            en=f"The settlement {s.name} (about {s.people:.0f} people) lies inside the site.")
                    for s in inside], "settlement_inside_site", "处居民点位于项目用地范围内",
                   "settlements lie inside the site")
    vulnerable = []
    for v in targets.venues:
        if v.vulnerable:
            zh_type, en_type = VENUE_NAMES.get(v.venue_type, (v.venue_type, v.venue_type))
            if v.inside_site:
                where_zh, where_en = "位于项目用地范围内", "lies inside the site"
            else:
                where_zh = f"距项目{_m(v.distance_m)}，在{_m(v.why.limit_m)}范围内"
                where_en = f"lies {_m(v.distance_m)} away, within {_m(v.why.limit_m)}"
            vulnerable.append(Finding(code="vulnerable_venue", zh=f"{zh_type}“{v.name}”{where_zh}（高敏感防护目标）。",
                                      en=f"A {en_type}, {v.name}, {where_en} (a high-sensitivity protected target)."))
    out += _capped(vulnerable, "vulnerable_venue", "处医院、学校、幼儿园或养老院在500 m范围内",
                   "hospitals, schools, kindergartens or nursing homes lie within 500 m")
    pipes = []
    for pl in targets.pipelines:
        zh_medium, en_medium = MEDIUM_NAMES.get(pl.medium, (pl.medium, pl.medium))
        where_zh = "穿越项目用地" if pl.crosses_site else f"距项目{_m(pl.distance_m)}"
        where_en = "crosses the site" if pl.crosses_site else f"lies {_m(pl.distance_m)} away"
        pipes.append(Finding(
            code=f"pipeline_zone_{pl.zone.code}",
            zh=f"{zh_medium}管道“{pl.name}”{where_zh}，位于《石油天然气管道保护法》{pl.zone.limit_m:g}米范围内"
               f"（{pl.zone.article_zh}：{pl.zone.rule_zh}）。",
            en=f"A {en_medium} pipeline, {pl.name}, {where_en}, inside the {pl.zone.limit_m:g} m zone of the Oil and "
               f"Gas Pipeline Protection Law ({pl.zone.article}: {pl.zone.rule_en})."))
    out += _capped(pipes, "pipelines", "条管道在200 m范围内", "pipelines lie within 200 m")
    if targets.pipelines:
        out.append(Finding(
            code="pipeline_separation",
            zh="《石油天然气管道保护法》第三十一条：在管道附近建设易燃易爆物品生产、储存场所，须符合国家技术规范规定的安全距离。",
            en="Pipeline Protection Law Art. 31: a site producing or storing flammable or explosive goods near a "
               "pipeline must keep the separation distances of the mandatory technical codes."))
    if targets.major_hazards:
        e = targets.major_hazards[0]
        out.append(Finding(
            code="major_hazards_500m",
            zh=f"{_m(e.why.limit_m)}范围内有{len(targets.major_hazards)}处已有重大危险源，最近的“{e.name}”距项目"
               f"{_m(e.distance_m)}。",
            en=f"{len(targets.major_hazards)} existing major hazard installation(s) lie within {_m(e.why.limit_m)}; "
               f"the nearest, {e.name}, is {_m(e.distance_m)} away."))
    if gb36894.found:
        parts_zh = "；".join(f"{c.label}{c.count}处（{_m(c.screening_m)}内，最近{_m(c.nearest_m)}）"
                            for c in gb36894.found)
        parts_en = "; ".join(f"{c.count} {c.target_class.replace('_', ' ')} (within {_m(c.screening_m)}, nearest "
                             f"{_m(c.nearest_m)})" for c in gb36894.found)
        out.append(Finding(
            code="gb36894_targets",
            zh="GB 36894-2018只规定风险基准、不规定固定距离，须经定量风险评价确定外部安全防护距离；"
               f"筛查范围内的防护目标：{parts_zh}。",
            en="GB 36894-2018 gives risk criteria, not fixed distances: a quantitative risk assessment must set the "
               f"external safety distance. Protected targets within the screening radii: {parts_en}."))
    else:
        out.append(Finding(
            code="gb36894_targets",
            zh="GB 36894-2018只规定风险基准、不规定固定距离；筛查范围内未发现防护目标。",
            en="GB 36894-2018 gives risk criteria, not fixed distances; no protected target lies within the "
               "screening radii."))
    return out
