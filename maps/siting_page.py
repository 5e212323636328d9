"""The printable page of a siting check (``riskmap siting-check --out FILE.html``): the project, its GB 18218
result with the chemicals behind it, the findings, the targets around it and the GB 36894 screening.  One
self-contained HTML file: no script, no stylesheet or image to fetch, so it opens anywhere and prints as it is."""

from __future__ import annotations

import html

from geo.siting.report import SitingReport
from maps.main_map import LEVEL_COLOURS, LEVEL_LABELS

TEXT = {
    "zh": {"title": "项目选址红线核查", "unnamed": "未命名项目", "project": "项目", "geometry": "用地", "area": "面积",
           "point": "点位（各距离自该点量起）", "polygon": "用地范围（面）", "model": "风险模型版本",
           "findings": "结论", "gb18218": "GB 18218-2018 重大危险源辨识",
           "people": "500 m 内常住人口", "alpha": "α", "s": "S = Σq/Q", "beta_sum": "Σβq/Q", "r": "R = α·Σβq/Q",
           "major": "重大危险源", "yes": "是", "no": "否", "level": "级别", "chemicals": "危险化学品",
           "name": "名称", "tonnes": "数量 (t)", "ref": "表列", "table_name": "表中名称", "cas": "CAS号",
           "q": "临界量 Q (t)",
           "beta": "β", "q_ratio": "q/Q", "bq_ratio": "βq/Q", "targets": "周边防护目标", "settlements": "居民点",
           "venues": "人员密集场所", "pipelines": "油气管道", "major_hazards": "已有重大危险源", "distance": "距离 (m)",
           "id": "编号", "detail": "说明", "none": "无", "inside": "位于用地范围内", "crosses": "穿越用地",
           "vulnerable": "高敏感", "counted": "计入α", "gb36894": "GB 36894-2018 防护目标筛查",
           "class": "防护目标类别", "screening": "筛查半径 (m)", "risk_new": "个人风险基准（新建，/年）",
           "risk_existing": "个人风险基准（在役，/年）", "found": "筛查范围内", "nearest": "最近 (m)",
           "made": "riskmap 生成；距离为WGS 84椭球面测地距离"},
    "en": {"title": "Siting check", "unnamed": "unnamed project", "project": "Project", "geometry": "Site",
           "area": "Area", "point": "a point (distances are measured from it)",
           "polygon": "a polygon", "model": "Risk model version",
           "findings": "Findings", "gb18218": "GB 18218-2018 major hazard identification",
           "people": "Residents within 500 m", "alpha": "α", "s": "S = Σq/Q", "beta_sum": "Σβq/Q",
           "r": "R = α·Σβq/Q", "major": "Major hazard", "yes": "yes", "no": "no", "level": "Level",
           "chemicals": "Hazardous chemicals", "name": "Name", "tonnes": "Quantity (t)", "ref": "Table row",
           "table_name": "Table name", "cas": "CAS", "q": "Critical quantity Q (t)", "beta": "β", "q_ratio": "q/Q",
           "bq_ratio": "βq/Q", "targets": "Targets around the site", "settlements": "Settlements",
           "venues": "Crowded venues", "pipelines": "Pipelines", "major_hazards": "Existing major hazards",
           "distance": "Distance (m)", "id": "Id", "detail": "Detail", "none": "none", "inside": "inside the site",
           "crosses": "crosses the site", "vulnerable": "high sensitivity", "counted": "counted in α",
           "gb36894": "GB 36894-2018 protected-target screening", "class": "Protected-target class",
           "screening": "Screening radius (m)", "risk_new": "Individual-risk limit, new plant (/yr)",
           "risk_existing": "Individual-risk limit, in service (/yr)", "found": "Within the radius",
           "nearest": "Nearest (m)", "made": "made by riskmap; distances are geodesic on the WGS 84 ellipsoid"},
}

STYLE = """
body {font: 14px/1.45 "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif; margin: 2em auto;
      max-width: 60em; padding: 0 1em; color: #222;}
h1 {font-size: 1.5em; margin-bottom: 0.2em;} h2 {font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ccc;}
h3 {font-size: 1em; margin-bottom: 0.3em;}
table {border-collapse: collapse; margin: 0.4em 0 1em; width: 100%;}
th, td {border: 1px solid #ccc; padding: 0.2em 0.45em; text-align: left; vertical-align: top;}
th {background: #f3f3f3;} td.num {text-align: right; white-space: nowrap;}
.riskmap-findings li {margin: 0.25em 0;} .note {color: #555;} small {color: #666;}
i.level {display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.3em; border: 1px solid #888;}
@media print {body {margin: 0; max-width: none;} h2 {break-after: avoid;} tr {break-inside: avoid;}}
"""


