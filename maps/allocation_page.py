"""Team allocation as a map and a table (issue 6, item 1): each area shaded by the teams it gets, with the number
on it, and the table of its enterprises per level, weight and teams.  With a staffing table (issue 14, item 4;
geo/supervision/staffing.py) a second layer gives each area's yearly need in inspector-days against its staff,
with its own table."""

from __future__ import annotations

import html

import folium

from maps import assets
from maps.basemaps import Basemap
from maps.main_map import LEVEL_COLOURS, LEVEL_LABELS, detail_map, detail_page

# shades for 0, 1, 2, 3-4, 5-8, 9+ teams (ColorBrewer "Purples": not the risk colours)
SHADES = ((0, "#f2f0f7"), (1, "#dadaeb"), (2, "#bcbddc"), (3, "#9e9ac8"), (5, "#756bb1"), (9, "#54278f"))
TEXT = {"zh": {"title": "检查力量分配", "area": "区域", "name": "名称", "weight": "加权数", "teams": "检查组",
               "weights": "各等级权重", "total": "合计", "back": "返回地图", "staffing": "执法人员需求 (人·日/年)",
               "sites": "监管对象", "inspections": "年检查次数", "days": "需人·日", "needed": "需执法人员",
               "staff": "现有人员", "shortfall": "缺口 (人)", "unknown": "未知",
               "staffing_note": "按各等级检查频次、每次检查时长和路程、每次两名执法人员计算 (见 docs/risk-model.md)"},
        "en": {"title": "Allocation of inspection teams", "area": "Area", "name": "Name", "weight": "Weight",
               "teams": "Teams", "weights": "Weight per level", "total": "Total", "back": "Back to the map",
               "staffing": "Inspector-days needed a year", "sites": "Sites", "inspections": "Inspections a year",
               "days": "Inspector-days", "needed": "Inspectors needed", "staff": "Staff", "shortfall": "Shortfall",
               "unknown": "unknown",
               "staffing_note": "From the inspection frequency of each level, the hours of an inspection and its "
                                "travel, two inspectors an inspection (docs/risk-model.md)"}}


def shade(teams: int) -> str:
    colour = SHADES[0][1]
    for least, c in SHADES:
        if teams >= least:
            colour = c
    return colour


def staffing_state(area: dict) -> str:
    """short (the staff given is below the need), enough, or unknown (no staff given)."""
    if area["staff"] is None:
        return "unknown"
    return "short" if area["shortfall_inspectors"] > 0 else "enough"


def allocation_page(table: dict, basemap: Basemap, language: str = "zh", static_url: str = assets.STATIC_URL,
                    staffing: dict | None = None) -> str:
    """The page of an allocation (the FeatureCollection of geo.planning.allocation.allocation_table); with
    ``staffing`` (geo.supervision.staffing.county_staffing of the same admin level), the layer and table of each
    area's need in inspector-days."""
    t = TEXT[language]
    idx = 0 if language == "zh" else 1
    e = html.escape
    m = detail_map(basemap, static_url)
    layer = folium.GeoJson(
        table, name=t["teams"],
        style_function=lambda f: {"color": "#333", "weight": 1, "fillColor": shade(f["properties"]["teams"]),
                                  "fillOpacity": 0.75},
        tooltip=folium.GeoJsonTooltip(["name", "teams", "red", "weight"],
                                      aliases=[t["name"], t["teams"], LEVEL_LABELS["red"][idx], t["weight"]]))
    layer.add_to(m)
    for f in table["features"]:
        p = f["properties"]
        x, y = p["label_point"]
        folium.Marker([y, x], icon=folium.DivIcon(
            html=f'<div class="riskmap-alloc-label" data-area="{e(p["admin_code"])}">{p["teams"]}</div>',
            icon_size=(26, 18), icon_anchor=(13, 9))).add_to(m)
    staffing_html = ""
    if staffing is not None:
        staffing_html = staffing_layer(m, staffing, t)
        folium.LayerControl(collapsed=False).add_to(m)
    if table["features"]:
        m.fit_bounds(layer.get_bounds())
    levels = ("red", "orange", "yellow", "blue")
    head = "".join(f"<th>{e(x)}</th>" for x in (t["area"], t["name"], *(LEVEL_LABELS[lv][idx] for lv in levels),
                                                 t["weight"], t["teams"]))
    rows = "".join(
        f'<tr data-area="{e(p["admin_code"])}"><td>{e(p["admin_code"])}</td><td>{e(p["name"])}</td>'
        + "".join(f"<td>{p[lv]}</td>" for lv in levels)
        + f'<td>{p["weight"]:g}</td><td class="riskmap-alloc-teams">{p["teams"]}</td></tr>'
        for p in (f["properties"] for f in table["features"]))
    total = sum(f["properties"]["teams"] for f in table["features"])
    weights = " · ".join(f'<i style="background:{LEVEL_COLOURS[lv]}"></i>{e(LEVEL_LABELS[lv][idx])} '
                         f'{table["weights"][lv]:g}' for lv in levels)
    body = f"""
<div class="riskmap-detail riskmap-plan riskmap-allocation" data-teams="{table['teams']}">
  <p class="riskmap-noprint"><a href="/?lang={language}">{e(t["back"])}</a></p>
  <h1>{e(t["title"])} <small>{table['teams']} {e(t["teams"])} · {e(table["level"])}</small></h1>
  <p class="riskmap-alloc-weights">{e(t["weights"])}: {weights}</p>
  <table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>
  <tfoot><tr><td colspan="7">{e(t["total"])}</td><td>{total}</td></tr></tfoot></table>
  {staffing_html}
</div>"""
    return detail_page(m, body, f"{t['title']} · riskmap", language, static_url, map_height="55vh")


