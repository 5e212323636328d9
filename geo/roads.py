"""The road network that inspection plans take their travel times from (`riskmap roads import FILE`).

The file is an OSM-derived road file: lines with OpenStreetMap's ``highway`` class and, when present, ``maxspeed``
and ``oneway`` (as columns, or in GDAL's ``other_tags`` when read from an .osm.pbf ``lines`` layer), in any
format GDAL reads.  Only drivable classes are kept.  As in OpenStreetMap, ways are connected where they share a
vertex (a junction node), not where they merely cross (a bridge): each way is split at its vertices shared with
another way and at its ends, and those are the network's nodes.  Each edge's length is geodesic (PostGIS
geography) and its time is the length at the way's maxspeed, else at its class's speed.  An import replaces the
whole network in one transaction: a file that cannot be used leaves the stored network as it was.
"""

from __future__ import annotations

import math
import os
import re
from importlib import resources

import numpy as np
import shapely

from geo.crs import parse_crs, transform_geometries
from geo.errors import InputError

# Speeds by OSM highway class, km/h, used where a way has no usable maxspeed.  [assumption: typical free-flow
# speeds on Chinese roads for an inspection car: expressways 100, national/provincial trunk roads 80, urban
# arterials 60 ... residential streets 25; to be set from local knowledge]
CLASS_SPEEDS = {
    "motorway": 100, "motorway_link": 60, "trunk": 80, "trunk_link": 50, "primary": 60, "primary_link": 40,
    "secondary": 50, "secondary_link": 35, "tertiary": 40, "tertiary_link": 30, "unclassified": 30,
    "residential": 25, "living_street": 10, "service": 15, "track": 15, "road": 30,
}
UNTAGGED_SPEED = 30  # a file without a highway column: every line is a road at this speed
ONEWAY_CLASSES = {"motorway"}  # one-way unless tagged otherwise (OSM convention)
VERTEX_DECIMALS = 7  # vertices equal to 1e-7 degrees (about 1 cm) are the same node
_TAG = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def parse_speed(value) -> float | None:
    """An OSM maxspeed ('60', '60 km/h', '30 mph') in km/h, or None when it is not a number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*", str(value))
    if not m:
        return None
    speed = float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.0)
    return speed if 0 < speed <= 200 else None


def parse_oneway(value, highway: str | None) -> int:
    """1: forward only, -1: backward only, 0: both ways."""
    v = str(value).strip().lower() if value is not None and value == value else ""
    if v in ("yes", "true", "1"):
        return 1
    if v == "-1" or v == "reverse":
        return -1
    if v in ("no", "false", "0"):
        return 0
    return 1 if highway in ONEWAY_CLASSES else 0


def other_tags(text) -> dict[str, str]:
    """GDAL's OSM ``other_tags`` ('"maxspeed"=>"60","oneway"=>"yes"') as a dict."""
    if not isinstance(text, str):
        return {}
    return {k: v for k, v in _TAG.findall(text)}


