"""The feature detail page (issue 5, item 8): the map around one feature, its score and level, and the table of
every factor behind the score, from the same explanation GET /features/{kind}/{id} gives as GeoJSON."""

from __future__ import annotations

import html

import folium

from geo.records.kinds import SITE_KINDS
from maps import assets
from maps.basemaps import Basemap
from maps.main_map import KIND_LABELS, LEVEL_COLOURS, LEVEL_LABELS, RawHtml, detail_map, detail_page
from maps.timeline import timeline_section

TEXT = {
    "zh": {"score": "得分", "level": "风险等级", "direct_red": "直接判定重大风险", "model": "模型版本",
           "computed": "计算时间", "factors": "评分因素", "factor": "因素", "value": "取值", "points": "分值",
           "assumed": "缺值时按保守值", "source": "依据", "unit": "单位", "history": "检查记录",
           "no_history": "没有检查记录（登记资料与检查记录中均无）", "last_inspection": "最近一次安全检查",
           "last_fire_inspection": "最近一次消防检查", "latest_venue": "最近一次检查（安全 / 消防）",
           "from_record": "来源：检查记录 {source_id}（{type}，{outcome}）",
           "from_register": "来源：登记资料（{field}）", "older_record": "检查记录中最近一次为 {date}（{source_id}）",
           "register_older": "登记资料中为 {date}", "colon": "：", "sep": "；",
           "types": {"routine": "例行检查", "special": "专项检查", "comprehensive": "综合检查", "look_back": "回头看"},
           "outcomes": {"no_findings": "未发现隐患", "dangers_found": "发现隐患", "enforcement": "实施执法",
                        None: "结果未填"},
           "fields": {"last_inspection": "最近一次安全检查日期", "last_fire_inspection": "最近一次消防检查日期"},
           "unscored": "未评分", "synthetic": "演示数据（合成），非真实企业",
           "back": "返回地图", "yes": "是", "inspect": "现场检查（记录检查与隐患）",
           "worst_factors": "评分因素（最不利管段 {seq}：管线的得分与等级取该段）",
           "hca": "高后果区（GB 32167）", "hca_grade": "最高等级", "hca_count": "高后果区管段",
           "hca_none": "无高后果区管段",
           "hca_total": "{n} 段，{km} km（全线 {all_n} 段，{all_km} km）", "grade": "等级", "segments": "管段数",
           "km": "长度 km", "segment": "管段", "chainage": "里程 km", "conditions": "识别条件",
           "hca_map": "地图上紫色宽带为高后果区管段。", "grade_names": {0: "非高后果区", 1: "Ⅰ级", 2: "Ⅱ级", 3: "Ⅲ级"}},
    "en": {"score": "Score", "level": "Risk level", "direct_red": "Red by direct rule", "model": "Model version",
           "computed": "Computed", "factors": "Factors of the score", "factor": "Factor", "value": "Value",
           "points": "Points", "assumed": "Assumed (value missing)", "source": "Source", "unit": "Unit",
           "history": "Inspection history", "no_history": "Neither the register nor the records hold an inspection",
           "last_inspection": "Last safety inspection", "last_fire_inspection": "Last fire inspection",
           "latest_venue": "Last inspection (safety or fire)",
           "from_record": "from the inspection record {source_id} ({type}, {outcome})",
           "from_register": "from the register ({field})",
           "older_record": "the latest record is of {date} ({source_id})",
           "register_older": "the register says {date}", "colon": ": ", "sep": " · ",
           "types": {"routine": "routine", "special": "special", "comprehensive": "comprehensive",
                     "look_back": "look-back"},
           "outcomes": {"no_findings": "no findings", "dangers_found": "hidden dangers found",
                        "enforcement": "enforcement", None: "outcome not given"},
           "fields": {"last_inspection": "last_inspection", "last_fire_inspection": "last_fire_inspection"},
           "unscored": "Not scored",
           "synthetic": "Synthetic demo data, not a real enterprise", "back": "Back to the map", "yes": "yes",
           "inspect": "Field form (record an inspection and hidden dangers)",
           "worst_factors": "Factors of the score (worst segment {seq}: the pipeline takes its score and level)",
           "hca": "High-consequence areas (GB 32167)", "hca_grade": "Highest grade", "hca_count": "HCA segments",
           "hca_none": "No segment is a high-consequence area", "hca_total": "{n} segments, {km} km (of {all_n} "
           "segments, {all_km} km)", "grade": "Grade", "segments": "Segments", "km": "Length km",
           "segment": "Segment", "chainage": "Chainage km", "conditions": "Conditions met",
           "hca_map": "On the map, the purple bands are the high-consequence segments.",
           "grade_names": {0: "not an HCA", 1: "grade Ⅰ", 2: "grade Ⅱ", 3: "grade Ⅲ"}},
}


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if v is None:
        return "–"
    return str(v)


