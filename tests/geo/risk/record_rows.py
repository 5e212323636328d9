"""Plain SQL writes of features and campaign records (migration 0013's tables) for the tests of scoring from
records, the score history and the backtest.  Each helper commits, as an import or an HTTP write would."""

from __future__ import annotations

import datetime as dt
import itertools

_serial = itertools.count(1)


def _insert(db, sql: str, params: dict) -> int:
    with db.cursor() as cur:
        cur.execute(sql, params)
        new_id = cur.fetchone()[0]
    db.commit()
    return new_id


def add_enterprise(db, lon: float, lat: float, *, industry: str = "machinery", employees: int | None = 50,
                   status: str = "operating", violations_12m: int | None = 1, open_hidden_dangers: int | None = 4,
                   major_hidden_danger: bool | None = False, last_inspection: dt.date | None = dt.date(2026, 1, 1),
                   flexible_worker_share: float | None = 0.0) -> int:
    """An enterprise without chemicals (no hazard points), with the register's counts given."""
    return _insert(db, """
        INSERT INTO enterprise (source_id, name, industry, status, employees, flexible_worker_share, violations_12m,
                                open_hidden_dangers, major_hidden_danger, last_inspection, chemicals, geom)
        VALUES (%(sid)s, %(sid)s, %(industry)s, %(status)s, %(employees)s, %(share)s, %(violations)s, %(dangers)s,
                %(major)s, %(last)s, '[]'::jsonb, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
        RETURNING id""", {"sid": f"E-{next(_serial)}", "industry": industry, "status": status, "employees": employees,
                          "share": flexible_worker_share, "violations": violations_12m, "dangers": open_hidden_dangers,
                          "major": major_hidden_danger, "last": last_inspection, "lon": lon, "lat": lat})


def add_tailings_pond(db, lon: float, lat: float, *, capacity_10k_m3: float = 50.0,
                      major_hidden_danger: bool | None = True,
                      last_inspection: dt.date | None = dt.date(2026, 1, 1)) -> int:
    return _insert(db, """
        INSERT INTO tailings_pond (source_id, name, dam_height_m, capacity_10k_m3, safety_state, status,
                                   downstream_direction_deg, major_hidden_danger, last_inspection, geom)
        VALUES (%(sid)s, %(sid)s, 20, %(capacity)s, 'normal', 'operating', 90, %(major)s, %(last)s,
                ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
        RETURNING id""", {"sid": f"T-{next(_serial)}", "capacity": capacity_10k_m3, "major": major_hidden_danger,
                          "last": last_inspection, "lon": lon, "lat": lat})


def add_venue(db, lon: float, lat: float, *, venue_type: str = "mall", occupancy: int | None = 300,
              last_fire_inspection: dt.date | None = dt.date(2026, 1, 1)) -> int:
    return _insert(db, """
        INSERT INTO venue (source_id, name, venue_type, occupancy, exits, exits_blocked, exit_width_ratio,
                           sprinklers, fire_alarm, last_fire_inspection, status, geom)
        VALUES (%(sid)s, %(sid)s, %(type)s, %(occupancy)s, 2, false, 1.0, true, true, %(last)s, 'operating',
                ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
        RETURNING id""", {"sid": f"V-{next(_serial)}", "type": venue_type, "occupancy": occupancy,
                          "last": last_fire_inspection, "lon": lon, "lat": lat})


def add_inspection(db, kind: str, site_id: int, on: dt.date, *, outcome: str = "no_findings") -> int:
    return _insert(db, """
        INSERT INTO inspection (source_id, site_kind, site_id, inspected_on, outcome)
        VALUES (%(sid)s, %(kind)s, %(site)s, %(on)s, %(outcome)s) RETURNING id""",
                   {"sid": f"I-{next(_serial)}", "kind": kind, "site": site_id, "on": on, "outcome": outcome})


