"""Team allocation as a map and a table (issue 6, item 1): each area shaded by the teams it gets, with the number
on it, and the table of its enterprises per level, weight and teams."""

from __future__ import annotations

import html

import folium

from maps import assets
from maps.basemaps import Basemap
from maps.main_map import LEVEL_COLOURS, LEVEL_LABELS, detail_map, detail_page

# shades for 0, 1, 2, 3-4, 5-8, 9+ teams (ColorBrewer "Purples": not the risk colours)
SHADES = ((0, "#f2f0f7"), (1, "#dadaeb"), (2, "#bcbddc"), (3, "#9e9ac8"), (5, "#756bb1"), (9, "#54278f"))
TEXT = {"zh": {"title": "检查力量分配", "area": "区域", "name": "名称", "weight": "加权数", "teams": "检查组",
               "weights": "各等级权重", "total": "合计", "back": "返回地图"},
        "en": {"title": "Allocation of inspection teams", "area": "Area", "name": "Name", "weight": "Weight",
               "teams": "Teams", "weights": "Weight per level", "total": "Total", "back": "Back to the map"}}


def shade(teams: int) -> str:
    colour = SHADES[0][1]
    for least, c in SHADES:
        if teams >= least:
            colour = c
    return colour


def allocation_page(table: dict, basemap: Basemap, language: str = "zh", static_url: str = assets.STATIC_URL) -> str:
    """The page of an allocation (the FeatureCollection of geo.planning.allocation.allocation_table)."""
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
</div>"""
    return detail_page(m, body, f"{t['title']} · riskmap", language, static_url, map_height="55vh")
