"""A small supervision data set written with plain SQL: admin areas as squares, sites with a stored risk level
(feature_risk rows, so that a test sets the level it needs without the scoring model), and their inspections,
hidden dangers and enforcement actions (the tables of migration 0013)."""

from __future__ import annotations

import datetime as dt
import itertools

_ids = itertools.count(1)


def _source(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def area(conn, code: str, name: str, box: tuple[float, float, float, float], level: str = "county") -> None:
    x0, y0, x1, y1 = box
    with conn.cursor() as cur:
        cur.execute("INSERT INTO area (source_id, name, admin_code, level, geom) "
                    "VALUES (%s, %s, %s, %s, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
                    (f"area-{code}", name, code, level, x0, y0, x1, y1))


def scored(conn, kind: str, fid: int, level: str, score: float | None = None) -> None:
    score = {"red": 80.0, "orange": 60.0, "yellow": 40.0, "blue": 10.0}[level] if score is None else score
    with conn.cursor() as cur:
        cur.execute("INSERT INTO feature_risk (kind, feature_id, score, level, factors, model_version) "
                    "VALUES (%s, %s, %s, %s, '[]', 'test')", (kind, fid, score, level))


def enterprise(conn, lon: float, lat: float, level: str, *, score: float | None = None,
               last_inspection: dt.date | None = None, major: bool | None = None, employees: int | None = 50,
               name: str | None = None) -> int:
    with conn.cursor() as cur:
        cur.execute("INSERT INTO enterprise (source_id, name, industry, employees, last_inspection, "
                    "major_hidden_danger, geom) VALUES (%s, %s, 'machinery', %s, %s, %s, "
                    "ST_SetSRID(ST_Point(%s, %s), 4326)) RETURNING id",
                    (_source("E"), name or f"enterprise at {lon} {lat}", employees, last_inspection, major, lon, lat))
        fid = cur.fetchone()[0]
    scored(conn, "enterprise", fid, level, score)
    return fid


def venue(conn, lon: float, lat: float, level: str, *, last_fire_inspection: dt.date | None = None) -> int:
    with conn.cursor() as cur:
        cur.execute("INSERT INTO venue (source_id, name, venue_type, floor_area_m2, last_fire_inspection, geom) "
                    "VALUES (%s, %s, 'mall', 1000, %s, ST_SetSRID(ST_Point(%s, %s), 4326)) RETURNING id",
                    (_source("V"), f"venue at {lon} {lat}", last_fire_inspection, lon, lat))
        fid = cur.fetchone()[0]
    scored(conn, "venue", fid, level)
    return fid


def pond(conn, lon: float, lat: float, level: str, *, last_inspection: dt.date | None = None) -> int:
    with conn.cursor() as cur:
        cur.execute("INSERT INTO tailings_pond (source_id, name, capacity_10k_m3, last_inspection, geom) "
                    "VALUES (%s, %s, 50, %s, ST_SetSRID(ST_Point(%s, %s), 4326)) RETURNING id",
                    (_source("T"), f"pond at {lon} {lat}", last_inspection, lon, lat))
        fid = cur.fetchone()[0]
    scored(conn, "tailings_pond", fid, level)
    return fid


def pipeline(conn, coords: list[tuple[float, float]], level: str) -> int:
    wkt = "LINESTRING(" + ", ".join(f"{x} {y}" for x, y in coords) + ")"
    with conn.cursor() as cur:
        cur.execute("INSERT INTO pipeline (source_id, name, medium, geom) VALUES (%s, %s, 'natural_gas', "
                    "ST_GeomFromText(%s, 4326)) RETURNING id", (_source("P"), "a pipeline", wkt))
        fid = cur.fetchone()[0]
    scored(conn, "pipeline", fid, level)
    return fid


def inspection(conn, kind: str, fid: int, on: dt.date, *, outcome: str = "no_findings",
               inspection_type: str = "routine") -> int:
    with conn.cursor() as cur:
        cur.execute("INSERT INTO inspection (source_id, site_kind, site_id, inspected_on, inspection_type, outcome) "
                    "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                    (_source("I"), kind, fid, on, inspection_type, outcome))
        return cur.fetchone()[0]


def danger(conn, kind: str, fid: int, *, grade: str = "general", status: str = "open", found_on: dt.date,
           deadline: dt.date | None = None, rectified_on: dt.date | None = None, verified_on: dt.date | None = None,
           reopened_on: dt.date | None = None, description: str = "a hidden danger",
           source_id: str | None = None) -> tuple[int, str]:
    """(id, source_id) of a new hidden danger."""
    changed = max(d for d in (found_on, rectified_on, verified_on, reopened_on) if d is not None)
    source_id = source_id or _source("HD")
    with conn.cursor() as cur:
        cur.execute("INSERT INTO hidden_danger (source_id, site_kind, site_id, description, grade, found_on, deadline, "
                    "status, status_changed_on, rectified_on, verified_on, reopened_on, responsible_unit, "
                    "responsible_person) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'works', 'Wang') "
                    "RETURNING id",
                    (source_id, kind, fid, description, grade, found_on, deadline, status, changed, rectified_on,
                     verified_on, reopened_on))
        return cur.fetchone()[0], source_id


def action(conn, kind: str, fid: int, measure: str, decided_on: dt.date, *, lifted_on: dt.date | None = None,
           fine_yuan: float | None = None) -> tuple[int, str]:
    """(id, source_id) of a new enforcement action."""
    source_id = _source("EA")
    with conn.cursor() as cur:
        cur.execute("INSERT INTO enforcement_action (source_id, site_kind, site_id, decided_on, measure, fine_yuan, "
                    "lifted_on) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (source_id, kind, fid, decided_on, measure, fine_yuan, lifted_on))
        return cur.fetchone()[0], source_id