# high-consequence-area segments on a pipeline's map, darker for a more severe grade (Ⅰ, Ⅱ, Ⅲ)
HCA_COLOURS = {1: "#ce93d8", 2: "#ab47bc", 3: "#6a1b9a"}
HCA_STYLE = ("<style>.riskmap-hca table { border-collapse: collapse; margin-bottom: 8px; }"
             " .riskmap-hca th, .riskmap-hca td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }"
             " .riskmap-hca th { background: #f3f3f3; }"
             " .riskmap-hca i { display: inline-block; width: 12px; height: 12px; margin-right: 6px;"
             " vertical-align: middle; }</style>")


def feature_page(feature: dict, basemap: Basemap, language: str = "zh", static_url: str = assets.STATIC_URL,
                 nearby: dict | None = None, hca_lines: list[dict] | None = None,
                 timeline: list[dict] | None = None) -> str:
    """The HTML page of one explained feature (the GeoJSON Feature of GET /features/{kind}/{id}), with the risks
    around it (``nearby``: a /risks/near document) on its map.  A pipeline's page also has its high-consequence
    areas: the summary over all its segments, and their lines (``hca_lines``: GeoJSON Features with their seq)
    drawn on the map.  ``timeline``: the site's records, newest first (geo/lists/timeline.py), shown below the
    register's inspection dates."""
    t = TEXT[language]
    p = feature["properties"]
    level = p.get("level")
    colour = LEVEL_COLOURS.get(level, "#888888")
    kind_label = KIND_LABELS[p["kind"]][0 if language == "zh" else 1]
    level_label = LEVEL_LABELS[level][0 if language == "zh" else 1] if level else t["unscored"]

    m = detail_map(basemap, static_url)
    shape = folium.GeoJson(
        feature, name=p["name"],
        style_function=lambda _: {"color": colour, "weight": 5, "fillColor": colour, "fillOpacity": 0.4},
        marker=folium.CircleMarker(radius=9, color="#333", weight=1, fill=True, fill_color=colour, fill_opacity=0.9))
    around = [f for f in (nearby or {}).get("features", [])
              if (f["properties"]["kind"], f["properties"]["id"]) != (p["kind"], p["id"])]
    if around:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": around}, name="nearby",
            style_function=lambda f: {"color": LEVEL_COLOURS.get(f["properties"]["level"], "#888888"), "weight": 3,
                                      "fillColor": LEVEL_COLOURS.get(f["properties"]["level"], "#888888"),
                                      "fillOpacity": 0.5},
            marker=folium.CircleMarker(radius=5, color="#555", weight=1, fill=True, fill_opacity=0.8),
            tooltip=folium.GeoJsonTooltip(["name", "level", "distance_m"], labels=False)).add_to(m)
    details = p.get("details") or {}
    is_summary = p["kind"] == "pipeline" and "hca_by_grade" in details
    if is_summary and hca_lines:
        grades = {s["seq"]: s["grade"] for s in details.get("hca_segments") or []}
        for line in hca_lines:
            line["properties"]["grade"] = t["grade_names"].get(grades.get(line["properties"]["seq"]), "")
        folium.GeoJson(
            {"type": "FeatureCollection", "features": hca_lines}, name="hca",
            style_function=lambda f: {"color": HCA_COLOURS.get(grades.get(f["properties"]["seq"]), "#ab47bc"),
                                      "weight": 16, "opacity": 0.6, "lineCap": "butt"},
            tooltip=folium.GeoJsonTooltip(["seq", "grade"], aliases=[t["segment"], t["grade"]])).add_to(m)
    shape.add_to(m)
    m.fit_bounds(_bounds(feature["geometry"]), max_zoom=15)

    rows = []
    for f in p.get("factors") or []:
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(_value(x))}</td>" for x in (
                f.get("title") or f["factor"], f.get("value"), f.get("points"), f.get("unit") or "",
                t["yes"] if f.get("assumed") else "", f.get("source") or "")) + "</tr>")
    head = "".join(f"<th>{html.escape(t[k])}</th>" for k in ("factor", "value", "points", "unit", "assumed",
                                                              "source"))
    facts = [(t["score"], _value(p.get("score"))), (t["level"], level_label)]
    if p.get("direct_red"):
        facts.append((t["direct_red"], p["direct_red"]))
    computed = (p.get("computed_at") or "–").replace("T", " ")[:16] + (" UTC" if p.get("computed_at") else "")
    facts += [(t["model"], p.get("model_version") or "–"), (t["computed"], computed)]
    synthetic = f'<p class="riskmap-synthetic">{html.escape(t["synthetic"])}</p>' if p.get("synthetic") else ""
    history = latest_inspection_text(p, t)
    # the inspectors' field form of a site (maps/inspection_form.py)
    inspect = (f' · <a class="riskmap-inspect-link" href="/inspect/{p["kind"]}/{int(p["id"])}?lang={language}">'
               f'{html.escape(t["inspect"])}</a>' if p["kind"] in SITE_KINDS else "")
    factors_title = t["worst_factors"].format(seq=details["worst_segment"]) if is_summary else t["factors"]
    if is_summary:
        m.get_root().header.add_child(RawHtml(HCA_STYLE), name="hca_style")
    body = f"""
<div class="riskmap-detail" data-level="{html.escape(level or '')}" data-nearby="{len(around)}">
  <p><a href="/?lang={language}">{html.escape(t["back"])}</a>{inspect}</p>
  <h1><i style="background:{colour}"></i>{html.escape(p["name"])} <small>{html.escape(kind_label)} ·
      {html.escape(str(p.get("source_id") or ""))}</small></h1>
  {synthetic}
  <dl>{"".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts)}</dl>
  {_hca_section(details, t) if is_summary else ""}
  <h2>{html.escape(factors_title)}</h2>
  <table class="riskmap-factor-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>
  <h2>{html.escape(t["history"])}</h2>
  <p class="riskmap-history">{history}</p>
  {timeline_section(timeline, language) if timeline is not None else ""}
</div>"""
    return detail_page(m, body, f"{p['name']} · riskmap", language, static_url)


