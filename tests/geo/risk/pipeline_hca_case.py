"""Issue 13 item 8 on a real PostGIS: a 1,016 mm, 10 MPa gas line of 8 km with a school 250 m off it, beside the
boundary of its segments 2 and 3 (inside their 318 m potential impact radius, not within 200 m), and five
enterprises within 50 m (two of them under construction) beside segment 6, which therefore scores highest.
Shared by the scoring, API and map tests; the files are imported as a bureau would import them."""

from __future__ import annotations

import json
from pathlib import Path

from pyproj import Geod

from geo.importer import import_file

GEOD = Geod(ellps="WGS84")
START = (118.60, 39.30)  # open country east of the demo's towns (no other layer here)
LINE_M = 8000.0
SEGMENTS = 8  # pipeline_segments.sql cuts round(8 km / 1 km) = 8 equal segments, seq 0-7
SCHOOL_M = 250.0
HCA_SEQS = [2, 3]  # the school faces the boundary of these two, 3 km along the line
WORST_SEQ = 6
LINE_NAME = "西气东输支线（测试）"


def _point_along(metres: float, offset_north_m: float = 0.0) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(START[0], START[1], 90.0, metres)
    if offset_north_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 0.0, offset_north_m)
    return lon, lat


def _line() -> list[tuple[float, float]]:
    # many vertices along one geodesic, so that the segments' cut points are 1 km apart on the ground
    return [_point_along(LINE_M * i / 80) for i in range(81)]


def _write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def _feature(geometry_type: str, coordinates, **properties) -> dict:
    return {"type": "Feature", "geometry": {"type": geometry_type, "coordinates": coordinates},
            "properties": properties}


def load_issue_line(conn, folder: Path) -> None:
    """Import the line, the school and the enterprises (not scored)."""
    import_file(conn, _write(folder / "pipeline.geojson", [_feature(
        "LineString", _line(), id="GAS-HCA-1", name=LINE_NAME, medium="natural_gas", diameter_mm=1016,
        pressure_mpa=10, year_built=2016, depth_of_cover_m=1.6, status="operating", operator="PipeChina")]),
        "pipeline")
    school = _point_along(3000.0, SCHOOL_M)
    import_file(conn, _write(folder / "venue.geojson", [_feature(
        "Point", school, id="SCH-1", name="第一小学（测试）", venue_type="school", floor_area_m2=4000,
        occupancy=600, exits=4, exits_blocked=False, sprinklers=True, fire_alarm=True)]), "venue")
    sites = [_feature("Point", _point_along(6400.0 + 60.0 * i, 30.0), id=f"ENT-{i}", name=f"仓储企业{i}（测试）",
                      industry="logistics", status="under_construction" if i < 2 else "operating")
             for i in range(5)]
    import_file(conn, _write(folder / "enterprise.geojson", sites), "enterprise")


def pipeline_id(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM pipeline WHERE source_id = 'GAS-HCA-1'")
        return cur.fetchone()[0]
