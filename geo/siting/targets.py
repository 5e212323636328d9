"""The targets around a proposed project, from PostGIS: settlements, crowded venues, pipelines and existing
major-hazard enterprises, nearest first, with geodesic distances (the SQL beside this module, ``sql/*.sql``, says
what each query returns).  The connection is the caller's."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import shapely


@cache
def sql_text(name: str) -> str:
    """The text of ``geo/siting/sql/<name>.sql``."""
    return resources.files("geo.siting").joinpath(f"sql/{name}.sql").read_text(encoding="utf-8")


@dataclass
class Surroundings:
    """The rows each query returned (one dict a row, keyed by column), nearest first."""

    settlements: list[dict] = field(default_factory=list)
    venues: list[dict] = field(default_factory=list)
    pipelines: list[dict] = field(default_factory=list)
    major_hazards: list[dict] = field(default_factory=list)


def _rows(conn, name: str, params: dict) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute(sql_text(name), params)
        columns = [d[0] for d in cur.description]
        return [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]


def find_targets(conn, site: shapely.Geometry, model: dict, screening: dict[str, float]) -> Surroundings:
    """The targets within the distances the rules look at around ``site`` (WGS 84): the GB 18218 ring, the
    pipeline corridor and the GB 36894 ``screening`` radii ([siting] screening_m)."""
    ctx = model["context"]
    alpha_r, corridor = float(ctx["alpha_radius_m"]), float(ctx["corridor_m"])
    settlement_classes = ("general_1", "general_2", "general_3")
    ewkt = "SRID=4326;" + shapely.to_wkt(site, rounding_precision=-1)
    base = {"site": ewkt}
    settlements = _rows(conn, "settlements", base | {
        "radius": max(alpha_r, *(screening[c] for c in settlement_classes)), "alpha_radius": alpha_r,
        "persons_per_household": float(ctx["persons_per_household"])})
    venues = _rows(conn, "venues", base | {"radius": max(alpha_r, *screening.values()), "ring": alpha_r})
    pipelines = _rows(conn, "pipelines", base | {"radius": corridor})
    hazards = _rows(conn, "major_hazards", base | {"radius": alpha_r})
    return Surroundings(settlements, venues, pipelines, hazards)