def read_ways(path: str | os.PathLike, crs: str | None = None, layer: str | None = None):
    """The drivable ways of a road file: (lines as shapely LineStrings in WGS 84, highway classes, speeds km/h,
    oneway flags), and the number of features read.  InputError names what is wrong with the file."""
    import pyogrio

    from geo.sources import open_source

    with open_source(path, layer=layer) as info:
        try:
            df = pyogrio.read_dataframe(info.gdal_path, layer=info.layer)
        except Exception as e:  # noqa: BLE001 - GDAL's own message is the useful part
            raise InputError(f"{info.display_name}: cannot read it: {e}") from None
        name = info.display_name
    if df.geometry is None or len(df) == 0:
        raise InputError(f"{name}: no features")
    source = parse_crs(crs) if crs else (parse_crs(df.crs.to_epsg() or 4326) if df.crs else parse_crs(None))
    geoms = np.asarray(df.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    if not np.isin(kinds[~shapely.is_missing(geoms)], (1, 5)).all():
        raise InputError(f"{name}: a road file holds lines (LineString or MultiLineString); this one has other "
                         "geometries")
    columns = {c.lower(): c for c in df.columns}
    tags = [other_tags(t) for t in df[columns["other_tags"]]] if "other_tags" in columns else [{}] * len(df)

    def column(key: str) -> list:
        if key in columns:
            return list(df[columns[key]])
        return [t.get(key) for t in tags]

    highway, maxspeed, oneway = column("highway"), column("maxspeed"), column("oneway")
    has_class = "highway" in columns or any(h is not None for h in highway)
    lines, classes, speeds, directions = [], [], [], []
    for i, g in enumerate(transform_geometries(geoms, source)):
        if g is None or g.is_empty:
            continue
        cls = highway[i] if isinstance(highway[i], str) else None
        if has_class and cls not in CLASS_SPEEDS:
            continue  # footways, paths, construction...: not drivable
        speed = parse_speed(maxspeed[i]) or (CLASS_SPEEDS[cls] if cls else UNTAGGED_SPEED)
        way = parse_oneway(oneway[i], cls)
        for part in (g.geoms if g.geom_type == "MultiLineString" else [g]):
            if len(part.coords) >= 2:
                lines.append(part)
                classes.append(cls)
                speeds.append(speed)
                directions.append(way)
    if not lines:
        raise InputError(f"{name}: no drivable road among its {len(df)} features (highway classes kept: "
                         f"{', '.join(CLASS_SPEEDS)})")
    bad = ~np.isfinite(shapely.get_coordinates(np.asarray(lines, dtype=object))).all(axis=1)
    if bad.any():
        raise InputError(f"{name}: some coordinates cannot be converted to WGS 84 (is the CRS right?)")
    return lines, classes, speeds, directions, len(df)


def split_at_junctions(lines: list) -> tuple[list[tuple[int, int, np.ndarray, int]], np.ndarray]:
    """Ways split where they share a vertex with another way and at their ends.  Returns the edges as (source
    node, target node, coordinates, the way's index) and the nodes' coordinates (node i at row i)."""
    coords, way = shapely.get_coordinates(np.asarray(lines, dtype=object), return_index=True)
    keys = np.round(coords, VERTEX_DECIMALS)
    _, vertex = np.unique(keys, axis=0, return_inverse=True)
    vertex = vertex.ravel()
    # how many different ways use each vertex
    pairs = np.unique(np.stack([vertex, way], axis=1), axis=0)
    ways_at = np.bincount(pairs[:, 0], minlength=vertex.max() + 1)
    starts = np.r_[0, np.flatnonzero(np.diff(way)) + 1]
    ends = np.r_[starts[1:] - 1, len(way) - 1]
    is_node = ways_at[vertex] >= 2
    is_node[starts] = True
    is_node[ends] = True
    node_vertices = np.unique(vertex[is_node])
    node_of = np.full(vertex.max() + 1, -1)
    node_of[node_vertices] = np.arange(len(node_vertices))
    first_at = np.zeros(vertex.max() + 1, dtype=np.int64)
    first_at[vertex[::-1]] = np.arange(len(vertex))[::-1]
    node_xy = coords[first_at[node_vertices]]
    edges = []
    for w, (a, b) in enumerate(zip(starts, ends, strict=True)):
        cut = a + np.flatnonzero(is_node[a:b + 1])
        for i, j in zip(cut[:-1], cut[1:], strict=True):
            if vertex[i] == vertex[j] and j - i < 2:
                continue  # a repeated vertex, no length
            edges.append((int(node_of[vertex[i]]), int(node_of[vertex[j]]), coords[i:j + 1], w))
    return edges, node_xy


def import_roads(conn, path: str | os.PathLike, crs: str | None = None, layer: str | None = None) -> dict:
    """Replace the stored road network with the one in ``path``; returns what was stored."""
    from psycopg2.extras import execute_values

    lines, classes, speeds, directions, features = read_ways(path, crs, layer)
    edges, nodes = split_at_junctions(lines)
    query = resources.files("geo").joinpath("sql/road_import.sql").read_text(encoding="utf-8")
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM road_edge; DELETE FROM road_node;")
        execute_values(cur, "INSERT INTO road_node (id, geom) VALUES %s",
                       [(i + 1, f"SRID=4326;POINT({float(x)!r} {float(y)!r})") for i, (x, y) in enumerate(nodes)],
                       page_size=5000)
        rows = []
        for k, (s, t, xy, w) in enumerate(edges, 1):
            wkt = "LINESTRING(" + ",".join(f"{float(x)!r} {float(y)!r}" for x, y in xy) + ")"
            rows.append((k, s + 1, t + 1, classes[w], float(speeds[w]), directions[w], f"SRID=4326;{wkt}"))
        execute_values(cur, query, rows, page_size=2000)
        cur.execute("INSERT INTO road_import (file, ways, edges, nodes) VALUES (%s, %s, %s, %s)",
                    (os.fspath(path), len(lines), len(edges), len(nodes)))
    return {"features": features, "ways": len(lines), "edges": len(edges), "nodes": len(nodes)}