def staffing_layer(m: folium.Map, staffing: dict, t: dict) -> str:
    """Add the staffing layer to ``m`` (a label on each area: inspector-days needed a year, and the staff against
    it); return the staffing table's HTML."""
    e = html.escape
    group = folium.FeatureGroup(name=t["staffing"], show=True)
    for a in staffing["areas"]:
        if a["label_point"] is None:
            continue
        x, y = a["label_point"]
        staff = f' · {a["staff"]}/{a["inspectors_needed"]:.1f}' if a["staff"] is not None else ""
        folium.Marker([y, x], icon=folium.DivIcon(
            html=f'<div class="riskmap-staff-label riskmap-staff-{staffing_state(a)}" '
                 f'data-area="{e(a["admin_code"])}" data-days="{a["inspector_days"]:.1f}" '
                 f'title="{e(a["name"])}">{a["inspector_days"]:,.1f}{staff}</div>',
            icon_size=(1, 18), icon_anchor=(0, -12))).add_to(group)  # the label centres itself (CSS)
    group.add_to(m)
    rows = "".join(
        f'<tr data-staff-area="{e(a["admin_code"])}"><td>{e(a["admin_code"])}</td><td>{e(a["name"])}</td>'
        f'<td>{a["sites"]}</td><td>{a["inspections_per_year"]:,.0f}</td>'
        f'<td class="riskmap-staff-days">{a["inspector_days"]:,.1f}</td><td>{a["inspectors_needed"]:,.2f}</td>'
        f'<td>{a["staff"] if a["staff"] is not None else e(t["unknown"])}</td>'
        f'<td>{"" if a["shortfall_inspectors"] is None else format(a["shortfall_inspectors"], ",.2f")}</td></tr>'
        for a in staffing["areas"])
    head = "".join(f"<th>{e(t[k])}</th>" for k in ("area", "name", "sites", "inspections", "days", "needed", "staff",
                                                    "shortfall"))
    tot = staffing["total"]
    return (f'<h2>{e(t["staffing"])}</h2><p class="riskmap-staff-note">{e(t["staffing_note"])}</p>'
            f'<table class="riskmap-staffing"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
            f'<tfoot><tr><td colspan="2">{e(t["total"])}</td><td>{int(tot["sites"])}</td>'
            f'<td>{tot["inspections_per_year"]:,.0f}</td><td>{tot["inspector_days"]:,.1f}</td>'
            f'<td>{tot["inspectors_needed"]:,.2f}</td><td></td><td></td></tr></tfoot></table>')