def _number(v: float | None, digits: int = 2) -> str:
    return "" if v is None else f"{v:,.{digits}f}"


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), empty: str = "") -> str:
    """An HTML table; cells are HTML already (escape before)."""
    if not rows:
        return f"<p>{empty}</p>"
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def siting_page(report: SitingReport, language: str = "zh") -> str:
    """The report as one printable HTML page in ``language`` (zh or en)."""
    if language not in TEXT:
        raise ValueError(f"language must be zh or en, not {language!r}")
    t, e, en = TEXT[language], html.escape, language == "en"
    p, gb, targets, section = report.project, report.gb18218, report.targets, report.gb36894
    name = p.name or t["unnamed"]
    site = t["point"] if p.geometry_type == "Point" else f"{t['polygon']} · {t['area']} {p.area_km2:g} km²"
    findings = "".join(f'<li data-code="{e(f.code)}">{e(f.en if en else f.zh)}</li>' for f in report.findings)
    summary = _table([e(t[k]) for k in ("people", "alpha", "s", "beta_sum", "r", "major", "level")], [[
        _number(gb.people_500m, 1), f"{gb.alpha:g}", _number(gb.s_value), _number(gb.beta_sum), _number(gb.r_value),
        e(t["yes"] if gb.major_hazard else t["no"]),
        e(f"{gb.level_name} ({gb.major_hazard_level})" if gb.major_hazard_level else "")]], numeric={0, 1, 2, 3, 4})
    chemicals = _table([e(t[k]) for k in ("name", "tonnes", "ref", "table_name", "cas", "q", "beta", "q_ratio",
                                           "bq_ratio")],
                       [[e(c.name), _number(c.tonnes, 3), e(c.ref), e(c.table_name or ""), e(c.cas or ""),
                         _number(c.q_t, 3), f"{c.beta:g}", _number(c.q_ratio, 4), _number(c.beta_q_ratio, 4)]
                        for c in gb.chemicals], numeric={1, 5, 6, 7, 8})

    def where(inside: bool, label: str = "inside") -> str:
        return f" <b>{e(t[label])}</b>" if inside else ""

    def level_of(level: str | None) -> str:
        if not level:
            return ""
        return f'<i class="level" style="background:{LEVEL_COLOURS.get(level, "#888")}"></i>' + \
            e(LEVEL_LABELS.get(level, (level, level))[1 if en else 0])

    head = [e(t["name"]), e(t["id"]), e(t["distance"]), e(t["detail"])]
    class_names = {c.target_class: c.target_class.replace("_", " ") if en else c.label for c in section.classes}
    settlement_rows = [[e(s.name) + where(s.inside_site), e(s.source_id), _number(s.distance_m, 1),
                        e(f"{s.people:,.0f} ") + ("人" if not en else "people")
                        + (f" · {e(t['counted'])}" if s.counted_in_alpha else "")
                        + f" · {e(class_names.get(s.gb36894_class, s.gb36894_class))}"]
                       for s in targets.settlements]
    venue_rows = [[e(v.name) + where(v.inside_site), e(v.source_id), _number(v.distance_m, 1),
                   e(v.venue_type) + (f" · <b>{e(t['vulnerable'])}</b>" if v.vulnerable else "")
                   + (f" · {v.occupancy:,}" if v.occupancy is not None else "")
                   + f" · {e(class_names.get(v.gb36894_class, v.gb36894_class))}"]
                  for v in targets.venues]
    pipeline_rows = [[e(pl.name) + where(pl.crosses_site, "crosses"), e(pl.source_id), _number(pl.distance_m, 1),
                      e(f"{pl.medium}" + (f" · {pl.diameter_mm:g} mm" if pl.diameter_mm else "")
                        + (f" · {pl.pressure_mpa:g} MPa" if pl.pressure_mpa else "") + " · ")
                      + e(f"{pl.zone.limit_m:g} m {pl.zone.article if en else pl.zone.article_zh}: "
                          f"{pl.zone.rule_en if en else pl.zone.rule_zh}")]
                     for pl in targets.pipelines]
    hazard_rows = [[e(h.name), e(h.source_id), _number(h.distance_m, 1),
                    e(f"{h.industry} · S {_number(h.s_value)} · R {_number(h.r_value)}")
                    + (e(f" · {h.major_hazard_level}") if h.major_hazard_level else "") + " · " + level_of(h.level)]
                   for h in targets.major_hazards]
    none = e(t["none"])
    target_sections = "".join(
        f'<h3 data-targets="{key}">{e(t[key])} ({len(rows)})</h3>' + _table(head, rows, numeric={2}, empty=none)
        for key, rows in (("settlements", settlement_rows), ("venues", venue_rows), ("pipelines", pipeline_rows),
                          ("major_hazards", hazard_rows)))
    found = {c.target_class: c for c in section.found}
    classes = _table([e(t[k]) for k in ("class", "screening", "risk_new", "risk_existing", "found", "nearest")],
                     [[e(c.label) + f"<br><small>{e(c.members)}</small>", f"{c.screening_m:g}",
                       f"{c.individual_risk_new:.0e}", f"{c.individual_risk_existing:.0e}",
                       str(found[c.target_class].count) if c.target_class in found else "0",
                       _number(found[c.target_class].nearest_m, 1) if c.target_class in found else ""]
                      for c in section.classes], numeric={1, 2, 3, 4, 5})
    title = f"{t['title']}: {name}"
    return f"""<!DOCTYPE html>
<html lang="{'en' if en else 'zh-CN'}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title><style>{STYLE}</style></head>
<body class="riskmap-siting">
<h1>{e(title)}</h1>
<p>{e(t['geometry'])}: {e(site)} · {e(t['model'])} {e(report.model_version)}</p>
<h2>{e(t['findings'])}</h2>
<ol class="riskmap-findings">{findings}</ol>
<h2>{e(t['gb18218'])}</h2>
{summary}
<h3>{e(t['chemicals'])}</h3>
{chemicals}
<p class="note"><small>{e(gb.source)}</small></p>
<h2>{e(t['targets'])}</h2>
{target_sections}
<h2>{e(t['gb36894'])}</h2>
<p class="note">{e(section.note_en if en else section.note_zh)}</p>
{classes}
<p class="note"><small>{e(section.source)}</small></p>
<p class="note"><small>{e(t['made'])}</small></p>
</body>
</html>
"""