def add_danger(db, kind: str, site_id: int, found_on: dt.date, *, deadline: dt.date | None = None,
               grade: str = "general") -> int:
    """An open hidden danger."""
    return _insert(db, """
        INSERT INTO hidden_danger (source_id, site_kind, site_id, description, grade, found_on, deadline, status,
                                   status_changed_on)
        VALUES (%(sid)s, %(kind)s, %(site)s, 'a hidden danger', %(grade)s, %(found)s, %(deadline)s, 'open',
                %(found)s) RETURNING id""",
                   {"sid": f"H-{next(_serial)}", "kind": kind, "site": site_id, "grade": grade, "found": found_on,
                    "deadline": deadline})


def set_danger_status(db, danger_id: int, status: str, on: dt.date) -> None:
    """Move a hidden danger to ``status`` (rectified, verified or reopened) on the day ``on``; a verification
    without a rectification on record rectifies it the same day."""
    with db.cursor() as cur:
        cur.execute("""
            UPDATE hidden_danger SET status = %(status)s, status_changed_on = %(on)s,
                   rectified_on = CASE WHEN %(status)s = 'rectified' THEN %(on)s::date
                                       WHEN %(status)s = 'verified' THEN coalesce(rectified_on, %(on)s::date)
                                       ELSE rectified_on END,
                   verified_on = CASE WHEN %(status)s = 'verified' THEN %(on)s::date ELSE verified_on END,
                   reopened_on = CASE WHEN %(status)s = 'reopened' THEN %(on)s::date ELSE reopened_on END
            WHERE id = %(id)s""", {"status": status, "on": on, "id": danger_id})
    db.commit()


def add_enforcement(db, kind: str, site_id: int, on: dt.date, *, measure: str = "rectify_order") -> int:
    return _insert(db, """
        INSERT INTO enforcement_action (source_id, site_kind, site_id, decided_on, measure, fine_yuan)
        VALUES (%(sid)s, %(kind)s, %(site)s, %(on)s, %(measure)s,
                CASE WHEN %(measure)s = 'fine' THEN 10000 END) RETURNING id""",
                   {"sid": f"X-{next(_serial)}", "kind": kind, "site": site_id, "on": on, "measure": measure})


def add_accident(db, lon: float, lat: float, on: dt.date, *, accident_type: str | None = "fire",
                 site: tuple[str, int] | None = None, accident_class: str = "general") -> int:
    return _insert(db, """
        INSERT INTO accident (source_id, occurred_on, accident_type, accident_class, site_kind, site_id, geom)
        VALUES (%(sid)s, %(on)s, %(type)s, %(class)s, %(kind)s, %(site)s,
                ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)) RETURNING id""",
                   {"sid": f"A-{next(_serial)}", "on": on, "type": accident_type, "class": accident_class,
                    "kind": site[0] if site else None, "site": site[1] if site else None, "lon": lon, "lat": lat})


def add_pipeline(db, coords: list[tuple[float, float]], *, medium: str = "natural_gas", diameter_mm: float = 500.0,
                 pressure_mpa: float = 4.0, year_built: int = 2016, depth_of_cover_m: float = 1.5,
                 status: str = "operating") -> int:
    """A pipeline along ``coords`` (lon, lat), with its size, age, cover and status given."""
    return _insert(db, """
        INSERT INTO pipeline (source_id, name, medium, diameter_mm, pressure_mpa, year_built, depth_of_cover_m,
                              status, geom)
        VALUES (%(sid)s, %(sid)s, %(medium)s, %(d)s, %(p)s, %(year)s, %(depth)s, %(status)s,
                ST_GeomFromText(%(wkt)s, 4326)) RETURNING id""",
                   {"sid": f"P-{next(_serial)}", "medium": medium, "d": diameter_mm, "p": pressure_mpa,
                    "year": year_built, "depth": depth_of_cover_m, "status": status,
                    "wkt": "LINESTRING(" + ", ".join(f"{x} {y}" for x, y in coords) + ")"})


def lift_enforcement(db, action_id: int, on: dt.date) -> None:
    """Lift an enforcement measure (复产复工) on the day ``on``."""
    with db.cursor() as cur:
        cur.execute("UPDATE enforcement_action SET lifted_on = %s WHERE id = %s", (on, action_id))
    db.commit()