def latest_inspection_text(p: dict, t: dict) -> str:
    """The site's last inspection with its source (HTML): the latest inspection record that took place when the
    site has one, else the register's date, as scoring, supervision and plans take it (``latest_inspection`` of
    GET /features/{kind}/{id}); the register's date beside a record's when it has one."""
    e = html.escape
    latest = p.get("latest_inspection")
    if not latest:
        return e(t["no_history"])
    label = t["latest_venue"] if p["kind"] == "venue" else t["last_inspection"]
    record = latest.get("record")
    field = t["fields"].get(latest.get("register_field"), latest.get("register_field") or "")
    if latest["source"] == "record":
        source = t["from_record"].format(source_id=record["source_id"],
                                         type=t["types"].get(record["inspection_type"], record["inspection_type"]),
                                         outcome=t["outcomes"].get(record["outcome"], record["outcome"]))
        other = t["register_older"].format(date=latest["register_date"]) if latest.get("register_date") else ""
    else:
        source = t["from_register"].format(field=field)
        other = (t["older_record"].format(date=record["inspected_on"], source_id=record["source_id"])
                 if record else "")
    return (f'<span class="riskmap-last-inspection" data-source="{e(latest["source"])}">{e(label)}{t["colon"]}'
            f'<b>{e(latest["date"])}</b>{t["sep"]}{e(source)}{t["sep"] + e(other) if other else ""}</span>')


