"""`riskmap map --area CODE --out FILE.html` (issue 5, item 7): one self-contained page for sharing.

The page carries its data (the area's H3 zoning at the finest resolution that keeps it under a few thousand
cells, the county outlines, and its red and orange features) and every script, stylesheet and image inlined, so
it opens from a file or a mail attachment with no server and no network.
"""

from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from pathlib import Path

import folium

from geo.errors import NotFound
from maps import assets
from maps.main_map import KIND_LABELS, LEVEL_COLOURS, LEVEL_LABELS, RawHtml, render

MAX_CELLS = 1500  # zoning cells in the page at most: the finest H3 resolution that stays under this is used
MAX_FEATURES = 1000  # red and orange features in the page at most (worst first)
TEXT = {"zh": {"legend": "风险等级", "zoning": "四色分区", "outlines": "行政边界", "features": "重大和较大风险点",
               "score": "得分", "level": "等级", "factors": "主要因素", "synthetic": "演示数据（合成），非真实企业",
               "made": "riskmap 导出"},
        "en": {"legend": "Risk level", "zoning": "Four-colour zoning", "outlines": "Admin boundaries",
               "features": "Major and high risks", "score": "Score", "level": "Level", "factors": "Top factors",
               "synthetic": "Synthetic demo data, not real enterprises", "made": "exported by riskmap"}}


def sql_text(name: str) -> str:
    return resources.files("maps").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


def zoning_resolution(conn, area: str, resolutions: list[int]) -> int:
    """The finest configured H3 resolution at which the area has at most MAX_CELLS scored cells."""
    with conn.cursor() as cur:
        cur.execute("SELECT r.resolution, count(*) FROM area_risk r JOIN area a ON a.admin_code = %s "
                    "WHERE r.area_type = 'h3' AND r.geom && a.geom AND ST_Intersects(ST_Centroid(r.geom), a.geom) "
                    "GROUP BY r.resolution", (area,))
        counts = dict(cur.fetchall())
    fitting = [r for r in sorted(resolutions) if counts.get(r, 0) <= MAX_CELLS]
    return max(fitting) if fitting else min(resolutions)


def static_map_data(conn, area: str, resolutions: list[int]) -> dict:
    """The page's data for admin area ``area`` (NotFound when no such area is stored)."""
    resolution = zoning_resolution(conn, area, resolutions)
    with conn.cursor() as cur:
        cur.execute(sql_text("static_map"), {"area": area, "resolution": resolution, "max_features": MAX_FEATURES})
        data = json.loads(cur.fetchone()[0])
    if data["area"] is None:
        raise NotFound(f"no admin area with code {area!r} is stored (admin areas come from `riskmap areas import`)")
    data["resolution"] = resolution
    return data


def static_map(data: dict, language: str = "zh") -> folium.Map:
    t = TEXT[language]
    x0, y0, x1, y1 = data["area"]["bbox"]
    m = folium.Map(tiles=None, control_scale=True)  # SVG: a few thousand shapes at most
    assets.offline(m)
    m.fit_bounds([[y0, x0], [y1, x1]])

    def level_style(feature):
        colour = LEVEL_COLOURS.get(feature["properties"]["level"], "#999999")
        return {"color": "#555", "weight": 0.5, "fillColor": colour, "fillOpacity": 0.5}

    folium.GeoJson(data["zoning"], name=t["zoning"], style_function=level_style,
                   tooltip=folium.GeoJsonTooltip(["level", "score"], aliases=[t["level"], t["score"]])).add_to(m)
    folium.GeoJson(data["outlines"], name=t["outlines"],
                   style_function=lambda _: {"fill": False, "color": "#333", "weight": 1.3},
                   tooltip=folium.GeoJsonTooltip(["name"], labels=False)).add_to(m)
    if data["features"]["features"]:
        folium.GeoJson(
            data["features"], name=t["features"],
            marker=folium.CircleMarker(radius=6, color="#333", weight=1, fill=True, fill_opacity=0.9),
            style_function=lambda f: {"fillColor": LEVEL_COLOURS[f["properties"]["level"]]},
            popup=folium.GeoJsonPopup(["name", "kind", "score", "factors"],
                                      aliases=["", "", t["score"], t["factors"]])).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    idx = 0 if language == "zh" else 1
    rows = "".join(f'<div><i style="background:{LEVEL_COLOURS[lv]}"></i>{html.escape(LEVEL_LABELS[lv][idx])}</div>'
                   for lv in ("red", "orange", "yellow", "blue"))
    area = data["area"]
    banner = (f'<div class="riskmap-synthetic">{html.escape(t["synthetic"])}</div>' if data.get("synthetic")
              else "")
    legend = (f'<div class="riskmap-legend riskmap-static-legend"><b>{html.escape(area["name"])}</b>'
              f'<br><b>{html.escape(t["legend"])}</b>{rows}{banner}'
              f'<small>{html.escape(t["made"])} · H3 {data["resolution"]}</small></div>')
    m.get_root().html.add_child(RawHtml(legend))
    kinds = {k: v[idx] for k, v in KIND_LABELS.items()}
    for f in data["features"]["features"]:
        f["properties"]["kind"] = kinds.get(f["properties"]["kind"], f["properties"]["kind"])
    return m


def inline_assets(page: str) -> str:
    """``page`` with every local script and stylesheet written into it, and the images the stylesheets use as
    data: URIs, so that it needs nothing else."""
    static = Path(assets.static_dir())

    def local(url: str) -> Path:
        return static / url.removeprefix(assets.STATIC_URL + "/")

    def script(m: re.Match) -> str:
        return "<script>" + local(m.group(1)).read_text(encoding="utf-8").replace("</script", "<\\/script") + \
            "</script>"

    def stylesheet(m: re.Match) -> str:
        path = local(m.group(1))
        css = path.read_text(encoding="utf-8")

        def image(u: re.Match) -> str:
            target = (path.parent / u.group(1)).resolve()
            if not target.is_file():
                return u.group(0)
            data = base64.b64encode(target.read_bytes()).decode()
            return f"url(data:image/png;base64,{data})"

        css = re.sub(r"url\((?![\"']?data:)[\"']?([^\"')]+\.png)[\"']?\)", image, css)
        return "<style>" + css + "</style>"

    prefix = re.escape(assets.STATIC_URL)
    page = re.sub(rf'<script src="({prefix}/[^"]+)"></script>', script, page)
    page = re.sub(rf'<link rel="stylesheet" href="({prefix}/[^"]+)"\s*/?>', stylesheet, page)
    return page


def export_map(conn, area: str, out: Path, resolutions: list[int], language: str = "zh") -> int:
    """Writes the page of admin area ``area`` to ``out``; returns its size in bytes."""
    data = static_map_data(conn, area, resolutions)
    m = static_map(data, language)
    m.get_root().header.add_child(folium.CssLink(f"{assets.STATIC_URL}/riskmap.css"), name="riskmap_css")
    page = inline_assets(render(m, f"{data['area']['name']} · riskmap", language))
    out.write_text(page, encoding="utf-8")
    return len(page.encode("utf-8"))
