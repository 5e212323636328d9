"""The feature detail page (issue 5, item 8): the map around one feature, its score and level, and the table of
every factor behind the score, from the same explanation GET /features/{kind}/{id} gives as GeoJSON."""

from __future__ import annotations

import html

import folium

from maps import assets
from maps.basemaps import Basemap
from maps.main_map import KIND_LABELS, LEVEL_COLOURS, LEVEL_LABELS, detail_map, detail_page

TEXT = {
    "zh": {"score": "得分", "level": "风险等级", "direct_red": "直接判定重大风险", "model": "模型版本",
           "computed": "计算时间", "factors": "评分因素", "factor": "因素", "value": "取值", "points": "分值",
           "assumed": "缺值时按保守值", "source": "依据", "unit": "单位", "history": "检查记录",
           "no_history": "登记资料中没有检查记录", "last_inspection": "最近一次安全检查",
           "last_fire_inspection": "最近一次消防检查",
           "unscored": "未评分", "synthetic": "演示数据（合成），非真实企业",
           "back": "返回地图", "yes": "是"},
    "en": {"score": "Score", "level": "Risk level", "direct_red": "Red by direct rule", "model": "Model version",
           "computed": "Computed", "factors": "Factors of the score", "factor": "Factor", "value": "Value",
           "points": "Points", "assumed": "Assumed (value missing)", "source": "Source", "unit": "Unit",
           "history": "Inspection history", "no_history": "The register records no inspection",
           "last_inspection": "Last safety inspection", "last_fire_inspection": "Last fire inspection",
           "unscored": "Not scored",
           "synthetic": "Synthetic demo data, not a real enterprise", "back": "Back to the map", "yes": "yes"},
}


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if v is None:
        return "–"
    return str(v)


def feature_page(feature: dict, basemap: Basemap, language: str = "zh", static_url: str = assets.STATIC_URL,
                 nearby: dict | None = None) -> str:
    """The HTML page of one explained feature (the GeoJSON Feature of GET /features/{kind}/{id}), with the risks
    around it (``nearby``: a /risks/near document) on its map."""
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
    # inspections as the register has them (the date of the last one); a full record comes with inspections
    attributes = p.get("attributes") or {}
    dates = [(t[k], attributes[k]) for k in ("last_inspection", "last_fire_inspection") if attributes.get(k)]
    history = "<br>".join(f"{html.escape(k)}: {html.escape(str(v))}" for k, v in dates) or html.escape(t["no_history"])
    body = f"""
<div class="riskmap-detail" data-level="{html.escape(level or '')}" data-nearby="{len(around)}">
  <p><a href="/?lang={language}">{html.escape(t["back"])}</a></p>
  <h1><i style="background:{colour}"></i>{html.escape(p["name"])} <small>{html.escape(kind_label)} ·
      {html.escape(str(p.get("source_id") or ""))}</small></h1>
  {synthetic}
  <dl>{"".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts)}</dl>
  <h2>{html.escape(t["factors"])}</h2>
  <table class="riskmap-factor-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>
  <h2>{html.escape(t["history"])}</h2>
  <p class="riskmap-history">{history}</p>
</div>"""
    return detail_page(m, body, f"{p['name']} · riskmap", language, static_url)


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