def _km(value) -> str:
    return f"{float(value):.2f}"


def _hca_section(details: dict, t: dict) -> str:
    """A pipeline's high-consequence areas: its highest grade, the segments and km per grade, and the HCA
    segments with their chainage, grade and the GB 32167 conditions met (from its summary)."""
    names = t["grade_names"]
    grade = int(details.get("hca_grade") or 0)
    listed = details.get("hca_segments") or []
    by_grade = details.get("hca_by_grade") or []
    hca_km = sum(float(g["km"]) for g in by_grade if g["grade"] > 0)
    total = t["hca_total"].format(n=len(listed), km=_km(hca_km), all_n=details.get("segments", 0),
                                  all_km=_km(details.get("length_km", 0)))
    swatch = lambda g: f'<i style="background:{HCA_COLOURS[g]}"></i>' if g in HCA_COLOURS else ""  # noqa: E731
    grade_rows = "".join(
        f'<tr data-grade-row="{g["grade"]}"><td>{swatch(g["grade"])}{html.escape(names[g["grade"]])}</td>'
        f'<td>{int(g["segments"])}</td><td>{_km(g["km"])}</td></tr>' for g in by_grade)
    segment_rows = "".join(
        f'<tr data-seq="{int(s["seq"])}" data-grade="{int(s["grade"])}"><td>{int(s["seq"])}</td>'
        f'<td>{_km(s["from_km"])}–{_km(s["to_km"])}</td><td>{_km(s["km"])}</td>'
        f'<td>{swatch(s["grade"])}{html.escape(names[s["grade"]])}</td>'
        f'<td>{html.escape(s.get("conditions") or "")}</td><td>{t["yes"] if s.get("assumed") else ""}</td></tr>'
        for s in listed)
    head = "".join(f"<th>{html.escape(t[k])}</th>" for k in ("segment", "chainage", "km", "grade", "conditions",
                                                             "assumed"))
    segments_table = (f'<table class="riskmap-hca-segments"><thead><tr>{head}</tr></thead>'
                      f"<tbody>{segment_rows}</tbody></table><p>{html.escape(t['hca_map'])}</p>"
                      if listed else f"<p>{html.escape(t['hca_none'])}</p>")
    return f"""<section class="riskmap-hca" data-hca-grade="{grade}" data-hca-segments="{len(listed)}">
  <h2>{html.escape(t["hca"])}</h2>
  <dl><dt>{html.escape(t["hca_grade"])}</dt><dd>{swatch(grade)}{html.escape(names[grade])}</dd>
      <dt>{html.escape(t["hca_count"])}</dt><dd>{html.escape(total)}</dd></dl>
  <table class="riskmap-hca-grades"><thead><tr><th>{html.escape(t["grade"])}</th>
      <th>{html.escape(t["segments"])}</th><th>{html.escape(t["km"])}</th></tr></thead>
    <tbody>{grade_rows}</tbody></table>
  {segments_table}
</section>"""


def _bounds(geometry: dict) -> list[list[float]]:
    """[[south, west], [north, east]] of a GeoJSON geometry."""
    xs, ys = [], []

    def walk(c):
        if isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for part in c:
                walk(part)

    walk(geometry["coordinates"])
    pad = 0.002
    return [[min(ys) - pad, min(xs) - pad], [max(ys) + pad, max(xs) + pad]]
