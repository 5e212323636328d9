"""The basemap under the risk layers: a tile service chosen in the settings, or none.

Government networks are often closed, so a basemap is optional: with none (or one that cannot be reached) the
map still shows the admin boundaries and every risk layer.  Tianditu serves CGCS2000 tiles, which agree with
WGS 84 to well under a metre at map scales.  AMap's tiles are in GCJ-02, offset by a few hundred metres: the
map moves each tile back onto WGS 84 (maps/static/basemap.js).
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.errors import InvalidSetting


@dataclass(frozen=True)
class Basemap:
    name: str
    url: str | None  # a tile URL template ({z}/{x}/{y}, optionally {s}); None: no basemap
    attribution: str = ""
    subdomains: str = "abc"
    max_zoom: int = 18
    gcj02: bool = False  # the tiles are drawn in GCJ-02: the map shifts them onto WGS 84 (maps/static/basemap.js)


OSM = Basemap("osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
              '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors', "", 19)
NONE = Basemap("none", None)
AMAP = Basemap("amap", "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
               "&x={x}&y={y}&z={z}", "&copy; 高德地图 AMap", "1234", 18, gcj02=True)


def tianditu(key: str | None) -> Basemap:
    if not key:
        raise InvalidSetting("basemap tianditu needs a key: set RISKMAP_BASEMAP_KEY to your Tianditu tk")
    return Basemap("tianditu", f"https://t{{s}}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                   f"&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                   f"&TILECOL={{x}}&tk={key}", "&copy; 天地图 Tianditu", "01234567", 18)


def basemap(choice: str, key: str | None = None) -> Basemap:
    """The basemap for a setting: ``osm``, ``tianditu``, ``amap``, ``none``, or a tile URL template."""
    name = choice.strip()
    if name.lower() == "osm":
        return OSM
    if name.lower() == "amap":
        return AMAP
    if name.lower() == "none":
        return NONE
    if name.lower() == "tianditu":
        return tianditu(key)
    if name.startswith(("http://", "https://", "/")) and "{z}" in name and "{x}" in name and "{y}" in name:
        return Basemap("custom", name, "")
    raise InvalidSetting(f"unknown basemap {choice!r}: expected osm, tianditu, amap, none, or a tile URL template "
                       "with {z}, {x} and {y}")
