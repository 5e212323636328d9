"""Stored inspection plans (table inspection_plan, migration 0009)."""

from __future__ import annotations

import json
from importlib import resources

from geo.errors import NotFound


def save(conn, doc: dict, created_by: str) -> dict:
    """Store the plan document in one transaction; returns it with its ``id``, ``created_at`` and
    ``model_version`` set."""
    query = resources.files("geo.planning").joinpath("sql/save_plan.sql").read_text(encoding="utf-8")
    req = doc["request"]
    with conn, conn.cursor() as cur:
        cur.execute(query, {"created_by": created_by, "area": req["area"], "teams": req["teams"],
                            "days": req["days"], "model_version": doc["model_version"],
                            "risk_share": doc["totals"]["risk_share"],
                            "document": json.dumps(doc, ensure_ascii=False, default=str)})
        plan_id, created_at, version = cur.fetchone()
    return {"id": plan_id, "created_at": created_at.isoformat(), "model_version": version, **doc}


def load(conn, plan_id: int) -> dict:
    with conn.cursor() as cur:
        cur.execute("SELECT id, created_at, model_version, document FROM inspection_plan WHERE id = %s", (plan_id,))
        row = cur.fetchone()
    if row is None:
        raise NotFound(f"no inspection plan with id {plan_id}")
    plan_id, created_at, version, doc = row
    return {"id": plan_id, "created_at": created_at.isoformat(), "model_version": version, **doc}


def recent(conn, limit: int = 50) -> list[dict]:
    """The latest plans, newest first, without their stops."""
    with conn.cursor() as cur:
        cur.execute("SELECT id, created_at, created_by, area, teams, days, risk_share, model_version, "
                    "(document -> 'totals') - 'red_left_out' FROM inspection_plan ORDER BY id DESC LIMIT %s", (limit,))
        rows = cur.fetchall()
    return [{"id": i, "created_at": c.isoformat(), "created_by": by, "area": a, "teams": t, "days": d,
             "risk_share": s, "model_version": v, "totals": tot} for i, c, by, a, t, d, s, v, tot in rows]
